// The Prometheus text exposition format (version 0.0.4) of a running scenario's counters.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dsl/script.hpp"
#include "scheduler/live_stats.hpp"

namespace ntx::live {

// What the exposition shows besides the shards' counters.
struct RunGauges {
    double elapsed_s = 0;
    double planned_s = 0;              // 0 when unknown
    std::vector<int64_t> online;       // per scenario, users online now (including those stopping)
    std::vector<int64_t> peak_online;  // per scenario
    std::vector<int64_t> stopping;     // per scenario: online users asked to leave, finishing their action
    std::vector<int64_t> waiting;      // per scenario: users waiting for a resource lease
    uint64_t workbook_entries = 0;     // workbook entries (user x task) so far
    std::string phase = "executing";   // the process group the run is in
    struct Pool {
        std::string name;
        uint64_t size = 0, leases_held = 0;
    };
    std::vector<Pool> pools;           // resource pools: items and leases held now
};

std::string prometheus_text(const dsl::Script& script, const scheduler::LiveCounters& counters, const RunGauges& gauges);

// A label value with \, " and newlines escaped.
std::string prometheus_escape(std::string_view value);

}  // namespace ntx::live
