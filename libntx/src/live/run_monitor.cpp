#include "live/run_monitor.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

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
                ok += st.ok;
                errors += st.errors;
                timeouts += st.timeouts;
                latency->merge(st.latency);
            }
            const int64_t online = s < snapshot_.gauges.size() ? snapshot_.gauges[s].online : 0;
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

void RunMonitor::print_progress(uint64_t now_ms, bool last) {
    const uint64_t planned = planned_ms(script_);
    Report r = report::build_report(script_, snapshot_);
    const double dt = static_cast<double>(now_ms - std::min(now_ms, progress_prev_ms_)) / 1000.0;
    std::string clock = planned ? fmt::format("{:.1f}s/{:.1f}s", static_cast<double>(now_ms) / 1000.0,
                                              static_cast<double>(planned) / 1000.0)
                                : fmt::format("{:.1f}s/?", static_cast<double>(now_ms) / 1000.0);
    std::vector<std::string> lines;
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
        lines.push_back(fmt::format("[{}] {}: {} online{}, {} actions ({:.1f}/s), {} errors, p99 {:.2f}ms{}", clock, sr.name,
                                    online, waiting ? fmt::format(" ({} waiting for a resource)", waiting) : std::string(),
                                    count, rate, errors, sr.latency.p99_ms, last ? " (end)" : ""));
    }
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
