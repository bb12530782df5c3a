// Variables: the save-as names of every action (collected before templates compile), their scopes, and the
// resolution of variable names in templates and expressions.
#include <algorithm>
#include <functional>

#include "dsl/passes.hpp"

namespace ntx::dsl::passes {

// A new variable slot, or the existing one of that name. Its scope is the first save-as's; an
// action that saves it with another scope is an error (parse_action reports it).
void add_variable(Compilation& cx, const std::string& name, VarScope scope) {
    if (std::find(cx.script.variables.begin(), cx.script.variables.end(), name) == cx.script.variables.end()) {
        cx.script.variables.push_back(name);
        cx.script.variable_scopes.push_back(scope);
    }
}

std::optional<std::string> save_as_name(FileCtx& f, const YAML::Node& s) {
    if (s.IsScalar()) return s.Scalar();
    if (s.IsMap()) {
        check_keys(f, s, "save-as", {"var", "name", "scope", "persist", "extract"});
        // `name` is accepted for `var` (k6 and Gatling users write it).
        if (s["var"] && s["name"]) f.error(s["name"], "save-as has both 'var' and 'name': they say the same, keep one");
        if (s["var"]) return scalar(f, s["var"], "save-as.var");
        if (s["name"]) return scalar(f, s["name"], "save-as.name");
        f.error(s, "save-as needs 'var' (the variable's name)");
        return std::nullopt;
    }
    f.error(s, "save-as must be a name or a map with 'var'");
    return std::nullopt;
}

std::optional<VarScope> save_as_scope(FileCtx& f, const YAML::Node& s) {
    if (!s.IsMap() || !s["scope"]) return VarScope::task;
    auto v = scalar(f, s["scope"], "save-as.scope");
    if (!v) return std::nullopt;
    if (*v == "task-local") return VarScope::task;
    if (*v == "user-local") return VarScope::user;
    if (*v == "global") return VarScope::global;
    if (*v == "workbook") return VarScope::workbook;
    auto guess = closest_match(*v, {"task-local", "user-local", "global", "workbook"});
    f.error(s["scope"], fmt::format("unknown save-as scope '{}'", *v),
            guess.empty() ? "task-local, user-local, global or workbook" : fmt::format("did you mean '{}'?", guess));
    return std::nullopt;
}

const char* scope_name(VarScope s) {
    switch (s) {
    case VarScope::task: return "task-local";
    case VarScope::user: return "user-local";
    case VarScope::global: return "global";
    case VarScope::workbook: return "workbook";
    }
    return "?";
}

void collect_variables(Compilation& cx, FileCtx& f, const YAML::Node& r) {
    std::vector<Diagnostic> scratch;  // errors are reported when the actions themselves are parsed
    FileCtx quiet{f.file, scratch};
    // Actions and inline steps, and the inline actions of their on-error / on-timeout lists.
    // One pass over each map's pairs: a yaml-cpp lookup by key is a linear scan that converts every
    // key it passes, so a handful of lookups per action dominated planning on large scripts.
    std::function<void(const YAML::Node&)> visit = [&](const YAML::Node& a) {
        if (!a.IsMap()) return;
        for (auto it = a.begin(); it != a.end(); ++it) {
            if (!it->first.IsScalar()) continue;
            const std::string& key = it->first.Scalar();
            const YAML::Node value = it->second;
            if (key == "save-as") {
                if (auto v = save_as_name(quiet, value))
                    add_variable(cx, *v, save_as_scope(quiet, value).value_or(VarScope::task));
            } else if (key == "on-error" || key == "on-timeout" || key == "then" || key == "else" || key == "steps" ||
                       key == "parallel") {
                if (value.IsSequence())
                    for (const auto& item : value) visit(item);
            } else if (key == "loop") {
                // loop: {over: [...], as: name}: the loop's item is a variable of its body.
                if (value.IsMap() && value["as"] && value["as"].IsScalar()) add_variable(cx, value["as"].Scalar());
            }
        }
    };
    if (r["actions"] && r["actions"].IsMap())
        for (auto it = r["actions"].begin(); it != r["actions"].end(); ++it) visit(it->second);
    if (r["workflows"] && r["workflows"].IsMap())
        for (auto it = r["workflows"].begin(); it != r["workflows"].end(); ++it) {
            if (!it->second.IsMap()) continue;
            if (it->second["nodes"] && it->second["nodes"].IsMap())
                for (auto n = it->second["nodes"].begin(); n != it->second["nodes"].end(); ++n) {
                    visit(n->second);
                    if (n->second.IsMap() && n->second["controls"] && n->second["controls"].IsMap() &&
                        n->second["controls"]["exec"])
                        visit(n->second["controls"]["exec"]);
                }
            visit(it->second);  // its steps, and its own on-error / on-timeout
        }
}

// Variable names to slots for templates and expressions. `global.<name>` names a variable saved
// with scope global (and only such a variable).
Template::VariableResolver resolver(Compilation& cx) {
    return [&cx](std::string_view name) -> std::optional<uint32_t> {
        if (name.starts_with("workbook.")) {
            // A scope-workbook variable's register holds its body: workbook.<var>.body names it too.
            auto id = cx.script.workbook.find(name.substr(9));
            if (!id && name.ends_with(".body")) id = cx.script.workbook.find(name.substr(9, name.size() - 9 - 5));
            return id;
        }
        if (name.rfind("resource.", 0) == 0) return kv_slot(cx, name);
        if (name.starts_with("env.")) return env_slot(cx, name.substr(4));
        if (name.starts_with("feature:")) {  // feature("name"): 1 on, 0 off (a constant; see Expression)
            for (const auto& [n, on] : cx.script.config.features)
                if (n == name.substr(8)) return on ? 1u : 0u;
            return std::nullopt;
        }
        bool global = name.starts_with("global.");
        if (global) name.remove_prefix(7);
        if (global) {
            // A static global (script.yaml `globals:`): a constant slot, made when a template first reads it.
            std::string_view g = name.substr(0, name.find('.'));
            if (auto it = cx.globals.find(std::string(g)); it != cx.globals.end()) {
                const std::string var = "global." + it->first;
                auto at = std::find(cx.script.variables.begin(), cx.script.variables.end(), var);
                if (at != cx.script.variables.end()) return static_cast<uint32_t>(at - cx.script.variables.begin());
                cx.script.variables.push_back(var);
                cx.script.variable_scopes.push_back(VarScope::task);
                auto slot = static_cast<uint32_t>(cx.script.variables.size() - 1);
                if (cx.script.constants.size() <= slot) cx.script.constants.resize(slot + 1);
                cx.script.constants[slot] = std::make_shared<Fields>(it->second);
                return slot;
            }
        }
        auto it = std::find(cx.script.variables.begin(), cx.script.variables.end(), name);
        if (it != cx.script.variables.end() && global &&
            cx.script.variable_scopes[static_cast<size_t>(it - cx.script.variables.begin())] != VarScope::global)
            return std::nullopt;
        if (it == cx.script.variables.end()) return std::nullopt;
        return static_cast<uint32_t>(it - cx.script.variables.begin());
    };
}

}  // namespace ntx::dsl::passes
