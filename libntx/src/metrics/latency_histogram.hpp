// Log-linear latency histogram (HDR-style): constant memory, bounded relative error, mergeable
// across shards. Values are microseconds from 1 us to ~1 hour; each power of two is split in
// 128 linear sub-buckets, so a recorded value is off by less than 1/128 (0.8%).
//
// The 3,328 buckets (26 KiB) are allocated by the first value recorded, merged or added: a run keeps
// an ActionStats (two histograms) per loop for every scenario x action pair of its script, and most
// pairs never run (a scenario reaches only its workflow's actions). Empty, a histogram is 40 bytes and
// copies for free, so memory follows the pairs that run, not the square of the script's size.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "ntx/report.hpp"

namespace ntx::metrics {

class LatencyHistogram {
public:
    static constexpr int kSubBits = 7;                 // 128 sub-buckets per power of two
    static constexpr int kSub = 1 << kSubBits;
    static constexpr int kMaxExp = 32;                 // up to 2^32 us (~71 minutes), clamped above
    static constexpr int kBuckets = (kMaxExp - kSubBits + 1) * kSub;

    LatencyHistogram() = default;
    LatencyHistogram(const LatencyHistogram& o) { *this = o; }
    LatencyHistogram& operator=(const LatencyHistogram& o);
    LatencyHistogram(LatencyHistogram&&) noexcept = default;
    LatencyHistogram& operator=(LatencyHistogram&&) noexcept = default;

    void record(uint64_t us) {
        if (!counts_) allocate();  // once per histogram that is used
        ++counts_[index(us)];
        ++count_;
        sum_ += us;
        if (us < min_) min_ = us;
        if (us > max_) max_ = us;
    }
    void merge(const LatencyHistogram& other);
    // The histogram in report.json's compact form, and back (adding to what this one holds): a
    // merge of reports read from files is as exact as a merge of shards.
    LatencyBuckets compact() const;
    // False (nothing added) when a bucket index is out of range.
    bool add(const LatencyBuckets& b);

    uint64_t count() const { return count_; }
    uint64_t min_us() const { return count_ ? min_ : 0; }
    uint64_t max_us() const { return max_; }
    double mean_us() const { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0; }
    // The value at quantile q in [0,1] (the upper edge of its bucket, clamped to max).
    uint64_t quantile_us(double q) const;
    uint64_t sum_us() const { return sum_; }
    // Values recorded in buckets whose upper edge is at most `us` (Prometheus' cumulative `le` buckets;
    // a bucket straddling `us` is left out, so the count is low by less than one bucket's 0.8%).
    uint64_t count_at_or_below(uint64_t us) const;
    // Turns a later copy of this histogram into what was recorded since `earlier` (same histogram, read
    // earlier): counts over an interval. min and max become the edges of the first and last bucket used.
    void subtract(const LatencyHistogram& earlier);
    // The distribution at 8 buckets per power of two: (upper edge in us, count), empty ones left out.
    std::vector<std::pair<uint64_t, uint64_t>> coarse_buckets() const;

    static int index(uint64_t us) {
        if (us < static_cast<uint64_t>(kSub)) return static_cast<int>(us);
        int exp = 63 - __builtin_clzll(us);  // position of the top bit, >= kSubBits
        if (exp >= kMaxExp) return kBuckets - 1;
        int shift = exp - kSubBits;
        int sub = static_cast<int>((us >> shift) & (kSub - 1));
        return (shift + 1) * kSub + sub;
    }
    // Highest value that maps to bucket i.
    static uint64_t upper_edge(int i) {
        if (i < kSub) return static_cast<uint64_t>(i);
        int shift = i / kSub - 1;
        uint64_t sub = static_cast<uint64_t>(i % kSub) | static_cast<uint64_t>(kSub);
        return ((sub + 1) << shift) - 1;
    }

private:
    void allocate();
    uint64_t at(int i) const { return counts_ ? counts_[i] : 0; }

    std::unique_ptr<uint64_t[]> counts_;  // kBuckets, or none while nothing was recorded
    uint64_t count_ = 0, sum_ = 0, min_ = std::numeric_limits<uint64_t>::max(), max_ = 0;
};

// min/mean/percentiles/max in milliseconds, as the reports show them.
LatencySummary summarize(const LatencyHistogram& h);
// The same, with the compact histogram (a final report's).
LatencySummary summarize_with_buckets(const LatencyHistogram& h);

}  // namespace ntx::metrics
