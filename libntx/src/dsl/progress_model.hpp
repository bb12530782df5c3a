// The script's `progress:` section, compiled: how the progress bus batches and prioritises events.
// A model of the DSL (progress/ runs it: progress::ProgressConfig is this type).
#pragma once

#include <array>
#include <cstdint>

namespace ntx::dsl {

struct ProgressConfig {
    // batching
    uint32_t max_batch_size = 256;     // a subscriber's call carries at most this many events
    uint64_t flush_interval_ms = 100;  // pending events are delivered at least this often
    uint32_t priority_threshold = 0;   // an event of at least this priority is delivered at once; 0 = off
    // poller.priorities: the weight of each process group (initiating, planning, executing,
    // monitoring, closing), copied into each event's `priority`.
    std::array<uint32_t, 5> priorities{1, 1, 1, 2, 3};
    // Events each shard's queue holds between two drains; past it events are dropped and counted.
    uint32_t queue_size = 16384;
};

}  // namespace ntx::dsl
