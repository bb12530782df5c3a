// What the command line (or a harness) changes in a script without editing it: `ntx run --users N
// --rate R/s --duration D --scenario NAME -e KEY=VALUE`. Applied at planning, to the compiled script,
// never to the YAML text; docs/dsl.md#overrides says what each one changes for each load model.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ntx/export.hpp"

NTX_BEGIN_NAMESPACE

struct Overrides {
    // Closed scenarios without a profile: their user-count. Refused for open and profile scenarios.
    std::optional<uint64_t> users;
    // Open scenarios: a constant arrival-rate (per second; a ramp becomes this constant rate).
    // Refused for closed scenarios.
    std::optional<double> rate;
    // Closed scenarios without a profile: their task-duration (users repeat their workflow for this
    // long). Open scenarios: their arrivals window (`duration`). Refused for profile scenarios.
    std::optional<uint64_t> duration_ms;
    // Run only these scenarios (empty: all of them). Every name must be a scenario of the script.
    std::vector<std::string> scenarios;
    // What `{{env.KEY}}` reads after ntx's own names (user_id, task_id, tick, scenario, phase), in
    // order: these, then (when process_environment) the process environment. A later KEY=VALUE wins.
    std::vector<std::pair<std::string, std::string>> env;
    bool process_environment = true;
    // --feature NAME=on|off: a feature flag config.yaml declares (`features:`), switched for this run.
    // The last one of a name wins; a name config.yaml does not declare is refused.
    std::vector<std::pair<std::string, bool>> features;

    bool empty() const { return !users && !rate && !duration_ms && scenarios.empty() && env.empty() && features.empty(); }
};

// One override a run used, as the summary and report.json list it: {"users", "10", "--users"},
// {"env.BASE_URL", "http://127.0.0.1:8080", "-e"}, {"env.HOME", "/root", "environment"}. A value
// whose name log.mask covers reads "***".
struct AppliedOverride {
    std::string name;
    std::string value;
    std::string source;
};

NTX_END_NAMESPACE
