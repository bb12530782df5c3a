#include "progress/bus.hpp"

#include "files/safe_file.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace ntx::progress {
namespace json = boost::json;

Ring::Ring(size_t capacity) {
    size_t n = 2;
    while (n < capacity) n <<= 1;
    slots_.resize(n);
    mask_ = n - 1;
}

Bus::Bus(const ProgressConfig& config, const workbook::Schema& schema, const workbook::Names& names, unsigned shards,
         std::vector<ProgressCallback> subscribers)
    : config_(config), schema_(schema), names_(names), subscribers_(std::move(subscribers)) {
    if (config_.max_batch_size == 0) config_.max_batch_size = 1;
    // Rings only when someone listens: an idle bus costs no memory.
    for (unsigned i = 0; i < shards; ++i) rings_.push_back(std::make_unique<Ring>(active() ? config_.queue_size : 2));
}

Bus::~Bus() {
    if (thread_.joinable()) {
        {
            std::lock_guard lock(mutex_);
            finishing_ = true;
        }
        cv_.notify_all();
        thread_.join();
    }
}

uint64_t Bus::now_ms() const {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0_).count());
}

void Bus::publish(ProgressEvent event) {
    if (!active()) return;
    event.priority = priority(event.phase);
    std::lock_guard lock(side_mutex_);
    side_.push_back(std::move(event));
}

void Bus::start(std::chrono::steady_clock::time_point t0) {
    t0_ = t0;
    if (!active()) return;
    thread_ = std::thread([this] { run(); });
}

void Bus::run() {
    // Poll often enough that an urgent event (priority-threshold) or a full batch is not held for a
    // whole flush-interval; at most every 20 ms.
    const auto poll = std::chrono::milliseconds(std::clamp<uint64_t>(config_.flush_interval_ms, 1, 20));
    std::unique_lock lock(mutex_);
    while (!finishing_) {
        cv_.wait_for(lock, poll, [this] { return finishing_; });
        if (finishing_) break;
        lock.unlock();
        drain(true);
        const uint64_t now = now_ms();
        if (urgent_ || now - std::min(now, last_flush_ms_) >= config_.flush_interval_ms) deliver(pending_.size());
        else if (pending_.size() >= config_.max_batch_size)
            deliver(pending_.size() / config_.max_batch_size * config_.max_batch_size);  // full batches only
        lock.lock();
    }
}

void Bus::finish(std::optional<ProgressEvent> last) {
    if (!active()) return;
    {
        std::lock_guard lock(mutex_);
        finishing_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    drain(false);  // what the shards pushed last, then what was published
    if (last) {
        last->priority = priority(last->phase);
        pending_.push_back(std::move(*last));
    }
    deliver(pending_.size());
}

void Bus::drain(bool side_first) {
    auto take_side = [this] {
        std::vector<ProgressEvent> side;
        {
            std::lock_guard lock(side_mutex_);
            side.swap(side_);
        }
        for (auto& ev : side) {
            if (config_.priority_threshold && ev.priority >= config_.priority_threshold) urgent_ = true;
            pending_.push_back(std::move(ev));
        }
    };
    if (side_first) take_side();
    for (auto& ring : rings_) {
        ring->drain([this](const Record& r) {
            ProgressEvent& ev = pending_.emplace_back();
            to_event(r, ev);
            if (config_.priority_threshold && ev.priority >= config_.priority_threshold) urgent_ = true;
        });
    }
    if (!side_first) take_side();
}

void Bus::to_event(const Record& r, ProgressEvent& ev) const {
    const std::string_view scenario =
        r.scenario < names_.scenarios.size() ? std::string_view(names_.scenarios[r.scenario]) : std::string_view();
    const std::string_view workflow =
        r.scenario < names_.workflows.size() ? std::string_view(names_.workflows[r.scenario]) : std::string_view();
    const std::string_view action =
        r.action < names_.actions.size() ? std::string_view(names_.actions[r.action]) : std::string_view();
    ev.user_id = r.user_id;
    ev.task_id = r.task_id;
    ev.t_ms = r.t_ms;
    ev.origin = r.dynamic ? Origin::dynamic_task : Origin::static_task;
    if (r.kind == Record::Kind::plugin) {
        ev.kind = "plugin";
        ev.scope = static_cast<ProgressScope>(std::min<uint8_t>(r.scope, 4));
        ev.phase = RunPhase::executing;
        ev.path = fmt::format("{}/{}/{}", scenario, workflow, action);
        ev.progress = r.progress;
        ev.fields.assign(r.kv.begin(), r.kv.begin() + static_cast<ptrdiff_t>(r.kv_count));
        ev.priority = priority(ev.phase);
        return;
    }
    ev.scope = ProgressScope::task;
    ev.phase = static_cast<RunPhase>(workbook::state_phase(r.state));
    ev.kind = (r.dirty & (workbook::d_state | workbook::d_opened)) ? "task.state" : "workbook.field";
    ev.path = fmt::format("{}/{}", scenario, workflow);
    ev.progress = workbook::is_final(r.state) ? 1.0 : -1.0;
    ev.fields.emplace_back("state", std::string(workbook::state_name(r.state)));
    if (r.action != workbook::kNoAction) ev.fields.emplace_back("current_action", std::string(action));
    if (r.dirty & workbook::d_retry) ev.fields.emplace_back("retry_left", std::to_string(r.retry_left));
    if (r.dirty & workbook::d_timeout && r.timeout_at_ms) ev.fields.emplace_back("timeout_at", std::to_string(r.timeout_at_ms));
    if (r.dirty & workbook::d_evidence) {
        ev.fields.emplace_back("evidence.last_event", std::string(workbook::last_event_name(r.last_event)));
        ev.fields.emplace_back("evidence.response_ms", fmt::format("{:.3f}", r.response_us / 1000.0));
    }
    for (size_t i = 0; i < r.field_count; ++i) {
        const bool known = r.fields[i].first < schema_.size();
        const bool masked = known && schema_.field(r.fields[i].first).masked && !r.fields[i].second.empty();
        ev.fields.emplace_back(known ? schema_.field(r.fields[i].first).path : std::string("?"),
                               masked ? std::string("***") : schema_.mask_value(r.fields[i].second));  // log.mask
    }
    ev.priority = priority(ev.phase);
}

void Bus::deliver(size_t count) {
    count = std::min(count, pending_.size());
    if (count == 0) {
        urgent_ = false;
        last_flush_ms_ = now_ms();
        return;
    }
    const std::span<const ProgressEvent> all(pending_.data(), count);
    for (size_t off = 0; off < count; off += config_.max_batch_size) {
        auto batch = all.subspan(off, std::min<size_t>(config_.max_batch_size, count - off));
        for (auto& sub : subscribers_) {
            try {
                sub(batch);
            } catch (...) {
                subscriber_errors_.fetch_add(1, std::memory_order_relaxed);
            }
        }
        batches_.fetch_add(1, std::memory_order_relaxed);
        if (batch.size() > max_batch_.load(std::memory_order_relaxed)) max_batch_.store(batch.size(), std::memory_order_relaxed);
    }
    events_.fetch_add(count, std::memory_order_relaxed);
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<ptrdiff_t>(count));
    urgent_ = false;
    last_flush_ms_ = now_ms();
}

BusStats Bus::stats() const {
    BusStats s;
    s.events = events_.load();
    s.batches = batches_.load();
    s.max_batch = max_batch_.load();
    s.subscriber_errors = subscriber_errors_.load();
    for (const auto& r : rings_) {
        s.dropped += r->dropped();
        s.queued += r->depth();
    }
    return s;
}

namespace {
std::string_view scope_name(ProgressScope s) {
    switch (s) {
    case ProgressScope::program: return "program";
    case ProgressScope::scenario: return "scenario";
    case ProgressScope::workflow: return "workflow";
    case ProgressScope::task: return "task";
    case ProgressScope::action: return "action";
    }
    return "program";
}
std::string_view phase_name(RunPhase p) {
    switch (p) {
    case RunPhase::initiating: return "initiating";
    case RunPhase::planning: return "planning";
    case RunPhase::executing: return "executing";
    case RunPhase::monitoring: return "monitoring";
    case RunPhase::closing: return "closing";
    }
    return "executing";
}
}  // namespace

std::string event_json(const ProgressEvent& ev, uint64_t batch) {
    json::object o;
    o["batch"] = batch;
    o["t_ms"] = ev.t_ms;
    o["kind"] = ev.kind;
    o["scope"] = scope_name(ev.scope);
    o["phase"] = phase_name(ev.phase);
    o["path"] = ev.path;
    if (ev.user_id) o["user_id"] = ev.user_id;
    if (ev.task_id || ev.user_id) o["task_id"] = ev.task_id;
    if (ev.progress >= 0) o["progress"] = ev.progress;
    json::object fields;
    for (const auto& [k, v] : ev.fields) fields[k] = v;
    o["fields"] = std::move(fields);
    o["origin"] = ev.origin == Origin::dynamic_task ? "dynamic" : "static";
    o["priority"] = ev.priority;
    return json::serialize(o);
}

ProgressCallback jsonl_writer(const std::string& path) {
    std::FILE* f = files::create_stream(path);  // no link followed; throws, naming the file
    auto file = std::shared_ptr<std::FILE>(f, [](std::FILE* p) { std::fclose(p); });
    auto seq = std::make_shared<uint64_t>(0);
    return [file, seq](std::span<const ProgressEvent> batch) {
        const uint64_t b = ++*seq;
        std::string out;
        for (const auto& ev : batch) {
            out += event_json(ev, b);
            out += '\n';
        }
        std::fwrite(out.data(), 1, out.size(), file.get());
        std::fflush(file.get());
    };
}

}  // namespace ntx::progress
