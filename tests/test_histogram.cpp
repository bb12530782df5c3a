#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <vector>

#include "report/latency_histogram.hpp"

using ntx::report::LatencyHistogram;

TEST_CASE("every bucket's upper edge maps back to the bucket", "[histogram]") {
    for (int i = 0; i < LatencyHistogram::kBuckets - 1; ++i) {
        uint64_t edge = LatencyHistogram::upper_edge(i);
        REQUIRE(LatencyHistogram::index(edge) == i);
        REQUIRE(LatencyHistogram::index(edge + 1) == i + 1);
    }
}

TEST_CASE("quantiles stay within 1% of the exact value", "[histogram]") {
    std::mt19937_64 rng(42);
    std::lognormal_distribution<double> dist(7.0, 1.5);  // ~1 ms median, a long tail
    std::vector<uint64_t> values;
    LatencyHistogram h;
    for (int i = 0; i < 200000; ++i) {
        auto v = static_cast<uint64_t>(dist(rng)) + 1;
        values.push_back(v);
        h.record(v);
    }
    std::sort(values.begin(), values.end());
    for (double q : {0.5, 0.9, 0.99, 0.999}) {
        uint64_t exact = values[static_cast<size_t>(std::ceil(q * values.size())) - 1];
        uint64_t got = h.quantile_us(q);
        INFO("q=" << q << " exact=" << exact << " got=" << got);
        CHECK(static_cast<double>(got) >= static_cast<double>(exact));
        CHECK(static_cast<double>(got) <= static_cast<double>(exact) * 1.01 + 1);
    }
    CHECK(h.min_us() == values.front());
    CHECK(h.max_us() == values.back());
    CHECK(h.count() == values.size());
}

TEST_CASE("merging shards equals recording into one", "[histogram]") {
    LatencyHistogram a, b, all;
    for (uint64_t v = 1; v < 100000; v += 7) {
        (v % 2 ? a : b).record(v);
        all.record(v);
    }
    a.merge(b);
    CHECK(a.count() == all.count());
    CHECK(a.mean_us() == Approx(all.mean_us()));
    for (double q : {0.1, 0.5, 0.99}) CHECK(a.quantile_us(q) == all.quantile_us(q));
}
