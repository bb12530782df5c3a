// What the run's counters and gauges held at one moment: what every reader of a run reads (the
// progress line, the metrics endpoint, the intervals, abort-on-fail thresholds, and the final report,
// from the snapshot taken after the loops ended). The scheduler side fills it (scheduler/live_stats);
// readers never touch the scheduler.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "metrics/stats.hpp"

namespace ntx::metrics {

// One scenario's gauges, read when the snapshot was taken.
struct ScenarioGauges {
    int64_t online = 0;            // users online now (including those stopping)
    int64_t peak_online = 0;
    int64_t stopping = 0;          // online users asked to leave, finishing their action
    int64_t waiting_resource = 0;  // users waiting for a resource lease
    uint64_t end_ms = 0;           // run clock when its last user went offline (0: not yet)
};

struct PoolGauges {
    std::string name;
    uint64_t size = 0, leases_held = 0, peak_held = 0;
    uint64_t available = 0;                     // items that may be handed out now
    uint64_t acquired = 0, released = 0, renewed = 0, expired = 0, evicted = 0;  // leases, by what happened
    uint64_t waits = 0, wait_timeouts = 0;      // users that found the pool dry; of them, those that gave up
    uint64_t probes = 0, probe_failures = 0;    // health-check probes run, failed
    uint64_t down_now = 0;                      // items down now (health check)
    bool health_check = false;
};

// The progress bus (workbook change stream): events delivered and dropped, the largest batch.
struct BusGauges {
    uint64_t events = 0, dropped = 0, max_batch = 0, batches = 0, queued = 0;
};

struct RunSnapshot {
    uint64_t at_ms = 0;     // the run clock of the oldest shard copy merged
    double elapsed_s = 0;   // the reader's clock when it took the snapshot
    // Taken after the loops ended, from every shard's final counters: the run's totals, with the
    // timelines and the sockets' counts (a live snapshot has neither).
    bool final = false;
    std::vector<ActionStats> actions;      // by scenario * action_count + action
    std::vector<ScenarioStats> scenarios;  // merged over the shards
    std::vector<ScenarioGauges> gauges;    // per scenario
    uint64_t workbook_entries = 0;         // workbook entries (user x task) so far
    uint64_t workbook_memory_bytes = 0;    // the shards' ledgers in memory (running tasks), as last published
    BusGauges bus;                         // filled by the reader that has the bus (the metrics endpoint)
    std::vector<PoolGauges> pools;         // resource pools: items, leases held now
    uint64_t socket_bytes_sent = 0, socket_bytes_received = 0, sockets_opened = 0;  // final only

    // Whether the counters cover `scenarios` x `actions` (nothing was published yet otherwise).
    bool covers(size_t scenario_count, size_t action_count) const {
        return scenarios.size() == scenario_count && actions.size() == scenario_count * action_count;
    }
};

// How a live reader takes a snapshot (into one it reuses).
using SnapshotReader = std::function<void(RunSnapshot&)>;

}  // namespace ntx::metrics
