// `thresholds` of script.yaml evaluated against a Report (the final one, or a live one for
// abort-on-fail). The DSL compiles them (dsl/thresholds_model.hpp: the model, report::Threshold here).
#pragma once

#include <vector>

#include "dsl/thresholds_model.hpp"
#include "ntx/report.hpp"

namespace ntx::report {

using Threshold = dsl::Threshold;
using dsl::threshold_metrics;

// Evaluates every threshold against `report` (one result each, in order).
std::vector<ThresholdResult> evaluate_thresholds(const std::vector<Threshold>& thresholds, const Report& report);

}  // namespace ntx::report
