// Counts every global operator new made by this process (the benchmark binary replaces the global
// allocation functions in alloc_counter.cpp). Benchmarks report allocations per iteration with it.
#pragma once

#include <atomic>
#include <cstdint>

#include <benchmark/benchmark.h>

namespace ntx::bench {

extern std::atomic<uint64_t> g_allocations;

inline uint64_t allocations() { return g_allocations.load(std::memory_order_relaxed); }

// Sets the "allocs/iter" counter from a count taken just before the timed loop.
inline void report_allocations(benchmark::State& state, uint64_t before) {
    const uint64_t n = allocations() - before;
    state.counters["allocs/iter"] = benchmark::Counter(static_cast<double>(n), benchmark::Counter::kAvgIterations);
}

}  // namespace ntx::bench
