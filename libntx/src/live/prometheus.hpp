// The Prometheus text exposition format (version 0.0.4) of a running scenario's counters.
#pragma once

#include <string>
#include <string_view>

#include "dsl/script.hpp"
#include "metrics/snapshot.hpp"

namespace ntx::live {

// The exposition of one snapshot: its counters and gauges, `planned_s` (0 when unknown) and the
// process group the run is in. The scenarios' exits and dynamic tasks are the final report's.
std::string prometheus_text(const dsl::Script& script, const metrics::RunSnapshot& snapshot, double planned_s,
                            std::string_view phase = "executing");

// A label value with \, " and newlines escaped.
std::string prometheus_escape(std::string_view value);

}  // namespace ntx::live
