// load: scenarios (closed and open models) and profiles; monitoring (retry, exits).
#include <algorithm>

#include "dsl/passes.hpp"
#include "dsl/units.hpp"

namespace ntx::dsl::passes {

void parse_monitoring(Compilation& cx, FileCtx& f, const YAML::Node& m) {
    if (!expect_map(f, m, "monitoring")) return;
    check_keys(f, m, "monitoring", {"retry", "exits", "health"});
    if (m["health"])  // the seeds' resource health checks: ntx runs them per pool, where the items are
        f.error(m["health"], "monitoring.health: health checks belong to a resource in ntx: each pool probes its own "
                             "items (resources.<name>.health-check), so there is nothing run-wide to check",
                "move it to the pool: resources.<name>.health-check: {interval: 5s, timeout: 1s, probe: tcp, "
                "on-failure: evict}");
    if (m["exits"] && expect_map(f, m["exits"], "monitoring.exits"))
        parse_exits(f, m["exits"], "monitoring.exits", cx.script.exit_error, cx.script.exit_timeout, nullptr);
    if (m["retry"]) {
        auto& p = cx.script.task_retry;
        p.set = true;
        p.loc = f.loc(m["retry"]);
        parse_retry(f, m["retry"], "monitoring.retry", p.max, p.backoff_ms, p.backoff_max_ms);
    }
}

// `exits` of a scenario (or monitoring.exits, the default of every scenario): where a task goes
// when it fails (`error`, `error-out`) or times out (`timeout`, `timeout-out`) and no handler says
// (goto / stop): error_out / timeout_out (the defaults), closing (the user leaves), or fatal (the
// run stops, exit code 1). A scenario's `exit.timeout` may also be a duration: its max-duration.
void parse_exits(FileCtx& f, const YAML::Node& n, std::string_view where, Route& error, Route& timeout,
                 uint64_t* max_duration_ms) {
    check_keys(f, n, where, {"timeout", "error", "error-out", "timeout-out"});
    if (n["error"] && n["error-out"]) f.error(n["error-out"], fmt::format("{} has both 'error' and 'error-out' (the same exit)", where));
    if (n["timeout"] && n["timeout-out"]) f.error(n["timeout-out"], fmt::format("{} has both 'timeout' and 'timeout-out' (the same exit)", where));
    for (auto it = n.begin(); it != n.end(); ++it) {
        const std::string k = it->first.Scalar();
        const YAML::Node v = it->second;
        auto name = scalar(f, v, k);
        if (!name) continue;
        const bool is_timeout = k == "timeout" || k == "timeout-out";
        if (is_timeout && max_duration_ms && parse_duration_ms(*name)) {
            if (!*max_duration_ms) *max_duration_ms = *parse_duration_ms(*name);
            continue;
        }
        static const std::vector<std::pair<std::string_view, Route>> routes{
            {"error_out", Route::error_out}, {"timeout_out", Route::timeout_out}, {"closing", Route::closing},
            {"fatal", Route::fatal}};
        auto found = std::find_if(routes.begin(), routes.end(), [&](const auto& r) { return r.first == *name; });
        if (found == routes.end()) {
            std::vector<std::string_view> names;
            for (const auto& r : routes) names.push_back(r.first);
            auto guess = closest_match(*name, names);
            f.error(v, fmt::format("unknown exit '{}' in {}.{}", *name, where, k),
                    guess.empty() ? std::string("error_out, timeout_out, closing or fatal") + (is_timeout && max_duration_ms ? ", or a duration" : "")
                                  : fmt::format("did you mean '{}'?", guess));
            continue;
        }
        (is_timeout ? timeout : error) = found->second;
    }
}

// A scenario's `pacing: {after-failure: tick | none | <duration>}`: when a user's next task may start
// after a failed one (ScenarioSpec::pace_after_failure).
static void parse_pacing(FileCtx& f, const YAML::Node& n, ScenarioSpec& sc) {
    check_keys(f, n, "pacing", {"after-failure"});
    if (!n["after-failure"]) return;
    auto v = scalar(f, n["after-failure"], "after-failure");
    if (!v) return;
    if (*v == "tick") {
        sc.pace_after_failure = ScenarioSpec::FailurePacing::tick;
    } else if (*v == "none") {
        sc.pace_after_failure = ScenarioSpec::FailurePacing::none;
    } else if (auto ms = parse_duration_ms(*v)) {
        sc.pace_after_failure = *ms ? ScenarioSpec::FailurePacing::delay : ScenarioSpec::FailurePacing::none;
        sc.pace_after_failure_ms = *ms;
    } else {
        f.error(n["after-failure"], fmt::format("unknown pacing.after-failure '{}'", *v),
                "tick (the default), none, or a duration such as 100ms");
    }
}

void parse_load(Compilation& cx, FileCtx& f, const YAML::Node& n) {
    if (!expect_map(f, n, "load")) return;
    check_keys(f, n, "load", {"scenarios", "profiles"});
    if (n["profiles"]) parse_profiles(cx, f, n["profiles"]);
    if (!n["scenarios"]) {
        f.error(n, "load has no 'scenarios'");
        return;
    }
    if (!expect_seq(f, n["scenarios"], "load.scenarios")) return;
    for (const auto& s : n["scenarios"]) {
        if (!expect_map(f, s, "a scenario")) continue;
        check_keys(f, s, "a scenario",
                   {"name", "workflow", "user-count", "spawn-rate", "task-duration", "max-duration", "user", "exit",
                    "exits", "profile", "arrival-rate", "duration", "max-users", "pacing"});
        ScenarioSpec sc;
        sc.loc = f.loc(s);
        sc.name = s["name"] ? scalar(f, s["name"], "name").value_or("") : fmt::format("scenario-{}", cx.script.scenarios.size() + 1);
        for (const auto& other : cx.script.scenarios)
            if (other.name == sc.name) f.error(s["name"], fmt::format("scenario '{}' is declared twice", sc.name));
        if (!s["workflow"]) {
            f.error(s, fmt::format("scenario '{}' has no 'workflow'", sc.name));
        } else {
            auto name = scalar(f, s["workflow"], "workflow").value_or("");
            if (auto wf = find_named(f, s["workflow"], cx.script.workflows, name, "workflow")) {
                sc.workflow = *wf;
                cx.resolved_scenarios.insert(cx.script.scenarios.size());
            }
        }
        if (s["user-count"]) {
            sc.user_count = uint_value(f, s["user-count"], "user-count").value_or(1);
            if (sc.user_count == 0) f.error(s["user-count"], "user-count must be at least 1");
        }
        if (s["spawn-rate"]) {
            sc.spawn_rate = rate(f, s["spawn-rate"], "spawn-rate").value_or(0);
            if (sc.spawn_rate <= 0 && s["spawn-rate"].IsScalar()) f.error(s["spawn-rate"], "spawn-rate must be positive");
        }
        if (s["task-duration"]) sc.task_duration_ms = duration(f, s["task-duration"], "task-duration").value_or(0);
        parse_model(cx, f, s, sc);
        if (s["max-duration"]) sc.max_duration_ms = duration(f, s["max-duration"], "max-duration").value_or(0);
        if (s["user"] && expect_map(f, s["user"], "user")) {
            check_keys(f, s["user"], "user", {"inherit", "context"});
            if (s["user"]["inherit"] && expect_seq(f, s["user"]["inherit"], "user.inherit")) {
                for (const auto& item : s["user"]["inherit"]) {
                    auto name = scalar(f, item, "inherit").value_or("");
                    if (auto pool = find_named(f, item, cx.script.pools, name, "resource")) sc.inherit.push_back(*pool);
                }
            }
            if (s["user"]["context"]) {
                sc.context.kind = Step::Kind::update_workbook;
                sc.context.loc = f.loc(s["user"]["context"]);
                parse_workbook_updates(cx, f, s["user"]["context"], sc.context, "user.context");
                // Rendered as a task starts: only what is readable then (no step has saved anything).
                const std::set<uint32_t> anytime = readable_anytime(cx);
                for (const auto& [id, t] : sc.context.updates)
                    for (uint32_t slot : t.variables())
                        if (!anytime.count(slot))
                            f.error(s["user"]["context"],
                                    fmt::format("user.context.{} reads '{}', but the context is set as each task "
                                                "starts, before any step saved it",
                                                cx.script.workbook.field(id).path, cx.script.variables[slot]),
                                    "read it in an update-workbook step after the step that saves it");
            }
        }
        sc.exit_error = cx.script.exit_error;
        sc.exit_timeout = cx.script.exit_timeout;
        if (s["exit"] && s["exits"]) f.error(s["exits"], "a scenario has both 'exit' and 'exits' (the same key)");
        for (const char* key : {"exit", "exits"})
            if (s[key] && expect_map(f, s[key], key))
                parse_exits(f, s[key], key, sc.exit_error, sc.exit_timeout, &sc.max_duration_ms);
        if (s["pacing"] && expect_map(f, s["pacing"], "pacing")) parse_pacing(f, s["pacing"], sc);
        cx.script.scenarios.push_back(std::move(sc));
    }
    if (cx.script.scenarios.empty()) f.error(n["scenarios"], "load.scenarios is empty");
}

void parse_profiles(Compilation& cx, FileCtx& f, const YAML::Node& n) {
    if (!expect_map(f, n, "load.profiles")) return;
    for (auto it = n.begin(); it != n.end(); ++it) {
        ProfileSpec p;
        p.name = it->first.Scalar();
        p.loc = f.loc(it->first);
        const YAML::Node body = it->second;
        if (!expect_map(f, body, fmt::format("profile '{}'", p.name))) continue;
        check_keys(f, body, "a profile", {"start-users", "end-users", "duration", "hold", "stages"});
        if (body["stages"]) {
            if (body["end-users"] || body["duration"])
                f.error(it->first, fmt::format("profile '{}' has both 'stages' and a ramp (end-users/duration)", p.name));
            if (body["start-users"]) p.start = static_cast<double>(uint_value(f, body["start-users"], "start-users").value_or(0));
            if (expect_seq(f, body["stages"], "stages")) {
                for (const auto& st : body["stages"]) {
                    if (!expect_map(f, st, "a stage")) continue;
                    check_keys(f, st, "a stage", {"duration", "target", "name"});
                    Stage stage;
                    if (!st["duration"] || !st["target"]) {
                        f.error(st, "a stage needs 'duration' and 'target' (users at its end)");
                        continue;
                    }
                    stage.duration_ms = duration(f, st["duration"], "duration").value_or(0);
                    stage.target = static_cast<double>(uint_value(f, st["target"], "target").value_or(0));
                    if (stage.duration_ms == 0) f.error(st["duration"], "a stage's duration must be positive");
                    p.stages.push_back(stage);
                }
            }
            if (p.stages.empty()) f.error(body, fmt::format("profile '{}' has no stages", p.name));
        } else {
            // The seeds' ramp: start-users -> end-users over duration (then `hold` at end-users).
            if (!body["end-users"] || !body["duration"]) {
                f.error(it->first, fmt::format("profile '{}' needs end-users and duration (or stages)", p.name));
                continue;
            }
            if (body["start-users"]) p.start = static_cast<double>(uint_value(f, body["start-users"], "start-users").value_or(0));
            Stage ramp;
            ramp.duration_ms = duration(f, body["duration"], "duration").value_or(0);
            ramp.target = static_cast<double>(uint_value(f, body["end-users"], "end-users").value_or(0));
            if (ramp.duration_ms == 0) f.error(body["duration"], "a ramp's duration must be positive");
            p.stages.push_back(ramp);
            if (body["hold"]) {
                Stage hold{duration(f, body["hold"], "hold").value_or(0), ramp.target};
                if (hold.duration_ms) p.stages.push_back(hold);
            }
        }
        cx.script.profiles.push_back(std::move(p));
    }
}

void parse_model(Compilation& cx, FileCtx& f, const YAML::Node& s, ScenarioSpec& sc) {
    if (s["profile"]) {
        auto name = scalar(f, s["profile"], "profile").value_or("");
        sc.profile = find_named(f, s["profile"], cx.script.profiles, name, "profile", "define it under load.profiles");
        if (s["user-count"]) f.error(s["user-count"], "user-count and profile exclude each other (the profile sets the users)");
    }
    if (!s["arrival-rate"]) {
        if (s["duration"])
            f.error(s["duration"], "'duration' belongs to the open model (with arrival-rate)",
                    "on a closed model, task-duration: each user repeats its workflow this long (k6's and Locust's "
                    "duration); max-duration ends the scenario");
        if (s["max-users"])
            f.error(s["max-users"], "'max-users' belongs to the open model (with arrival-rate)",
                    "on a closed model, user-count is the number of users");
        return;
    }
    sc.model = Model::open;
    const YAML::Node& r = s["arrival-rate"];
    if (r.IsMap()) {
        check_keys(f, r, "arrival-rate", {"from", "to"});
        if (!r["from"] || !r["to"]) f.error(r, "a ramping arrival-rate needs 'from' and 'to' (e.g. from: 100/s, to: 1000/s)");
        else {
            sc.arrival_rate = rate(f, r["from"], "arrival-rate.from").value_or(0);
            sc.arrival_rate_end = rate(f, r["to"], "arrival-rate.to").value_or(0);
        }
    } else {
        sc.arrival_rate = sc.arrival_rate_end = rate(f, r, "arrival-rate").value_or(0);
        if (sc.arrival_rate <= 0 && r.IsScalar()) f.error(r, "arrival-rate must be positive");
    }
    if (!s["duration"]) f.error(s, fmt::format("scenario '{}' with arrival-rate needs 'duration' (how long arrivals go on)", sc.name));
    else sc.duration_ms = duration(f, s["duration"], "duration").value_or(0);
    if (s["max-users"]) sc.max_users = uint_value(f, s["max-users"], "max-users").value_or(0);
    for (const char* key : {"user-count", "spawn-rate", "profile", "task-duration"})
        if (s[key]) f.error(s[key], fmt::format("'{}' belongs to the closed model; the open model starts users by arrival-rate", key));
}

}  // namespace ntx::dsl::passes
