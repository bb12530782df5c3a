// LatencyHistogram: record (once per completed action, on the loop thread) and quantile (at report
// time, a few per action). Both must stay allocation-free.
#include <array>
#include <cmath>
#include <cstdint>
#include <memory>

#include "alloc_counter.hpp"
#include "report/latency_histogram.hpp"

using ntx::report::LatencyHistogram;

namespace {

// Latencies in microseconds, spread like a loopback load run: mostly 50 us - 2 ms, a tail to ~1 s.
// Precomputed (xorshift, log-uniform) so the timed loop measures only record().
std::array<uint64_t, 4096> make_samples() {
    std::array<uint64_t, 4096> out{};
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (auto& v : out) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        const double u = static_cast<double>(x >> 11) / static_cast<double>(1ull << 53);  // [0,1)
        const bool tail = (x & 0xff) == 0;                                                // ~0.4%
        const double lo = std::log(50.0), hi = std::log(tail ? 1'000'000.0 : 2'000.0);
        v = static_cast<uint64_t>(std::exp(lo + u * (hi - lo)));
    }
    return out;
}

const std::array<uint64_t, 4096> kSamples = make_samples();

void BM_HistogramRecord(benchmark::State& state) {
    auto h = std::make_unique<LatencyHistogram>();  // 26 KiB: keep it off the stack
    size_t i = 0;
    const uint64_t before = ntx::bench::allocations();
    for (auto _ : state) {
        h->record(kSamples[i]);
        i = (i + 1) & (kSamples.size() - 1);
    }
    benchmark::DoNotOptimize(h->count());
    ntx::bench::report_allocations(state, before);
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistogramRecord);

// A constant value: the best case (one bucket stays hot in cache).
void BM_HistogramRecordSame(benchmark::State& state) {
    auto h = std::make_unique<LatencyHistogram>();
    uint64_t v = 420;
    const uint64_t before = ntx::bench::allocations();
    for (auto _ : state) {
        benchmark::DoNotOptimize(v);
        h->record(v);
    }
    benchmark::DoNotOptimize(h->count());
    ntx::bench::report_allocations(state, before);
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistogramRecordSame);

// quantile_us(q) on a histogram holding 1M samples; the argument is q in per-mille.
void BM_HistogramQuantile(benchmark::State& state) {
    auto h = std::make_unique<LatencyHistogram>();
    for (int r = 0; r < 256; ++r)
        for (uint64_t v : kSamples) h->record(v);
    const double q = static_cast<double>(state.range(0)) / 1000.0;
    const uint64_t before = ntx::bench::allocations();
    for (auto _ : state) {
        benchmark::DoNotOptimize(h->quantile_us(q));
    }
    ntx::bench::report_allocations(state, before);
}
BENCHMARK(BM_HistogramQuantile)->Arg(500)->Arg(900)->Arg(990)->Arg(1000);

// What the report does per action: p50, p90, p99 in one go.
void BM_HistogramReportQuantiles(benchmark::State& state) {
    auto h = std::make_unique<LatencyHistogram>();
    for (int r = 0; r < 256; ++r)
        for (uint64_t v : kSamples) h->record(v);
    const uint64_t before = ntx::bench::allocations();
    for (auto _ : state) {
        benchmark::DoNotOptimize(h->quantile_us(0.50));
        benchmark::DoNotOptimize(h->quantile_us(0.90));
        benchmark::DoNotOptimize(h->quantile_us(0.99));
    }
    ntx::bench::report_allocations(state, before);
}
BENCHMARK(BM_HistogramReportQuantiles);

// Merging a shard's histogram into the run's (once per action per shard at report time).
void BM_HistogramMerge(benchmark::State& state) {
    auto a = std::make_unique<LatencyHistogram>();
    auto b = std::make_unique<LatencyHistogram>();
    for (uint64_t v : kSamples) b->record(v);
    const uint64_t before = ntx::bench::allocations();
    for (auto _ : state) {
        a->merge(*b);
        benchmark::ClobberMemory();
    }
    ntx::bench::report_allocations(state, before);
}
BENCHMARK(BM_HistogramMerge);

}  // namespace
