#include "live/run_monitor.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "frame/protocol_frame.hpp"
#include "report/report_builder.hpp"
#include "report/thresholds.hpp"

namespace ntx::live {

uint64_t planned_ms(const dsl::Script& script) {
    uint64_t planned = 0;
    for (const auto& s : script.scenarios) {
        uint64_t p = 0;
        if (s.model == dsl::Model::open) p = s.duration_ms;
        else if (s.profile) p = script.profiles[*s.profile].total_ms();
        else if (s.task_duration_ms)
            p = s.task_duration_ms + (s.spawn_rate > 0 ? static_cast<uint64_t>(static_cast<double>(s.user_count) * 1000.0 / s.spawn_rate) : 0);
        if (s.max_duration_ms && (p == 0 || s.max_duration_ms < p)) p = s.max_duration_ms;
        if (p == 0) return 0;  // one scenario of unknown length: the run's length is unknown
        planned = std::max(planned, p);
    }
    return planned;
}

RunMonitor::RunMonitor(const dsl::Script& script, metrics::SnapshotReader read, std::atomic<int>& stop, Options options)
    : script_(script), read_(std::move(read)), stop_(stop), options_(options) {
    const size_t n = script.scenarios.size();
    for (size_t s = 0; s < n; ++s) {
        prev_latency_.push_back(std::make_unique<metrics::LatencyHistogram>());
        intervals_.emplace_back(options_.interval_ms);
    }
    prev_ok_.assign(n, 0);
    prev_errors_.assign(n, 0);
    prev_timeouts_.assign(n, 0);
    progress_prev_count_.assign(n, 0);
    action_tracks_.resize(n * script.actions.size());
    next_interval_ms_ = options_.interval_ms;
    for (const auto& t : script.thresholds) has_abort_ = has_abort_ || t.abort_on_fail;
}

RunMonitor::~RunMonitor() {
    if (thread_.joinable()) {
        {
            std::lock_guard lock(mutex_);
            finishing_ = true;
        }
        cv_.notify_all();
        thread_.join();
    }
}

void RunMonitor::start(std::chrono::steady_clock::time_point started) {
    started_ = started;
    thread_ = std::thread([this] { run(); });
}

void RunMonitor::read(uint64_t now_ms) {
    read_(snapshot_);
    snapshot_.elapsed_s = static_cast<double>(now_ms) / 1000.0;
}

uint64_t RunMonitor::now_ms() const {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_).count());
}

void RunMonitor::run() {
    uint64_t next_progress = options_.progress_ms;
    if (options_.on_snapshot) {
        read(now_ms());
        options_.on_snapshot(snapshot_);
    }
    std::unique_lock lock(mutex_);
    while (!finishing_) {
        uint64_t wake = std::min(next_interval_ms_, options_.progress ? next_progress : UINT64_MAX);
        cv_.wait_until(lock, started_ + std::chrono::milliseconds(wake), [this] { return finishing_; });
        if (finishing_) break;
        const uint64_t now = now_ms();
        if (now < wake) continue;
        lock.unlock();
        read(now);
        if (now >= next_interval_ms_) {
            sample(now, false);
            if (has_abort_) check_abort();
            if (options_.on_snapshot) options_.on_snapshot(snapshot_);
        }
        if (options_.progress && now >= next_progress) {
            print_progress(now, false);
            next_progress = (now / options_.progress_ms + 1) * options_.progress_ms;
        }
        lock.lock();
    }
}

void RunMonitor::finish() {
    {
        std::lock_guard lock(mutex_);
        finishing_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    // Every shard published its final counters: the last (partial) interval makes the intervals add
    // up to the report's totals.
    const uint64_t now = now_ms();
    read(now);
    sample(now, true);
    if (options_.progress) print_progress(now, true);
}

void RunMonitor::sample(uint64_t now_ms, bool last) {
    const size_t n_actions = script_.actions.size();
    if (!snapshot_.covers(script_.scenarios.size(), n_actions)) return;
    // Whole intervals the clock passed (a late wake-up records the counts in the first of them).
    // At the end, whole intervals first, then the partial one the run ended in.
    for (;;) {
        if (!last && next_interval_ms_ > now_ms) break;
        const uint64_t begin_ms = next_interval_ms_ - options_.interval_ms;
        for (uint32_t s = 0; s < script_.scenarios.size(); ++s) {
            uint64_t ok = 0, errors = 0, timeouts = 0;
            auto latency = std::make_unique<metrics::LatencyHistogram>();
            for (uint32_t a = 0; a < n_actions; ++a) {
                const auto& st = snapshot_.actions[s * n_actions + a];
                sample_action(s * n_actions + a, st, begin_ms);
                ok += st.ok;
                errors += st.errors;
                timeouts += st.timeouts;
                latency->merge(st.latency);
            }
            const int64_t online = s < snapshot_.gauges.size() ? snapshot_.gauges[s].online : 0;
            if (options_.csv || options_.jsonl) {
                IntervalStats iv;
                iv.ok = ok - std::min(ok, prev_ok_[s]);
                iv.errors = errors - std::min(errors, prev_errors_[s]);
                iv.timeouts = timeouts - std::min(timeouts, prev_timeouts_[s]);
                iv.online = static_cast<uint64_t>(std::max<int64_t>(0, online));
                if (iv.ok) metrics::set_interval_percentiles(iv, *latency, *prev_latency_[s]);
                stream_row(static_cast<double>(begin_ms) / 1000.0, script_.scenarios[s].name, nullptr, iv, true);
            }
            intervals_[s].add(begin_ms, ok - std::min(ok, prev_ok_[s]), errors - std::min(errors, prev_errors_[s]),
                              timeouts - std::min(timeouts, prev_timeouts_[s]), static_cast<uint64_t>(std::max<int64_t>(0, online)),
                              *latency, *prev_latency_[s]);
            prev_ok_[s] = ok;
            prev_errors_[s] = errors;
            prev_timeouts_[s] = timeouts;
            prev_latency_[s] = std::move(latency);
        }
        next_interval_ms_ += options_.interval_ms;
        if (last && next_interval_ms_ > now_ms) break;
    }
    if (options_.csv) std::fflush(options_.csv);
    if (options_.jsonl) std::fflush(options_.jsonl);
}

void RunMonitor::sample_action(size_t i, const metrics::ActionStats& st, uint64_t begin_ms) {
    auto& track = action_tracks_[i];
    if (!track) {
        if (st.ok + st.errors + st.timeouts + st.cancelled == 0) return;
        track = std::make_unique<ActionTrack>(options_.interval_ms);
    }
    std::vector<std::pair<std::string, uint64_t>> kinds;
    for (const auto& k : st.errors_by_code) {
        auto prev = std::find_if(track->prev_kinds.begin(), track->prev_kinds.end(), [&](const auto& p) { return p.first == k.code; });
        const uint64_t before = prev == track->prev_kinds.end() ? 0 : prev->second;
        if (k.n > before) kinds.emplace_back(frame::status_kind(k.code), k.n - before);
        if (prev == track->prev_kinds.end()) track->prev_kinds.emplace_back(k.code, k.n);
        else prev->second = k.n;
    }
    auto latency = std::make_unique<metrics::LatencyHistogram>(st.latency);
    const uint64_t ok = st.ok - std::min(st.ok, track->prev_ok), errors = st.errors - std::min(st.errors, track->prev_errors),
                   timeouts = st.timeouts - std::min(st.timeouts, track->prev_timeouts);
    if (options_.csv || options_.jsonl) {
        IntervalStats iv;
        iv.ok = ok;
        iv.errors = errors;
        iv.timeouts = timeouts;
        iv.errors_by_kind = kinds;
        if (ok) metrics::set_interval_percentiles(iv, *latency, *track->prev_latency);
        const size_t n = script_.actions.size();
        stream_row(static_cast<double>(begin_ms) / 1000.0, script_.scenarios[i / n].name, &script_.actions[i % n].name, iv, false);
    }
    track->series.add(begin_ms, ok, errors, timeouts, 0, *latency, *track->prev_latency, kinds);
    track->prev_ok = st.ok;
    track->prev_errors = st.errors;
    track->prev_timeouts = st.timeouts;
    track->prev_latency = std::move(latency);
}

namespace {

std::string csv_field(std::string_view v) {
    if (v.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(v);
    std::string out = "\"";
    for (char c : v) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

std::string json_string(std::string_view v) {
    std::string out = "\"";
    for (char c : v) {
        if (c == '"' || c == '\\') out += '\\', out += c;
        else if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        else out += c;
    }
    return out + "\"";
}

}  // namespace

void RunMonitor::stream_row(double t_s, const std::string& scenario, const std::string* action, const IntervalStats& iv,
                            bool online) {
    if (options_.csv) {
        if (!csv_header_) {
            std::fputs("t_s,scenario,action,ok,errors,timeouts,p50_ms,p95_ms,p99_ms,online\n", options_.csv);
            csv_header_ = true;
        }
        fmt::print(options_.csv, "{:.3f},{},{},{},{},{},{:.3f},{:.3f},{:.3f},{}\n", t_s, csv_field(scenario),
                   action ? csv_field(*action) : "", iv.ok, iv.errors, iv.timeouts, iv.p50_ms, iv.p95_ms, iv.p99_ms,
                   online ? std::to_string(iv.online) : "");
    }
    if (options_.jsonl) {
        std::string line = fmt::format("{{\"t_s\":{:.3f},\"scenario\":{}", t_s, json_string(scenario));
        if (action) line += ",\"action\":" + json_string(*action);
        line += fmt::format(",\"ok\":{},\"errors\":{},\"timeouts\":{},\"p50_ms\":{:.3f},\"p95_ms\":{:.3f},\"p99_ms\":{:.3f}", iv.ok,
                            iv.errors, iv.timeouts, iv.p50_ms, iv.p95_ms, iv.p99_ms);
        if (online) line += fmt::format(",\"online\":{}", iv.online);
        if (!iv.errors_by_kind.empty()) {
            line += ",\"errors_by_kind\":{";
            for (size_t k = 0; k < iv.errors_by_kind.size(); ++k)
                line += fmt::format("{}{}:{}", k ? "," : "", json_string(iv.errors_by_kind[k].first), iv.errors_by_kind[k].second);
            line += "}";
        }
        line += "}\n";
        std::fputs(line.c_str(), options_.jsonl);
    }
}

void RunMonitor::check_abort() {
    if (aborted_.load()) return;
    std::vector<report::Threshold> abort_on_fail;
    for (const auto& t : script_.thresholds)
        if (t.abort_on_fail) abort_on_fail.push_back(t);
    Report r = report::build_report(script_, snapshot_);
    for (const auto& res : report::evaluate_thresholds(abort_on_fail, r)) {
        if (res.passed) continue;
        aborted_.store(true);
        int expected = 0;
        stop_.compare_exchange_strong(expected, 1);  // a graceful stop, as one Ctrl-C
        std::fprintf(stderr, "ntx: threshold '%s' failed during the run (actual %g %s): stopping (abort-on-fail)\n",
                     res.expression.c_str(), res.actual, res.unit.c_str());
        return;
    }
}

Health health(const Report& r, const std::vector<ThresholdResult>& thresholds, uint64_t online, uint64_t waiting) {
    Health h;
    const uint64_t failed = r.total_errors + r.total_timeouts;
    if (r.total_actions) h.errors = std::min(40.0, 400.0 * static_cast<double>(failed) / static_cast<double>(r.total_actions));
    for (const auto& t : thresholds)
        if (t.unit == "ms" && !t.passed) h.latency = std::min(30.0, h.latency + 15.0);
    uint64_t planned = 0, dropped = 0;
    for (const auto& s : r.scenarios) {
        planned += s.arrivals_planned;
        dropped += s.arrivals_dropped;
    }
    if (planned) h.drops = std::min(20.0, 200.0 * static_cast<double>(dropped) / static_cast<double>(planned));
    if (online) h.waits = std::min(10.0, 10.0 * static_cast<double>(waiting) / static_cast<double>(online));
    h.score = static_cast<int>(std::lround(std::max(0.0, 100.0 - h.errors - h.latency - h.drops - h.waits)));
    return h;
}

Forecast forecast(const dsl::Script& script, uint64_t planned_ms, uint64_t now_ms, uint64_t users_ended) {
    Forecast f;
    if (planned_ms) {
        f.known = true;
        f.fraction = std::min(1.0, static_cast<double>(now_ms) / static_cast<double>(planned_ms));
        f.eta_s = now_ms >= planned_ms ? 0.0 : static_cast<double>(planned_ms - now_ms) / 1000.0;
        return f;
    }
    uint64_t users = 0;
    for (const auto& s : script.scenarios) users += s.user_count;
    if (!users) return f;
    f.known = true;
    f.fraction = std::min(1.0, static_cast<double>(users_ended) / static_cast<double>(users));
    if (users_ended && now_ms)
        f.eta_s = static_cast<double>(users - std::min(users, users_ended)) * static_cast<double>(now_ms) /
                  static_cast<double>(users_ended) / 1000.0;
    return f;
}

namespace {

std::string seconds(double s) {
    if (s < 60) return fmt::format("{:.1f}s", s);
    const auto total = static_cast<uint64_t>(s);
    if (s < 3600) return fmt::format("{}m{:02}s", total / 60, total % 60);
    return fmt::format("{}h{:02}m", total / 3600, total % 3600 / 60);
}

std::string paint(bool on, const char* code, std::string_view text) {
    return on ? fmt::format("\x1b[{}m{}\x1b[0m", code, text) : std::string(text);
}

}  // namespace

void RunMonitor::print_progress(uint64_t now_ms, bool last) {
    const uint64_t planned = planned_ms(script_);
    Report r = report::build_report(script_, snapshot_);
    const double dt = static_cast<double>(now_ms - std::min(now_ms, progress_prev_ms_)) / 1000.0;
    // Clamped at the plan: a run finishing its last actions past its planned end shows planned/planned.
    const uint64_t shown_ms = planned ? std::min(now_ms, planned) : now_ms;
    std::string clock = planned ? fmt::format("{:.1f}s/{:.1f}s", static_cast<double>(shown_ms) / 1000.0,
                                              static_cast<double>(planned) / 1000.0)
                                : fmt::format("{:.1f}s/?", static_cast<double>(now_ms) / 1000.0);
    const bool c = options_.colour;
    std::vector<std::string> lines;
    // The run line: bar and percentage of the plan, ETA, health.
    uint64_t online_all = 0, waiting_all = 0, ended_users = 0;
    for (uint32_t s = 0; s < r.scenarios.size(); ++s) {
        const auto* g = s < snapshot_.gauges.size() ? &snapshot_.gauges[s] : nullptr;
        online_all += g ? static_cast<uint64_t>(std::max<int64_t>(0, g->online)) : 0;
        waiting_all += g ? static_cast<uint64_t>(std::max<int64_t>(0, g->waiting_resource)) : 0;
        ended_users += r.scenarios[s].completed + r.scenarios[s].stopped + r.scenarios[s].resource_wait_timeouts;
    }
    const Forecast f = forecast(script_, planned, now_ms, ended_users);
    const Health h = health(r, report::evaluate_thresholds(script_.thresholds, r), online_all, waiting_all);
    {
        std::string line = "run ";
        if (f.known) {
            constexpr int kCells = 20;
            const int full = static_cast<int>(f.fraction * kCells + 1e-9);
            std::string bar;
            for (int i = 0; i < kCells; ++i) bar += i < full ? (options_.tty ? "█" : "#") : (options_.tty ? "░" : ".");
            line += fmt::format("[{}] {:>3.0f}%", paint(c, "36", bar), f.fraction * 100);
        } else {
            line += "[?]";
        }
        line += " " + clock;
        if (last) line += ", done";
        else if (f.eta_s >= 0) line += f.eta_s > 0 ? ", eta " + seconds(f.eta_s) : ", finishing";
        else line += ", eta ?";
        const std::string score = fmt::format("health {}", h.score);
        line += ", " + paint(c, h.score >= 90 ? "32" : h.score >= 60 ? "33" : "31", score);
        lines.push_back(std::move(line));
    }
    std::vector<std::string> table;
    if (options_.table)
        lines.push_back(paint(c, "1", fmt::format("{:<32} {:>9} {:>9} {:>7} {:>9} {:>9}", "scenario/action", "count", "per s",
                                                  "errors", "p50 ms", "p99 ms")));
    size_t row = 0;
    for (uint32_t s = 0; s < r.scenarios.size(); ++s) {
        const auto& sr = r.scenarios[s];
        uint64_t count = 0, errors = 0;
        for (const auto& a : sr.actions) {
            count += a.count;
            errors += a.errors + a.timeouts;
        }
        // The last line: the whole run's average (its own period is a fraction of a second).
        const double rate = last ? (now_ms ? static_cast<double>(count) * 1000.0 / static_cast<double>(now_ms) : 0.0)
                            : dt > 0 ? static_cast<double>(count - std::min(count, progress_prev_count_[s])) / dt : 0.0;
        progress_prev_count_[s] = count;
        const auto* g = s < snapshot_.gauges.size() ? &snapshot_.gauges[s] : nullptr;
        const int64_t online = g ? std::max<int64_t>(0, g->online) : 0;
        const int64_t waiting = g ? std::max<int64_t>(0, g->waiting_resource) : 0;
        if (options_.table) {
            if (progress_prev_action_.size() < row + sr.actions.size()) progress_prev_action_.resize(row + sr.actions.size(), 0);
            for (const auto& a : sr.actions) {
                const double arate = last ? (now_ms ? static_cast<double>(a.count) * 1000.0 / static_cast<double>(now_ms) : 0.0)
                                     : dt > 0 ? static_cast<double>(a.count - std::min(a.count, progress_prev_action_[row])) / dt
                                              : 0.0;
                progress_prev_action_[row++] = a.count;
                std::string name = sr.name + "/" + a.name;
                if (name.size() > 32) name = name.substr(0, 31) + "~";
                const std::string errs = fmt::format("{:>7}", a.errors + a.timeouts);
                lines.push_back(fmt::format("{:<32} {:>9} {:>9.1f} {} {:>9} {:>9}", name, a.count, arate,
                                            a.errors + a.timeouts ? paint(c, "31", errs) : errs,
                                            a.ok ? fmt::format("{:.2f}", a.latency.p50_ms) : "-",
                                            a.ok ? fmt::format("{:.2f}", a.latency.p99_ms) : "-"));
            }
            continue;
        }
        const std::string errs = fmt::format("{} errors", errors);
        lines.push_back(fmt::format("[{}] {}: {} online{}, {} actions ({:.1f}/s), {}, p99 {:.2f}ms{}", clock, sr.name, online,
                                    waiting ? fmt::format(" ({} waiting for a resource)", waiting) : std::string(), count,
                                    rate, errors ? paint(c, "31", errs) : errs, sr.latency.p99_ms, last ? " (end)" : ""));
    }
    if (options_.table && last) lines.back() += " (end)";
    progress_prev_ms_ = now_ms;
    std::string out;
    if (options_.tty) {
        if (progress_lines_) out += fmt::format("\x1b[{}A", progress_lines_);  // back to the first line drawn
        for (const auto& l : lines) out += "\r\x1b[2K" + l + "\n";
        progress_lines_ = lines.size();
    } else {
        for (const auto& l : lines) out += "progress " + l + "\n";
    }
    std::fputs(out.c_str(), options_.progress);
    std::fflush(options_.progress);
}

}  // namespace ntx::live
