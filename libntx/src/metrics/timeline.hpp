// Series over the run's time, bounded: a 24-hour run keeps as few points as a 3-minute one.
// Timeline: a count per bucket (users started, peak online), kept by the shards. IntervalSeries: the
// report's intervals of one scenario, kept by the run monitor. Both hold at most kTimelinePoints
// points: when the next one would not fit, adjacent points merge pairwise and the width doubles.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "metrics/latency_histogram.hpp"
#include "ntx/report.hpp"

namespace ntx::metrics {

// At most this many points per series (timelines, intervals).
constexpr size_t kTimelinePoints = 2'000;
// A timeline's buckets are this wide until the run outgrows kTimelinePoints of them.
constexpr uint64_t kTimelineBucketMs = 100;

// Buckets from the run's start, `bucket_ms` wide. A bucket holds a sum (users started) or a peak
// (online), as the caller says on every call: merging two buckets adds them or takes the larger.
struct Timeline {
    uint64_t bucket_ms = kTimelineBucketMs;
    std::vector<uint32_t> values;

    void add(uint64_t now_ms, uint32_t value, bool max) {
        size_t b = static_cast<size_t>(now_ms / bucket_ms);
        while (b >= kTimelinePoints) {
            coarsen(max);
            b = static_cast<size_t>(now_ms / bucket_ms);
        }
        if (values.size() <= b) values.resize(b + 1, 0);
        values[b] = max ? std::max(values[b], value) : values[b] + value;
    }
    // Half the points, twice as wide: buckets 2i and 2i+1 become bucket i.
    void coarsen(bool max);
    // Adds another timeline's buckets (another shard's), at the coarser of the two widths.
    void merge(const Timeline& other, bool max);
};

// One scenario's intervals (the report's `intervals`): what ended in each, the users online at its
// end. Appended one base interval (the monitor's period) at a time, from the run's start.
//
// When a point would be the cap's + 1st, adjacent points merge pairwise: ok, errors and timeouts add
// (the totals stay exact), online is the later point's; p50 becomes the ok-weighted mean of the two
// and p99 the larger (an estimate: the points' histograms are not kept). Points that grow after the
// width doubled get exact percentiles: the open (last) point's histogram is the cumulative one minus
// a copy taken at its start.
class IntervalSeries {
public:
    explicit IntervalSeries(uint64_t base_ms, size_t cap = kTimelinePoints);
    ~IntervalSeries();
    IntervalSeries(IntervalSeries&&) noexcept;
    IntervalSeries& operator=(IntervalSeries&&) noexcept;

    // The base interval [begin_ms, begin_ms + base_ms): counts that ended in it, users online at its
    // end; `latency` is the cumulative histogram of ok latencies at its end, `latency_at_begin` the
    // same at its beginning.
    // `errors_by_kind`: of `errors`, by kind (an action's series; empty for a scenario's).
    void add(uint64_t begin_ms, uint64_t ok, uint64_t errors, uint64_t timeouts, uint64_t online,
             const LatencyHistogram& latency, const LatencyHistogram& latency_at_begin,
             const std::vector<std::pair<std::string, uint64_t>>& errors_by_kind = {});

    uint64_t width_ms() const { return width_ms_; }
    const std::vector<IntervalStats>& points() const { return points_; }
    std::vector<IntervalStats> take() { return std::move(points_); }

private:
    void coarsen();

    uint64_t base_ms_;
    uint64_t width_ms_;
    size_t cap_;
    std::vector<IntervalStats> points_;
    // The cumulative histogram at the start of the last point, and of the one before it (empty when
    // unknown: that point's percentiles can only be estimated if it grows again).
    std::unique_ptr<LatencyHistogram> last_start_, before_last_start_;
};

// p50 / p95 / p99 of what `cumulative` recorded since `at_start` (the same histogram, read earlier).
void set_interval_percentiles(IntervalStats& iv, const LatencyHistogram& cumulative, const LatencyHistogram& at_start);

// Adds `b` (the point after `a`) into `a`: counts and errors by kind add, online is b's, p50 the
// ok-weighted mean, p95 and p99 the larger (an estimate). What IntervalSeries does when it coarsens.
void merge_point(IntervalStats& a, const IntervalStats& b);

// At most `max_points` points, `factor` times as wide (factor the smallest power of two that fits;
// 1 when they fit already): the report.html's charts of a 24-hour run stay small.
std::vector<IntervalStats> downsample(const std::vector<IntervalStats>& points, size_t max_points, uint64_t& factor);

}  // namespace ntx::metrics
