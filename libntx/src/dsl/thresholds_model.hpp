// `thresholds` of script.yaml, compiled: pass/fail criteria on the run's results ("http.probe-get.p99
// < 300ms", "errors.rate < 1%", "actions.count > 1000"). The DSL compiles them (thresholds_pass.cpp);
// report/thresholds.hpp evaluates them against a Report (report::Threshold is this type).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ntx::dsl {

struct Threshold {
    enum class Scope : uint8_t { action, scenario, total, workflow };  // workflow: <workflow>.task.<m>
    enum class Op : uint8_t { lt, le, gt, ge, eq, ne };
    std::string text;    // as written
    Scope scope = Scope::total;
    std::string target;  // the action (scope action), scenario (scope scenario) or workflow (scope workflow) name
    std::string metric;  // e.g. "p99", "error-rate", "count"
    Op op = Op::lt;
    double value = 0;    // in the metric's unit: ms, a fraction (1% = 0.01), per second, or a count
    bool abort_on_fail = false;
    std::string file;
    int line = 0, column = 0;
};

// The unit of a metric's values.
enum class ThresholdUnit : uint8_t { count, ratio, ms, per_s };

// The unit of `metric` in `scope`; nullopt when the scope has no such metric.
std::optional<ThresholdUnit> threshold_unit(Threshold::Scope scope, std::string_view metric);

// The metric names one scope knows (for docs, hints and tests).
const std::vector<std::string>& threshold_metrics(Threshold::Scope scope);

}  // namespace ntx::dsl
