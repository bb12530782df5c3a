// Watches a running scenario from its own thread: every second it reads the shards' published
// counters (scheduler/live_stats) to record the report's intervals, print the progress line and check
// abort-on-fail thresholds. Never touches a shard's own counters.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "dsl/script.hpp"
#include "ntx/report.hpp"
#include "report/latency_histogram.hpp"
#include "scheduler/live_stats.hpp"

namespace ntx::scheduler {
class Scheduler;
}

namespace ntx::live {

// A Report of what the counters hold so far (actions, latencies, users; no timelines): what the
// progress line prints and abort-on-fail thresholds read.
Report live_report(const dsl::Script& script, const scheduler::LiveCounters& counters, scheduler::Scheduler& sched,
                   double elapsed_s);

// The run's planned length in ms (max-duration, profile, arrival window, task-duration), 0 when
// unknown (users run their workflow once, for as long as it takes).
uint64_t planned_ms(const dsl::Script& script);

class RunMonitor {
public:
    struct Options {
        std::FILE* progress = nullptr;  // where the progress line goes (none: no progress line)
        bool tty = false;               // redraw in place (else plain lines)
        uint64_t progress_ms = 1000;
        uint64_t interval_ms = 1000;    // the report's intervals
    };
    RunMonitor(const dsl::Script& script, scheduler::Scheduler& sched, scheduler::LiveStats& live,
               std::atomic<int>& stop, Options options);
    ~RunMonitor();

    // Starts the monitor's thread; `started` is the run's clock origin (taken just before
    // Scheduler::run, whose own origin the monitor must not read while the run starts).
    void start(std::chrono::steady_clock::time_point started);
    // After the run: every shard has published its final counters. Records the last interval, joins.
    void finish();

    // Per scenario, the intervals recorded.
    std::vector<std::vector<IntervalStats>>& intervals() { return intervals_; }
    // An abort-on-fail threshold failed during the run and stopped it.
    bool aborted() const { return aborted_.load(); }

private:
    void run();
    void sample(uint64_t now_ms, bool last);
    void print_progress(uint64_t now_ms, bool last);
    void check_abort(uint64_t now_ms);
    uint64_t now_ms() const;

    const dsl::Script& script_;
    scheduler::Scheduler& sched_;
    scheduler::LiveStats& live_;
    std::atomic<int>& stop_;
    Options options_;
    std::chrono::steady_clock::time_point started_;
    std::thread thread_;
    std::mutex mutex_;
    std::condition_variable cv_;
    bool finishing_ = false;
    std::atomic<bool> aborted_{false};

    // Only the monitor's thread (and finish(), after joining it) touches these.
    scheduler::LiveCounters counters_;
    std::vector<std::unique_ptr<report::LatencyHistogram>> prev_latency_;  // per scenario, at the last interval
    std::vector<uint64_t> prev_ok_, prev_errors_, prev_timeouts_;
    std::vector<std::vector<IntervalStats>> intervals_;
    uint64_t next_interval_ms_ = 0;
    std::vector<uint64_t> progress_prev_count_;
    uint64_t progress_prev_ms_ = 0;
    size_t progress_lines_ = 0;  // lines drawn last time (tty)
    bool has_abort_ = false;
};

}  // namespace ntx::live
