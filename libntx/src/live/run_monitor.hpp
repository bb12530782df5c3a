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

// The run's health, 0..100 (docs/reports.md, "The progress line"): 100 minus
//   errors      min(40, 400 x (errors + timeouts) / actions ended)     1% failed costs 4, 10% costs 40
//   latency     min(30, 15 x latency (ms) thresholds failing now)
//   drops       min(20, 200 x dropped / planned arrivals)             open model: 1% dropped costs 2
//   waits       min(10, 10 x users waiting for a resource / users online)
// `r` is the live report (its thresholds evaluated: only the `ms` ones count, a count or rate
// threshold is not decided before the end).
struct Health {
    int score = 100;
    double errors = 0, latency = 0, drops = 0, waits = 0;  // the points each part took
};
Health health(const Report& r, const std::vector<ThresholdResult>& thresholds, uint64_t online, uint64_t waiting);

// How far a run is, and when it should end: `fraction` of the plan done (0..1), `eta_s` (< 0 when
// unknown). With a planned length (the call model's max-duration, profile, arrival window or
// task-duration): elapsed over planned. Without one (users that run their workflow once): users that
// ended over users planned, and the rate at which they ended so far for the ETA.
struct Forecast {
    bool known = false;
    double fraction = 0, eta_s = -1;
};
Forecast forecast(const dsl::Script& script, uint64_t planned_ms, uint64_t now_ms, uint64_t users_ended);

class RunMonitor {
public:
    struct Options {
        std::FILE* progress = nullptr;  // where the progress line goes (none: no progress line)
        bool tty = false;               // redraw in place (else plain lines)
        bool colour = false;            // ANSI colours (a terminal without NO_COLOR)
        bool table = false;             // a per-action table instead of one line per scenario
        uint64_t progress_ms = 1000;
        uint64_t interval_ms = 1000;    // the report's intervals
        // Result streams: each base interval of each scenario and action as it ends (--out-stream).
        std::FILE* csv = nullptr;
        std::FILE* jsonl = nullptr;
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
    // Action `a` of scenario `s`: its intervals, as wide as the scenario's (empty when it never ran).
    std::vector<IntervalStats> take_action_intervals(size_t s, size_t a) {
        const size_t i = s * script_.actions.size() + a;
        return i < action_tracks_.size() && action_tracks_[i] ? action_tracks_[i]->series.take() : std::vector<IntervalStats>{};
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
    // Per scenario x action, made when the action first ended (an action that never runs costs nothing):
    // its series, and its counters at the last interval.
    struct ActionTrack {
        explicit ActionTrack(uint64_t interval_ms) : series(interval_ms) {}
        metrics::IntervalSeries series;
        std::unique_ptr<metrics::LatencyHistogram> prev_latency = std::make_unique<metrics::LatencyHistogram>();
        uint64_t prev_ok = 0, prev_errors = 0, prev_timeouts = 0;
        std::vector<std::pair<ntx_status_t, uint64_t>> prev_kinds;
    };
    std::vector<std::unique_ptr<ActionTrack>> action_tracks_;
    void sample_action(size_t i, const metrics::ActionStats& st, uint64_t begin_ms);
    // --out-stream csv / jsonl: one row (scenario's: action empty, online set; an action's: no online).
    void stream_row(double t_s, const std::string& scenario, const std::string* action, const IntervalStats& iv, bool online);
    uint64_t next_interval_ms_ = 0;
    std::vector<uint64_t> progress_prev_count_;
    std::vector<uint64_t> progress_prev_action_;  // --live table: each row's count at the last drawing
    uint64_t progress_prev_ms_ = 0;
    size_t progress_lines_ = 0;  // lines drawn last time (tty)
    bool has_abort_ = false;
    bool csv_header_ = false;
};

}  // namespace ntx::live
