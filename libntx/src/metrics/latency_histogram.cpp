#include "metrics/latency_histogram.hpp"

#include <algorithm>
#include <cmath>

namespace ntx::metrics {

void LatencyHistogram::allocate() { counts_ = std::make_unique<uint64_t[]>(kBuckets); }

LatencyHistogram& LatencyHistogram::operator=(const LatencyHistogram& o) {
    if (this == &o) return *this;
    if (o.counts_) {
        if (!counts_) allocate();
        std::copy(o.counts_.get(), o.counts_.get() + kBuckets, counts_.get());
    } else if (counts_) {
        std::fill(counts_.get(), counts_.get() + kBuckets, 0);  // keeps its buckets: a copy target is reused
    }
    count_ = o.count_;
    sum_ = o.sum_;
    min_ = o.min_;
    max_ = o.max_;
    return *this;
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
    if (other.counts_) {
        if (!counts_) allocate();
        for (int i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
    }
    count_ += other.count_;
    sum_ += other.sum_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
}

LatencyBuckets LatencyHistogram::compact() const {
    LatencyBuckets b;
    b.count = count_;
    b.sum_us = sum_;
    b.min_us = min_us();
    b.max_us = max_;
    for (int i = 0; counts_ && i < kBuckets; ++i)
        if (counts_[i]) b.buckets.emplace_back(static_cast<uint32_t>(i), counts_[i]);
    return b;
}

bool LatencyHistogram::add(const LatencyBuckets& b) {
    uint64_t in_buckets = 0;
    for (const auto& [i, n] : b.buckets) {
        if (i >= static_cast<uint32_t>(kBuckets)) return false;
        in_buckets += n;
    }
    if (in_buckets != b.count) return false;
    if (!b.buckets.empty() && !counts_) allocate();
    for (const auto& [i, n] : b.buckets) counts_[i] += n;
    count_ += b.count;
    sum_ += b.sum_us;
    if (b.count) {
        min_ = std::min(min_, b.min_us);
        max_ = std::max(max_, b.max_us);
    }
    return true;
}

uint64_t LatencyHistogram::quantile_us(double q) const {
    if (count_ == 0 || !counts_) return 0;
    q = std::clamp(q, 0.0, 1.0);
    uint64_t rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_))));
    uint64_t seen = 0;
    for (int i = 0; i < kBuckets; ++i) {
        seen += counts_[i];
        if (seen >= rank) return std::clamp(upper_edge(i), min_us(), max_);
    }
    return max_;
}

uint64_t LatencyHistogram::count_at_or_below(uint64_t us) const {
    uint64_t n = 0;
    for (int i = 0; counts_ && i < kBuckets && upper_edge(i) <= us; ++i) n += counts_[i];
    return n;
}

void LatencyHistogram::subtract(const LatencyHistogram& earlier) {
    int first = -1, last = -1;
    for (int i = 0; counts_ && i < kBuckets; ++i) {
        counts_[i] -= std::min(counts_[i], earlier.at(i));
        if (counts_[i]) {
            if (first < 0) first = i;
            last = i;
        }
    }
    count_ -= std::min(count_, earlier.count_);
    sum_ -= std::min(sum_, earlier.sum_);
    if (first < 0) {
        count_ = 0;
        min_ = std::numeric_limits<uint64_t>::max();
        max_ = 0;
        return;
    }
    min_ = std::max(min_, first == 0 ? 0 : upper_edge(first - 1) + 1);
    max_ = std::min(max_, upper_edge(last));
}

LatencySummary summarize(const LatencyHistogram& h) {
    auto ms = [](uint64_t us) { return static_cast<double>(us) / 1000.0; };
    LatencySummary l;
    l.min_ms = ms(h.min_us());
    l.mean_ms = h.mean_us() / 1000.0;
    l.p50_ms = ms(h.quantile_us(0.50));
    l.p90_ms = ms(h.quantile_us(0.90));
    l.p95_ms = ms(h.quantile_us(0.95));
    l.p99_ms = ms(h.quantile_us(0.99));
    l.p999_ms = ms(h.quantile_us(0.999));
    l.max_ms = ms(h.max_us());
    return l;
}

LatencySummary summarize_with_buckets(const LatencyHistogram& h) {
    LatencySummary l = summarize(h);
    l.histogram = h.compact();
    return l;
}

std::vector<std::pair<uint64_t, uint64_t>> LatencyHistogram::coarse_buckets() const {
    std::vector<std::pair<uint64_t, uint64_t>> out;
    if (!count_ || !counts_) return out;
    for (int i = 0; i < kBuckets; ++i) {
        if (!counts_[i]) continue;
        uint64_t v = upper_edge(i), edge = v;
        if (v >= 8) {
            const int exp = 63 - __builtin_clzll(v);
            const uint64_t sub = (v >> (exp - 3)) & 7;
            edge = ((8 + sub + 1) << (exp - 3)) - 1;
        }
        if (!out.empty() && out.back().first == edge) out.back().second += counts_[i];
        else out.emplace_back(edge, counts_[i]);
    }
    return out;
}

}  // namespace ntx::metrics
