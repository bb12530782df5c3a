// `thresholds` of script.yaml: pass/fail criteria on the run's results, compiled at planning
// ("http.probe-get.p99 < 300ms", "errors.rate < 1%", "actions.count > 1000") and evaluated against
// a Report (the final one, or a live one for abort-on-fail).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ntx/diagnostics.hpp"
#include "ntx/report.hpp"

namespace YAML {
class Node;
}
namespace ntx::dsl {
struct Script;
}

namespace ntx::report {

struct Threshold {
    enum class Scope : uint8_t { action, scenario, total };
    enum class Op : uint8_t { lt, le, gt, ge, eq, ne };
    std::string text;    // as written
    Scope scope = Scope::total;
    std::string target;  // the action (scope action) or scenario (scope scenario) name
    std::string metric;  // e.g. "p99", "error-rate", "count"
    Op op = Op::lt;
    double value = 0;    // in the metric's unit: ms, a fraction (1% = 0.01), per second, or a count
    bool abort_on_fail = false;
    std::string file;
    int line = 0, column = 0;
};

// Compiles the `thresholds` node of script.yaml (a list of expressions or {threshold, abort-on-fail}
// maps, or a map metric -> condition); action and scenario names are checked against `script`.
// Problems go to `diagnostics` as file:line:col errors with did-you-mean hints.
std::vector<Threshold> compile_thresholds(const YAML::Node& node, const std::string& file, const dsl::Script& script,
                                          std::vector<Diagnostic>& diagnostics);

// Evaluates every threshold against `report` (one result each, in order).
std::vector<ThresholdResult> evaluate_thresholds(const std::vector<Threshold>& thresholds, const Report& report);

// The metric names one scope knows (for docs, hints and tests).
const std::vector<std::string>& threshold_metrics(Threshold::Scope scope);

}  // namespace ntx::report
