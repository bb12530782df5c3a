// Words from k6, Locust, Artillery and Gatling scripts, and what ntx calls them: the hint an unknown key
// gets when a newcomer writes what their last tool took (`vus:`, `users:`, `rps:`...), instead of an
// edit-distance guess that points at the wrong key (`users` -> `user`).
#include <algorithm>
#include <string_view>

#include "dsl/passes.hpp"

namespace ntx::dsl::passes {

namespace {

struct ForeignWord {
    std::string_view word;
    std::string_view where;  // the check_keys context it applies to ("" = any)
    std::string_view hint;
};

constexpr std::string_view kScenario = "a scenario";
constexpr std::string_view kAction = "an action";
constexpr std::string_view kTop = "script.yaml";

constexpr ForeignWord kWords[] = {
    // k6
    {"vus", kScenario, "k6's vus: ntx says user-count (closed model), or --users N on the command line"},
    {"VUs", kScenario, "k6's VUs: ntx says user-count (closed model), or --users N on the command line"},
    {"maxVUs", kScenario, "k6's maxVUs: ntx says max-users (open model: the cap on concurrent users)"},
    {"preAllocatedVUs", kScenario, "ntx starts users as arrivals need them: max-users caps them (open model)"},
    {"iterations", kScenario,
     "k6's iterations: each ntx user runs its workflow once unless task-duration is set; for N iterations use "
     "user-count: N, or a `loop: {count: N}` step in the workflow"},
    {"executor", kScenario,
     "ntx has no executors: user-count is a closed model (k6 per-vu-iterations / constant-vus with task-duration), "
     "arrival-rate + duration is an open model (constant-arrival-rate), profile is ramping-vus"},
    {"exec", kScenario, "ntx says workflow: the name of a workflow under workflows"},
    {"rate", kScenario, "ntx says arrival-rate: 50/s (the open model, with duration), or --rate 50/s"},
    {"rps", kScenario, "requests per second is an open model: arrival-rate: 50/s with duration (each arrival runs the "
                       "workflow once), or --rate 50/s; per action, rate-limit: {per-user: 5/s}"},
    {"timeUnit", kScenario, "write the unit in the rate itself: arrival-rate: 100/m"},
    {"startVUs", kScenario, "ramps are profiles: load.profiles.<name> {start-users, stages}, named by profile:"},
    {"stages", kScenario, "ramps are profiles: load.profiles.<name> {stages: [{duration, target}]}, named by profile:"},
    {"gracefulStop", kScenario, "config.yaml's grace-period says how long in-flight actions may finish"},
    {"options", kTop, "k6's options are load (scenarios, profiles) and thresholds in ntx"},
    {"checks", kAction, "ntx says check: a list of conditions on the action's result"},
    // Locust
    {"users", kScenario, "Locust's users: ntx says user-count (closed model), or --users N on the command line"},
    {"spawn_rate", kScenario, "ntx says spawn-rate (users started per second, e.g. 10/s)"},
    {"hatch_rate", kScenario, "ntx says spawn-rate (users started per second, e.g. 10/s)"},
    {"run_time", kScenario, "ntx says task-duration (closed model: each user repeats its workflow this long), or --duration"},
    {"wait_time", kScenario, "pauses are steps: `- think: 1s` (or think: {uniform: [1s, 3s]}) in the workflow"},
    {"host", kTop, "each action names its URL in with.url; for one base URL use {{env.BASE_URL}} and -e BASE_URL=..."},
    // Artillery
    {"config", kTop, "run-wide settings go in config.yaml next to script.yaml; phases are load.scenarios"},
    {"phases", kTop, "Artillery's phases are load.scenarios (arrival-rate + duration) and load.profiles"},
    {"scenarios", kTop, "scenarios go under load: `load: {scenarios: [...]}`"},
    {"target", kTop, "each action names its URL in with.url; for one base URL use {{env.BASE_URL}} and -e BASE_URL=..."},
    {"arrivalRate", kScenario, "ntx says arrival-rate: 10/s (the open model, with duration)"},
    {"rampTo", kScenario, "a ramping rate is arrival-rate: {from: 10/s, to: 50/s}"},
    {"maxVusers", kScenario, "ntx says max-users (open model: the cap on concurrent users)"},
    {"flow", kScenario, "the steps are a workflow: workflows.<name>.steps, named here by workflow:"},
    {"weight", kScenario, "scenarios run side by side, each with its own user-count or arrival-rate"},
    {"capture", kAction, "ntx says save-as: {name: x, extract: {token: {json: /token}}}"},
    {"expect", kAction, "ntx says check: [status == 200, ...] (and expect-status: [200, 201])"},
    // every tool: the request's parts are the call's parameters
    {"url", kAction, "the URL is a parameter of the call: with: {url: ...}"},
    {"method", kAction, "the method is the call: call: http.post (get, post, put, patch, delete, head)"},
    {"headers", kAction, "headers are parameters of the call: with: {headers: {authorization: ...}}"},
    {"body", kAction, "the body is a parameter of the call: with: {body: ...}"},
    {"json", kAction, "send JSON as with: {body: '{\"a\": 1}', headers: {content-type: application/json}}"},
    {"think", kAction, "think is a workflow step of its own: `- think: 1s` between two steps"},
    {"sleep", kAction, "a pause is a workflow step of its own: `- think: 1s`"},
};

}  // namespace

std::optional<std::string> foreign_word_hint(std::string_view key, std::string_view where) {
    for (const auto& w : kWords)
        if (w.word == key && (w.where.empty() || w.where == where || (w.where == kAction && where == "an inline action step")))
            return std::string(w.hint);
    return std::nullopt;
}

}  // namespace ntx::dsl::passes
