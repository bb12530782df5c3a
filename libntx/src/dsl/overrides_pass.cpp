// What the command line changes without editing the script (ntx/overrides.hpp): env.<KEY> values,
// and --scenario / --users / --rate / --duration applied to the compiled scenarios. docs/dsl.md#overrides
// is the table this file implements; a combination the table refuses is a planning error at the
// scenario it does not fit.
#include <algorithm>
#include <cstdlib>

#include "dsl/passes.hpp"

namespace ntx::dsl::passes {

namespace {

void note(Compilation& cx, std::string name, std::string value, std::string source) {
    for (const auto& o : cx.script.overrides_used)
        if (o.name == name) return;
    cx.script.overrides_used.push_back({std::move(name), std::move(value), std::move(source)});
}

std::string format_rate(double r) { return fmt::format("{}/s", r); }
std::string format_ms(uint64_t ms) { return ms % 1000 ? fmt::format("{}ms", ms) : fmt::format("{}s", ms / 1000); }

}  // namespace

std::optional<uint32_t> env_slot(Compilation& cx, std::string_view key) {
    const std::string var = fmt::format("env.{}", key);
    auto it = std::find(cx.script.variables.begin(), cx.script.variables.end(), var);
    if (it != cx.script.variables.end()) return static_cast<uint32_t>(it - cx.script.variables.begin());
    std::optional<std::string> value;
    std::string source;
    // The last -e KEY=VALUE of a key wins (as later options do on a command line).
    for (const auto& [k, v] : cx.overrides->env)
        if (k == key) {
            value = v;
            source = "-e";
        }
    if (!value && cx.overrides->process_environment) {
        const std::string k(key);
        if (const char* v = std::getenv(k.c_str())) {
            value = v;
            source = "environment";
        }
    }
    if (!value) return std::nullopt;
    cx.script.variables.push_back(var);
    cx.script.variable_scopes.push_back(VarScope::task);
    auto slot = static_cast<uint32_t>(cx.script.variables.size() - 1);
    if (cx.script.constants.size() <= slot) cx.script.constants.resize(slot + 1);
    cx.script.constants[slot] = std::make_shared<Fields>(Fields{{"body", *value}});
    note(cx, var, *value, source);
    return slot;
}

void apply_overrides(Compilation& cx, FileCtx& f, const YAML::Node& root) {
    const Overrides& o = *cx.overrides;
    // -e values the script never reads are listed too: a typo in a key shows in the summary.
    for (const auto& [k, v] : o.env) {
        const std::string var = "env." + k;
        if (std::find(cx.script.variables.begin(), cx.script.variables.end(), var) == cx.script.variables.end())
            note(cx, var, v, "-e (not read by the script)");
    }
    auto& scenarios = cx.script.scenarios;
    if (scenarios.empty()) return;  // no load section (reported already)
    const YAML::Node load = root["load"] && root["load"].IsMap() && root["load"]["scenarios"] ? root["load"]["scenarios"] : root;
    if (!o.scenarios.empty()) {
        std::vector<std::string_view> names;
        names.reserve(scenarios.size());
        for (const auto& s : scenarios) names.push_back(s.name);
        bool all_known = true;
        for (const auto& want : o.scenarios) {
            if (std::find(names.begin(), names.end(), want) != names.end()) continue;
            all_known = false;
            auto guess = closest_match(want, names);
            std::vector<std::string> listed(names.begin(), names.end());
            f.error(load, fmt::format("--scenario '{}': the script has no scenario of that name", want),
                    guess.empty() ? fmt::format("its scenarios are: {}", fmt::join(listed, ", "))
                                  : fmt::format("did you mean '{}'?", guess));
        }
        if (!all_known) return;
        std::erase_if(scenarios, [&](const ScenarioSpec& s) {
            return std::find(o.scenarios.begin(), o.scenarios.end(), s.name) == o.scenarios.end();
        });
        // A threshold on a scenario that does not run has nothing to measure: it goes with it.
        std::erase_if(cx.script.thresholds, [&](const Threshold& t) {
            return t.scope == Threshold::Scope::scenario &&
                   std::none_of(scenarios.begin(), scenarios.end(), [&](const ScenarioSpec& s) { return s.name == t.target; });
        });
        std::vector<std::string> kept;
        kept.reserve(scenarios.size());
        for (const auto& s : scenarios) kept.push_back(s.name);
        note(cx, "scenario", fmt::format("{}", fmt::join(kept, ",")), "--scenario");
    }
    auto refuse = [&](const ScenarioSpec& s, std::string_view option, std::string_view what, const std::string& hint) {
        cx.out.push_back({s.loc.file, s.loc.line, s.loc.column,
                          fmt::format("{} {}, but scenario '{}' is {}", option, what, s.name,
                                      s.model == Model::open ? "open (arrival-rate)"
                                      : s.profile            ? "driven by a profile"
                                                             : "closed (user-count)"),
                          scenarios.size() > 1 ? hint + "; --scenario NAME runs only the scenarios you name" : hint});
    };
    for (auto& s : scenarios) {
        const bool open = s.model == Model::open, profile = !open && s.profile.has_value();
        if (o.users) {
            if (open)
                refuse(s, "--users", "sets a closed scenario's user-count", "size an open scenario with --rate");
            else if (profile)
                refuse(s, "--users", "sets a closed scenario's user-count", "its profile's stages set the users over time");
            else
                s.user_count = *o.users;
        }
        if (o.rate) {
            if (!open)
                refuse(s, "--rate", "sets an open scenario's arrival-rate", "size a closed scenario with --users");
            else
                s.arrival_rate = s.arrival_rate_end = *o.rate;
        }
        if (o.duration_ms) {
            if (profile)
                refuse(s, "--duration", "sets a closed scenario's task-duration or an open scenario's duration",
                       "its profile's stages set how long it runs");
            else if (open)
                s.duration_ms = *o.duration_ms;
            else
                s.task_duration_ms = *o.duration_ms;
        }
    }
    if (o.users) note(cx, "users", std::to_string(*o.users), "--users");
    if (o.rate) note(cx, "rate", format_rate(*o.rate), "--rate");
    if (o.duration_ms) note(cx, "duration", format_ms(*o.duration_ms), "--duration");
}

}  // namespace ntx::dsl::passes
