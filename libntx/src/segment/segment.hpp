// Segments: one instance's deterministic slice of a test run by N instances (`ntx run --segment I/N`).
// No coordinator: every instance plans the whole test and keeps what is its own. Global ordinals (users,
// arrivals, pool items) are striped: k belongs to instance k mod N. A shard of an instance owns every
// (N * shards)-th ordinal from its first, so the union of every instance's schedule is the
// unsegmented schedule exactly, and each instance's share is its exact fraction rounded up or down.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dsl/script.hpp"
#include "ntx/diagnostics.hpp"

namespace ntx::segment {

using Segment = dsl::SegmentSpec;

// "I/N" with 0 <= I < N (decimal, N <= kMaxSegments); false with `error` saying why.
constexpr uint32_t kMaxSegments = 1u << 16;
bool parse(std::string_view text, Segment& out, std::string& error);
std::string to_string(Segment s);

// Of the ordinals 0 .. total-1, how many are this segment's (k mod N == I): total/N rounded down or
// up, summing to `total` over the N segments.
uint64_t share(uint64_t total, Segment s);
// A rate (per second) or any divisible quantity: rate / N (the N shares add up to the rate).
double share(double rate, Segment s);

// The ordinals one shard of this instance starts: first, first + step, first + 2 step, ...
struct Stripe {
    uint64_t first = 0;
    uint64_t step = 1;
    bool owns(uint64_t k) const { return k >= first && (k - first) % step == 0; }
    // How many of 0 .. total-1 it owns.
    uint64_t count_below(uint64_t total) const { return total > first ? (total - first - 1) / step + 1 : 0; }
};
Stripe stripe(Segment s, uint32_t shard, uint32_t shards);

// A number unique within one instance (a task id) made unique across the N instances.
inline uint64_t global_id(uint64_t local, Segment s) { return local * s.count + s.index; }

// The items of a pool of `n` (manifest order) that are this segment's: i mod N == I.
std::vector<uint64_t> items(uint64_t n, Segment s);

// The transform from the planned load to this instance's share: records the segment (the scheduler
// stripes ordinals and profile targets by it), divides max-users and the dynamic-task limits, and
// marks each pool for partitioning (PairPool::load keeps its items). A limit smaller than N cannot be
// divided (an instance would get none): a diagnostic with the numbers. Applied after any override.
dsl::Script apply(dsl::Script script, Segment s, std::vector<Diagnostic>& diagnostics);

}  // namespace ntx::segment
