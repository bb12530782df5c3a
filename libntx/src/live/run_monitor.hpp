// Watches a running scenario from its own thread: every second it takes a snapshot of the run's
// counters and gauges (metrics/snapshot.hpp, published by the scheduler side) to record the report's
// intervals, print the progress line and check abort-on-fail thresholds, the last two from the
// Report the final report's builder makes of it (report/report_builder.hpp). Never touches the
// scheduler.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "dsl/script.hpp"
#include "metrics/latency_histogram.hpp"
#include "metrics/snapshot.hpp"
#include "metrics/timeline.hpp"
#include "ntx/report.hpp"

namespace ntx::live {

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
        // Called on the monitor's thread with each interval's snapshot (and one as it starts).
        std::function<void(const metrics::RunSnapshot&)> on_snapshot;
    };
    // `read` takes a snapshot (any thread; the monitor's own, and finish()'s).
    RunMonitor(const dsl::Script& script, metrics::SnapshotReader read, std::atomic<int>& stop, Options options);
    ~RunMonitor();

    // Starts the monitor's thread; `started` is the run's clock origin (taken just before the
    // scheduler runs).
    void start(std::chrono::steady_clock::time_point started);
    // After the run: every shard has published its final counters. Records the last interval, joins.
    void finish();

    // Scenario `s`'s intervals (at most metrics::kTimelinePoints), moved out; interval_ms() wide.
    std::vector<IntervalStats> take_intervals(size_t s) {
        return s < intervals_.size() ? intervals_[s].take() : std::vector<IntervalStats>{};
    }
    uint64_t interval_ms() const { return intervals_.empty() ? options_.interval_ms : intervals_.front().width_ms(); }
    // An abort-on-fail threshold failed during the run and stopped it.
    bool aborted() const { return aborted_.load(); }

private:
    void run();
    void read(uint64_t now_ms);
    void sample(uint64_t now_ms, bool last);
    void print_progress(uint64_t now_ms, bool last);
    void check_abort();
    uint64_t now_ms() const;

    const dsl::Script& script_;
    metrics::SnapshotReader read_;
    std::atomic<int>& stop_;
    Options options_;
    std::chrono::steady_clock::time_point started_;
    std::thread thread_;
    std::mutex mutex_;
    std::condition_variable cv_;
    bool finishing_ = false;
    std::atomic<bool> aborted_{false};

    // Only the monitor's thread (and finish(), after joining it) touches these.
    metrics::RunSnapshot snapshot_;
    std::vector<std::unique_ptr<metrics::LatencyHistogram>> prev_latency_;  // per scenario, at the last interval
    std::vector<uint64_t> prev_ok_, prev_errors_, prev_timeouts_;
    std::vector<metrics::IntervalSeries> intervals_;  // per scenario
    uint64_t next_interval_ms_ = 0;
    std::vector<uint64_t> progress_prev_count_;
    uint64_t progress_prev_ms_ = 0;
    size_t progress_lines_ = 0;  // lines drawn last time (tty)
    bool has_abort_ = false;
};

}  // namespace ntx::live
