// The open model's arrival schedule, and what a workflow's steps run.
#include <algorithm>
#include <cmath>
#include "dsl/script.hpp"

namespace ntx::dsl {

void collect_actions(const Script& script, const std::vector<Step>& steps, std::vector<uint32_t>& out) {
    for (const auto& step : steps) {
        if (step.kind == Step::Kind::action && std::find(out.begin(), out.end(), step.action) == out.end())
            out.push_back(step.action);
        for (uint32_t b : step.branches) collect_actions(script, script.branches[b].steps, out);
    }
}

double ScenarioSpec::arrival_time_ms(uint64_t k) const {
    // Solve arrivals_before(t) = k for t: a constant rate is linear, a ramp is a quadratic.
    double n = static_cast<double>(k);
    double span = static_cast<double>(duration_ms) / 1000.0;
    double a = span > 0 ? (arrival_rate_end - arrival_rate) / (2 * span) : 0;
    double b = arrival_rate;
    double t;
    if (std::abs(a) < 1e-12) {
        t = b > 0 ? n / b : 0;
    } else {
        double disc = b * b + 4 * a * n;
        if (disc < 0) return static_cast<double>(duration_ms) + 1;  // the ramp never gets there
        t = (-b + std::sqrt(disc)) / (2 * a);
    }
    return t * 1000.0;
}

}  // namespace ntx::dsl
