// The Prometheus text exposition format (version 0.0.4) of a running scenario's counters.
#pragma once

#include <string>
#include <string_view>

#include "dsl/script.hpp"
#include "metrics/snapshot.hpp"

namespace ntx::live {

// The exposition of one snapshot (the counters the report builder reads, every exit and the dynamic
// tasks included, and the gauges), with `planned_s` (0 when unknown) and the process group the run
// is in.
std::string prometheus_text(const dsl::Script& script, const metrics::RunSnapshot& snapshot, double planned_s,
                            std::string_view phase = "executing");

// A label value with \, " and newlines escaped.
std::string prometheus_escape(std::string_view value);

}  // namespace ntx::live
