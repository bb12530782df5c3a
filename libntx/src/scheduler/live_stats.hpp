// Counters of a running scenario, readable from other threads (the progress line, the Prometheus
// endpoint, abort-on-fail thresholds, the report's intervals) without touching the per-request path:
// every `period_ms` a shard copies its own counters, at the end of a tick, into its slot. A slot's
// mutex is only ever taken by its shard (once per period) and by a reader, never per request.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "scheduler/stats.hpp"

namespace ntx::scheduler {

class Shard;

// Counters of every shard, merged: actions by scenario * action_count + action, as in Shard.
struct LiveCounters {
    uint64_t at_ms = 0;  // the run clock of the oldest snapshot merged
    std::vector<ActionStats> actions;
    std::vector<ScenarioStats> scenarios;  // counters merged; the 100 ms timelines are not
};

class LiveStats {
public:
    LiveStats(unsigned shards, uint64_t period_ms);
    ~LiveStats();

    // On `shard`'s loop thread, or after its loop ended: copies its counters when `period_ms` passed
    // since its last copy (or always with `force`).
    void publish(const Shard& shard, uint64_t now_ms, bool force = false);

    // Any thread: every shard's latest copy, merged into `into` (whose vectors are reused).
    void read(LiveCounters& into) const;

    uint64_t period_ms() const { return period_ms_; }

private:
    struct alignas(64) Slot {  // one cache line group per shard: no false sharing between loops
        mutable std::mutex mutex;
        bool published = false;
        uint64_t at_ms = 0;
        std::vector<ActionStats> actions;
        std::vector<ScenarioStats> scenarios;
        uint64_t next_ms = 0;  // only the shard's thread reads and writes it
    };
    std::unique_ptr<Slot[]> slots_;
    unsigned shards_;
    uint64_t period_ms_;
};

// The one call Shard::tick() makes: publishes into the scheduler's LiveStats, if it has one.
void publish_live_stats(Shard& shard, uint64_t now_ms);

}  // namespace ntx::scheduler
