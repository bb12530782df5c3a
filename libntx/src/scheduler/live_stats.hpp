// Counters of a running scenario, readable from other threads (the progress line, the Prometheus
// endpoint, abort-on-fail thresholds, the report's intervals) without touching the per-request path:
// every `period_ms` a shard copies its own counters, at the end of a tick, into its slot. A slot's
// mutex is only ever taken by its shard (once per period) and by a reader, never per request.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "metrics/snapshot.hpp"
#include "scheduler/stats.hpp"

namespace ntx::scheduler {

class Scheduler;
class Shard;

class LiveStats {
public:
    LiveStats(unsigned shards, uint64_t period_ms);
    ~LiveStats();

    // On `shard`'s loop thread, or after its loop ended: copies its counters when `period_ms` passed
    // since its last copy (or always with `force`). `final` (after its loop ended) copies the
    // timelines too, which live copies leave out (they grow with the run).
    void publish(const Shard& shard, uint64_t now_ms, bool force = false, bool final = false);

    // Any thread: every shard's latest copy, merged into `into`'s counters (at_ms, actions,
    // scenarios; its vectors are reused).
    void read(metrics::RunSnapshot& into) const;

    uint64_t period_ms() const { return period_ms_; }

private:
    struct alignas(64) Slot {  // one cache line group per shard: no false sharing between loops
        mutable std::mutex mutex;
        bool published = false;
        uint64_t at_ms = 0;
        std::vector<ActionStats> actions;
        std::vector<ScenarioStats> scenarios;
        uint64_t workbook_memory = 0;  // the shard's ledger in memory
        uint64_t next_ms = 0;  // only the shard's thread reads and writes it
    };
    std::unique_ptr<Slot[]> slots_;
    unsigned shards_;
    uint64_t period_ms_;
};

// The one call Shard::tick() makes: publishes into the scheduler's LiveStats, if it has one.
void publish_live_stats(Shard& shard, uint64_t now_ms);

// Any thread: the scheduler's snapshot for readers: its LiveStats' counters (none without one) and
// the gauges read now (users online, peak, stopping, waiting per scenario; workbook entries; pool
// leases). `final`, once the loops ended and every shard published its final counters: the
// sockets' counts too, and the snapshot says it is the final one. Does not set elapsed_s.
void read_snapshot(Scheduler& sched, metrics::RunSnapshot& into, bool final = false);

}  // namespace ntx::scheduler
