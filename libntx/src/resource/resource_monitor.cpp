#include "resource/resource_monitor.hpp"

#include "files/safe_file.hpp"

#include <fmt/format.h>
#include <stdexcept>

namespace ntx::resource {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {
constexpr size_t kProbesInFlight = 256;  // per pool and round
constexpr auto kFlushPeriod = std::chrono::milliseconds(200);

void json_escape(std::string& out, std::string_view s) {
    for (char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
            else out += c;
        }
    }
}
}  // namespace

struct ResourceMonitor::Round {
    uint32_t pool = 0;
    bool repeat = false;
    std::chrono::steady_clock::time_point started;
    size_t next = 0, in_flight = 0, done = 0, failures = 0, probes = 0;
};

ResourceMonitor::ResourceMonitor(std::vector<std::unique_ptr<PairPool>>& pools, const std::filesystem::path& trail)
    : pools_(pools) {
    if (!trail.empty()) {
        trail_ = files::create_stream(trail);  // throws, naming the file
    }
    labels_.resize(pools_.size());
    endpoints_.resize(pools_.size());
    round_timers_.resize(pools_.size());
    for (size_t p = 0; p < pools_.size(); ++p) {
        PairPool& pool = *pools_[p];
        pool.keep_trail(trail_ != nullptr);
        if (trail_) {
            labels_[p].reserve(pool.size());
            const size_t fields = pool.spec().fields.size();
            for (uint32_t i = 0; i < pool.size(); ++i) {
                std::string label;
                for (size_t f = 0; f < fields; ++f) {
                    if (f) label += ':';
                    label += pool.value(i, static_cast<int>(f));
                }
                labels_[p].push_back(std::move(label));
            }
        }
        if (!pool.spec().health.set) continue;
        int host = pool.field_index("ip");
        if (host < 0) host = pool.field_index("host");
        const int port = pool.field_index("port");
        tcp::resolver resolver(io_);
        for (uint32_t i = 0; i < pool.size(); ++i) {
            std::optional<tcp::endpoint> ep;
            if (host >= 0 && port >= 0) {
                boost::system::error_code ec;
                // Resolved once, here: a probe round does no name lookups.
                auto results = resolver.resolve(std::string(pool.value(i, host)), std::string(pool.value(i, port)),
                                                tcp::resolver::numeric_service, ec);
                if (!ec && !results.empty()) ep = results.begin()->endpoint();
            }
            endpoints_[p].push_back(ep);
        }
        round_timers_[p] = std::make_unique<asio::steady_timer>(io_);
    }
}

ResourceMonitor::~ResourceMonitor() {
    stop();
    flush();
    if (trail_) std::fclose(trail_);
}

void ResourceMonitor::probe_now() {
    bool any = false;
    for (uint32_t p = 0; p < pools_.size(); ++p)
        if (pools_[p]->spec().health.set) {
            start_round(p, false);
            any = true;
        }
    if (!any) return;
    io_.run();
    io_.restart();
}

void ResourceMonitor::start() {
    for (uint32_t p = 0; p < pools_.size(); ++p) {
        if (!pools_[p]->spec().health.set) continue;
        round_timers_[p]->expires_after(std::chrono::milliseconds(pools_[p]->spec().health.interval_ms));
        round_timers_[p]->async_wait([this, p](const boost::system::error_code& ec) {
            if (!ec) start_round(p, true);
        });
    }
    if (trail_) {
        flush_timer_ = std::make_unique<asio::steady_timer>(io_);
        schedule_flush();
    }
    thread_ = std::thread([this] {
        auto guard = asio::make_work_guard(io_);
        io_.run();
    });
}

void ResourceMonitor::stop() {
    if (!thread_.joinable()) return;
    io_.stop();
    thread_.join();
}

void ResourceMonitor::schedule_flush() {
    flush_timer_->expires_after(kFlushPeriod);
    flush_timer_->async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;
        flush();
        schedule_flush();
    });
}

void ResourceMonitor::flush() {
    if (!trail_) return;
    for (size_t p = 0; p < pools_.size(); ++p) {
        auto events = pools_[p]->drain_trail();
        if (events.empty()) continue;
        for (const auto& e : events) {
            line_.clear();
            fmt::format_to(std::back_inserter(line_), "{{\"seq\":{},\"t_ms\":{:.3f},\"pool\":\"", e.seq,
                           static_cast<double>(e.t_us) / 1000.0);
            json_escape(line_, pools_[p]->name());
            fmt::format_to(std::back_inserter(line_), "\",\"event\":\"{}\",\"item\":{},\"key\":\"", to_string(e.kind), e.item);
            json_escape(line_, labels_[p][e.item]);
            line_ += '"';
            if (e.kind != LeaseEvent::Kind::down && e.kind != LeaseEvent::Kind::up)
                fmt::format_to(std::back_inserter(line_), ",\"user\":{}", e.user);
            if (e.kind == LeaseEvent::Kind::release) fmt::format_to(std::back_inserter(line_), ",\"reason\":\"{}\"", to_string(e.reason));
            line_ += "}\n";
            std::fwrite(line_.data(), 1, line_.size(), trail_);
        }
    }
    std::fflush(trail_);
}

void ResourceMonitor::start_round(uint32_t p, bool repeat) {
    auto round = std::make_shared<Round>();
    round->pool = p;
    round->repeat = repeat;
    round->started = std::chrono::steady_clock::now();
    probe_next(round);
}

// Keeps up to kProbesInFlight probes of the round going; when the last ends, counts the round and
// (repeat) schedules the next one `interval` after this one started.
void ResourceMonitor::probe_next(const std::shared_ptr<Round>& round) {
    PairPool& pool = *pools_[round->pool];
    const auto& hc = pool.spec().health;
    const size_t n = pool.size();
    while (round->in_flight < kProbesInFlight && round->next < n) {
        const uint32_t item = static_cast<uint32_t>(round->next++);
        const auto& ep = endpoints_[round->pool][item];
        ++round->probes;
        if (!ep) {  // an address that does not resolve never passes
            ++round->failures;
            ++round->done;
            if (pool.set_health(item, false) && hc.on_failure == dsl::OnProbeFailure::rollback && on_down_)
                on_down_(round->pool, item);
            continue;
        }
        ++round->in_flight;
        auto socket = std::make_shared<tcp::socket>(io_);
        auto timer = std::make_shared<asio::steady_timer>(io_);
        auto finished = std::make_shared<bool>(false);
        auto end = [this, round, item, socket, timer, finished](bool ok) {
            if (*finished) return;
            *finished = true;
            timer->cancel();
            boost::system::error_code ignored;
            socket->close(ignored);
            PairPool& pl = *pools_[round->pool];
            if (!ok) ++round->failures;
            if (pl.set_health(item, ok) && !ok && pl.spec().health.on_failure == dsl::OnProbeFailure::rollback && on_down_)
                on_down_(round->pool, item);
            --round->in_flight;
            ++round->done;
            probe_next(round);
        };
        timer->expires_after(std::chrono::milliseconds(hc.timeout_ms));
        timer->async_wait([end](const boost::system::error_code& ec) {
            if (!ec) end(false);  // the timeout: the connect did not complete in time
        });
        socket->async_connect(*ep, [end](const boost::system::error_code& ec) {
            if (ec != asio::error::operation_aborted) end(!ec);
        });
    }
    if (round->done < n || round->in_flight) return;
    if (round->done != n) return;
    round->done = n + 1;  // counted once
    pool.count_probes(round->probes, round->failures);
    if (!round->repeat) return;
    auto& timer = *round_timers_[round->pool];
    timer.expires_at(round->started + std::chrono::milliseconds(hc.interval_ms));
    timer.async_wait([this, p = round->pool](const boost::system::error_code& ec) {
        if (!ec) start_round(p, true);
    });
}

}  // namespace ntx::resource
