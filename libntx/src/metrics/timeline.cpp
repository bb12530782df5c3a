#include "metrics/timeline.hpp"

#include <algorithm>

namespace ntx::metrics {

void Timeline::coarsen(bool max) {
    const size_t n = (values.size() + 1) / 2;
    for (size_t i = 0; i < n; ++i) {
        const uint32_t a = values[2 * i];
        const uint32_t b = 2 * i + 1 < values.size() ? values[2 * i + 1] : 0;
        values[i] = max ? std::max(a, b) : a + b;
    }
    values.resize(n);
    bucket_ms *= 2;
}

void Timeline::merge(const Timeline& other, bool max) {
    if (other.values.empty()) return;
    while (bucket_ms < other.bucket_ms) coarsen(max);
    const Timeline* from = &other;
    Timeline coarser;
    if (other.bucket_ms < bucket_ms) {
        coarser = other;
        while (coarser.bucket_ms < bucket_ms) coarser.coarsen(max);
        from = &coarser;
    }
    if (values.size() < from->values.size()) values.resize(from->values.size(), 0);
    for (size_t b = 0; b < from->values.size(); ++b)
        values[b] = max ? std::max(values[b], from->values[b]) : values[b] + from->values[b];
}

IntervalSeries::IntervalSeries(uint64_t base_ms, size_t cap)
    : base_ms_(base_ms ? base_ms : 1), width_ms_(base_ms_), cap_(std::max<size_t>(cap, 2)) {}
IntervalSeries::~IntervalSeries() = default;
IntervalSeries::IntervalSeries(IntervalSeries&&) noexcept = default;
IntervalSeries& IntervalSeries::operator=(IntervalSeries&&) noexcept = default;

namespace {

}  // namespace

void set_interval_percentiles(IntervalStats& iv, const LatencyHistogram& cumulative, const LatencyHistogram& at_start) {
    auto in_point = std::make_unique<LatencyHistogram>(cumulative);
    in_point->subtract(at_start);
    iv.p50_ms = static_cast<double>(in_point->quantile_us(0.50)) / 1000.0;
    iv.p95_ms = static_cast<double>(in_point->quantile_us(0.95)) / 1000.0;
    iv.p99_ms = static_cast<double>(in_point->quantile_us(0.99)) / 1000.0;
}

namespace {

void set_percentiles(IntervalStats& iv, const LatencyHistogram& cumulative, const LatencyHistogram& at_start) {
    set_interval_percentiles(iv, cumulative, at_start);
}

void add_kinds(std::vector<std::pair<std::string, uint64_t>>& to, const std::vector<std::pair<std::string, uint64_t>>& from) {
    for (const auto& [kind, n] : from) {
        auto it = std::find_if(to.begin(), to.end(), [&](const auto& k) { return k.first == kind; });
        if (it == to.end()) to.emplace_back(kind, n);
        else it->second += n;
    }
}

}  // namespace

void merge_point(IntervalStats& a, const IntervalStats& b) {
    const uint64_t ok = a.ok + b.ok;
    a.p50_ms = ok ? (a.p50_ms * static_cast<double>(a.ok) + b.p50_ms * static_cast<double>(b.ok)) / static_cast<double>(ok) : 0.0;
    a.p95_ms = std::max(a.p95_ms, b.p95_ms);
    a.p99_ms = std::max(a.p99_ms, b.p99_ms);
    a.ok = ok;
    a.errors += b.errors;
    a.timeouts += b.timeouts;
    a.online = b.online;
    add_kinds(a.errors_by_kind, b.errors_by_kind);
}

std::vector<IntervalStats> downsample(const std::vector<IntervalStats>& points, size_t max_points, uint64_t& factor) {
    factor = 1;
    max_points = std::max<size_t>(max_points, 1);
    while ((points.size() + factor - 1) / factor > max_points) factor *= 2;
    if (factor == 1) return points;
    std::vector<IntervalStats> out;
    out.reserve((points.size() + factor - 1) / factor);
    for (size_t i = 0; i < points.size(); i += factor) {
        IntervalStats p = points[i];
        for (size_t j = i + 1; j < std::min(points.size(), i + factor); ++j) merge_point(p, points[j]);
        out.push_back(std::move(p));
    }
    return out;
}

void IntervalSeries::add(uint64_t begin_ms, uint64_t ok, uint64_t errors, uint64_t timeouts, uint64_t online,
                         const LatencyHistogram& latency, const LatencyHistogram& latency_at_begin,
                         const std::vector<std::pair<std::string, uint64_t>>& errors_by_kind) {
    size_t idx = static_cast<size_t>(begin_ms / width_ms_);
    while (idx >= cap_) {
        coarsen();
        idx = static_cast<size_t>(begin_ms / width_ms_);
    }
    // Points the monitor skipped (it records every interval; this keeps the series dense if not).
    while (points_.size() < idx) {
        IntervalStats gap;
        gap.t_s = static_cast<double>(points_.size() * width_ms_) / 1000.0;
        if (!points_.empty()) gap.online = points_.back().online;
        points_.push_back(gap);
        before_last_start_ = std::move(last_start_);
        last_start_ = std::make_unique<LatencyHistogram>(latency_at_begin);
    }
    if (idx + 1 == points_.size()) {  // the open point grows
        IntervalStats& iv = points_.back();
        iv.ok += ok;
        iv.errors += errors;
        iv.timeouts += timeouts;
        iv.online = online;
        add_kinds(iv.errors_by_kind, errors_by_kind);
        if (last_start_) set_percentiles(iv, latency, *last_start_);
        else if (ok) {  // its start is unknown: the estimate of a merge, with this base interval
            IntervalStats base;
            set_percentiles(base, latency, latency_at_begin);
            const uint64_t before = iv.ok - ok;
            iv.p50_ms = before ? (iv.p50_ms * static_cast<double>(before) + base.p50_ms * static_cast<double>(ok)) /
                                     static_cast<double>(iv.ok)
                               : base.p50_ms;
            iv.p95_ms = std::max(iv.p95_ms, base.p95_ms);
            iv.p99_ms = std::max(iv.p99_ms, base.p99_ms);
        }
        return;
    }
    IntervalStats iv;
    iv.t_s = static_cast<double>(idx * width_ms_) / 1000.0;
    iv.ok = ok;
    iv.errors = errors;
    iv.timeouts = timeouts;
    iv.online = online;
    iv.errors_by_kind = errors_by_kind;
    set_percentiles(iv, latency, latency_at_begin);
    points_.push_back(std::move(iv));
    before_last_start_ = std::move(last_start_);
    last_start_ = std::make_unique<LatencyHistogram>(latency_at_begin);
}

void IntervalSeries::coarsen() {
    const size_t n = (points_.size() + 1) / 2;
    const bool even = points_.size() % 2 == 0;
    for (size_t i = 0; i < n; ++i) {
        IntervalStats a = std::move(points_[2 * i]);
        if (2 * i + 1 < points_.size()) merge_point(a, points_[2 * i + 1]);
        points_[i] = std::move(a);
    }
    points_.resize(n);
    width_ms_ *= 2;
    // The new last point started where the old one before last did (a pair), or is the old last alone.
    if (even) last_start_ = std::move(before_last_start_);
    before_last_start_.reset();
}

}  // namespace ntx::metrics
