// The Prometheus text exposition format (version 0.0.4) of a running scenario's counters.
#pragma once

#include <string>
#include <string_view>

#include "dsl/script.hpp"
#include "metrics/snapshot.hpp"

namespace ntx::live {

// What the exposition needs besides the counters.
struct Exposition {
    std::string run_id;                 // on every series (label run_id)
    double planned_s = 0;               // the run's planned length, 0 when unknown
    std::string_view phase = "executing";  // the process group the run is in
    const metrics::BusGauges* bus = nullptr;  // the progress bus's counts, when the snapshot has none
};

// The exposition of one snapshot (the counters the report builder reads, every exit and the dynamic
// tasks included, and the gauges). Labels: run_id, scenario, action, and per family outcome,
// error_kind, status_class, state, exit, pool; workflow, component and call are in ntx_scenario_info /
// ntx_action_info (they never vary for a scenario or an action).
std::string prometheus_text(const dsl::Script& script, const metrics::RunSnapshot& snapshot, const Exposition& x);

// A label value with \, " and newlines escaped.
std::string prometheus_escape(std::string_view value);

}  // namespace ntx::live
