// actions: named and inline, their execution controls (timeout, rate-limit, retry) and handlers (on-error,
// on-timeout), and the plain step kinds a workflow and a handler share.
#include <algorithm>

#include "dsl/passes.hpp"

namespace ntx::dsl::passes {

void parse_actions(Compilation& cx, FileCtx& f, const YAML::Node& n) {
    if (!expect_map(f, n, "actions")) return;
    for (auto it = n.begin(); it != n.end(); ++it) {
        std::string name = it->first.Scalar();
        if (!expect_map(f, it->second, fmt::format("action '{}'", name))) continue;
        if (auto spec = parse_action_body(cx, f, it->second, name, it->first, false)) {
            cx.named_actions[name] = static_cast<uint32_t>(cx.script.actions.size());
            cx.script.actions.push_back(std::move(*spec));
        } else {
            cx.named_actions[name] = UINT32_MAX;  // known name, broken body: no dangling-ref error on top
        }
    }
}

// An action: either a named entry of `actions` or an inline step (`action: comp.call`).
std::optional<ActionSpec> parse_action_body(Compilation& cx, FileCtx& f, const YAML::Node& a, const std::string& name,
                                             const YAML::Node& name_node, bool inline_step) {
    ActionSpec spec;
    spec.name = name;
    spec.loc = f.loc(name_node);
    std::string component_name;
    if (inline_step) {
        check_keys(f, a, "an inline action step",
                   {"action", "with", "save-as", "timeout", "rate-limit", "retry", "on-error", "on-timeout", "name"});
        auto target = scalar(f, a["action"], "action").value_or("");
        auto dot = target.find('.');
        if (dot == std::string::npos) {
            f.error(a["action"], fmt::format("'{}' must be component.call, e.g. http.get", target));
            return std::nullopt;
        }
        component_name = target.substr(0, dot);
        spec.call = target.substr(dot + 1);
        spec.call_loc = f.loc(a["action"]);
    } else {
        check_keys(f, a, "an action",
                   {"component", "call", "with", "save-as", "timeout", "rate-limit", "retry", "on-error", "on-timeout"});
        if (!a["component"]) f.error(name_node, fmt::format("action '{}' has no 'component'", name));
        else component_name = scalar(f, a["component"], "component").value_or("");
        if (!a["call"]) f.error(name_node, fmt::format("action '{}' has no 'call'", name));
        else {
            spec.call = scalar(f, a["call"], "call").value_or("");
            spec.call_loc = f.loc(a["call"]);
        }
    }
    const YAML::Node& comp_node = inline_step ? a["action"] : a["component"];
    auto comp = std::find_if(cx.script.components.begin(), cx.script.components.end(),
                             [&](const ComponentSpec& c) { return c.name == component_name; });
    if (comp == cx.script.components.end()) {
        if (!component_name.empty()) {
            std::vector<std::string_view> names;
            for (const auto& c : cx.script.components) names.push_back(c.name);
            auto guess = closest_match(component_name, names);
            std::string hint = guess.empty() ? "" : fmt::format("did you mean '{}'?", guess);
            // `action: log.error` (as in the design notes) means a log line, which is a step of its own.
            if (component_name == "log" && guess.empty()) {
                static constexpr std::string_view levels[] = {"trace", "debug", "info", "warn", "error"};
                bool level = std::find(std::begin(levels), std::end(levels), spec.call) != std::end(levels);
                hint = fmt::format("a log line is a step of its own: `- log: \"<message>\"`{}",
                                   level ? fmt::format(" with `level: {}`", spec.call) : "");
            }
            f.error(comp_node, fmt::format("unknown component '{}'", component_name), std::move(hint));
        }
        return std::nullopt;
    }
    spec.component = static_cast<uint32_t>(comp - cx.script.components.begin());
    if (comp->builtin) f.error(comp_node, fmt::format("component '{}' is built in and has no actions", comp->name));
    if (!comp->declared_capabilities.empty() && !spec.call.empty() &&
        std::find(comp->declared_capabilities.begin(), comp->declared_capabilities.end(), spec.call) ==
            comp->declared_capabilities.end())
        f.error(inline_step ? a["action"] : a["call"],
                fmt::format("call '{}' is not among the capabilities component '{}' declares", spec.call, comp->name));
    if (a["with"]) {
        if (expect_map(f, a["with"], "with")) {
            std::vector<std::pair<std::string, YAML::Node>> flat;
            flatten(a["with"], "", flat);
            for (auto& [key, node] : flat) {
                if (!node.IsScalar()) {
                    f.error(node, fmt::format("with.{} must be a scalar or a map, found {}", key, type_name(node)));
                    continue;
                }
                std::string err;
                size_t offset = 0;
                auto t = Template::compile(node.Scalar(), resolver(cx), err, offset);
                if (!t) {
                    auto m = node.Mark();
                    // Point inside the scalar when it sits on one line (quoted scalars start one later).
                    int quote = node.Tag() == "!" ? 1 : 0;
                    if (!m.is_null() && node.Scalar().find('\n') == std::string::npos) m.column += static_cast<int>(offset) + quote;
                    f.error(m, err);
                    continue;
                }
                spec.with.emplace_back(key, std::move(*t));
                spec.with_locs.push_back(f.loc(node));
            }
        }
    }
    if (a["save-as"]) {
        const YAML::Node sa = a["save-as"];
        if (auto v = save_as_name(f, sa)) {
            auto it = std::find(cx.script.variables.begin(), cx.script.variables.end(), *v);
            spec.save_slot = static_cast<uint32_t>(it - cx.script.variables.begin());
            auto scope = save_as_scope(f, sa);
            if (scope && *scope != cx.script.variable_scopes[*spec.save_slot])
                f.error(sa.IsMap() && sa["scope"] ? sa["scope"] : sa,
                        fmt::format("'{}' is saved here with scope {}, but another action saves it with scope {}",
                                    *v, scope_name(*scope), scope_name(cx.script.variable_scopes[*spec.save_slot])),
                        "a variable has one scope: rename one of them");
        }
        if (sa.IsMap() && sa["persist"]) spec.persist = parse_persist(cx, f, sa["persist"]);
    }
    parse_exec(cx, f, a, spec, name);
    return spec;
}

// The execution controls of an action (its own keys, or a graph node's controls.exec).
void parse_exec(Compilation& cx, FileCtx& f, const YAML::Node& a, ActionSpec& spec, const std::string& name) {
    if (a["timeout"]) spec.timeout_ms = duration(f, a["timeout"], "timeout").value_or(0);
    if (a["rate-limit"] && expect_map(f, a["rate-limit"], "rate-limit")) {
        check_keys(f, a["rate-limit"], "rate-limit", {"per-user"});
        if (a["rate-limit"]["per-user"]) {
            spec.rate_per_user = rate(f, a["rate-limit"]["per-user"], "rate-limit.per-user").value_or(0);
            if (spec.rate_per_user <= 0 && a["rate-limit"]["per-user"].IsScalar())
                f.error(a["rate-limit"]["per-user"], "rate-limit.per-user must be positive");
        } else {
            f.error(a["rate-limit"], "rate-limit needs per-user (e.g. per-user: 50 req/s)");
        }
    }
    if (a["retry"])
        parse_retry(f, a["retry"], "retry", spec.retry_max, spec.retry_backoff_ms, spec.retry_backoff_max_ms);
    for (const char* key : {"on-error", "on-timeout"}) {
        if (!a[key]) continue;
        auto h = std::make_shared<Handler>();
        parse_handler(cx, f, a[key], *h, key == std::string_view("on-timeout"), fmt::format("{}.{}", name, key));
        (key == std::string_view("on-error") ? spec.on_error : spec.on_timeout) = std::move(h);
    }
}

std::shared_ptr<const PersistSpec> parse_persist(Compilation& cx, FileCtx& f, const YAML::Node& p) {
    if (!expect_map(f, p, "persist")) return nullptr;
    check_keys(f, p, "persist", {"type", "dir", "filename"});
    auto spec = std::make_shared<PersistSpec>();
    spec->loc = f.loc(p);
    if (p["type"]) {
        auto t = scalar(f, p["type"], "persist.type");
        if (t && *t != "file") f.error(p["type"], fmt::format("unknown persist type '{}'", *t), "file");
    }
    if (!p["dir"]) f.error(p, "persist needs 'dir' (the folder the files go to)");
    else if (auto d = scalar(f, p["dir"], "persist.dir")) {
        spec->dir = *d;
        // Persist files stay inside the run's --out folder: no absolute folder, no way up.
        bool up = false;
        for (const auto& part : spec->dir) up = up || part == "..";
        if (spec->dir.is_absolute() || up)
            f.error(p["dir"], fmt::format("persist.dir '{}' leaves the run's --out folder", *d),
                    "a folder relative to --out, without '..'");
    }
    if (!p["filename"]) {
        f.error(p, "persist needs 'filename' (a template, e.g. \"{{env.user_id}}-asset.json\")");
    } else if (auto fn = scalar(f, p["filename"], "persist.filename")) {
        std::string err;
        size_t offset = 0;
        auto t = Template::compile(*fn, resolver(cx), err, offset);
        if (!t) f.error(p["filename"], err);
        else spec->filename = std::move(*t);
    }
    return spec;
}

// retry: {max, backoff} where backoff is a duration or {initial, max}.
void parse_retry(FileCtx& f, const YAML::Node& r, std::string_view where, uint32_t& max, uint64_t& backoff,
                 uint64_t& backoff_max) {
    if (!expect_map(f, r, where)) return;
    check_keys(f, r, where, {"max", "backoff"});
    if (r["max"]) max = static_cast<uint32_t>(uint_value(f, r["max"], fmt::format("{}.max", where)).value_or(0));
    else f.error(r, fmt::format("{} needs max (attempts after a failed one)", where));
    backoff = 100;
    if (!r["backoff"]) return;
    if (r["backoff"].IsMap()) {
        check_keys(f, r["backoff"], fmt::format("{}.backoff", where), {"initial", "max"});
        if (r["backoff"]["initial"]) backoff = duration(f, r["backoff"]["initial"], "backoff.initial").value_or(100);
        if (r["backoff"]["max"]) backoff_max = duration(f, r["backoff"]["max"], "backoff.max").value_or(0);
    } else {
        backoff = duration(f, r["backoff"], fmt::format("{}.backoff", where)).value_or(100);
    }
}

// on-error / on-timeout: a list of entries run in order when an action fails or times out:
// `retry` (first), steps (ref, action, log, think), then at most one of `goto` / `stop` (last).
void parse_handler(Compilation& cx, FileCtx& f, const YAML::Node& n, Handler& h, bool timeout, const std::string& where) {
    h.route = timeout ? Route::timeout_out : Route::error_out;
    if (!expect_seq(f, n, where)) return;
    h.set = true;
    h.loc = f.loc(n);
    const YAML::Node* routed = nullptr;
    size_t index = 0;
    for (const auto& item : n) {
        ++index;
        if (!expect_map(f, item, fmt::format("an entry of {}", where))) continue;
        if (routed) {
            f.error(item, fmt::format("this entry of {} can never run: the entry before it ends the handler", where),
                    "goto and stop come last");
            continue;
        }
        if (item["name"]) f.error(item["name"], fmt::format("'name' is for workflow steps (goto targets), not for an entry of {}", where));
        if (item["retry"]) {
            check_keys(f, item, fmt::format("a retry entry of {}", where), {"retry"});
            if (!h.steps.empty())
                f.error(item, fmt::format("retry must be the first entry of {}", where),
                        "it re-runs the failed step before the handler's steps run");
            parse_retry(f, item["retry"], "retry", h.retry_max, h.retry_backoff_ms, h.retry_backoff_max_ms);
        } else if (item["goto"]) {
            check_keys(f, item, fmt::format("a goto entry of {}", where), {"goto"});
            routed = &item;
            auto target = scalar(f, item["goto"], "goto").value_or("");
            static const std::vector<std::pair<std::string_view, Route>> targets{
                {"error_out", Route::error_out},         {"timeout_out", Route::timeout_out},
                {"closing", Route::closing},             {"monitoring.retry", Route::task_retry},
                {"closing.rollback", Route::rollback},   {"next", Route::next}};
            auto found = std::find_if(targets.begin(), targets.end(), [&](const auto& t) { return t.first == target; });
            if (found == targets.end()) {
                std::vector<std::string_view> names;
                for (const auto& t : targets) names.push_back(t.first);
                auto guess = closest_match(target, names);
                f.error(item["goto"], fmt::format("unknown goto target '{}' in {}", target, where),
                        guess.empty() ? "one of error_out, timeout_out, closing, monitoring.retry, closing.rollback, next"
                                      : fmt::format("did you mean '{}'?", guess));
                continue;
            }
            h.route = found->second;
            h.routed = true;
            if (h.route == Route::task_retry && !cx.script.task_retry.set)
                f.error(item["goto"], "goto: monitoring.retry needs a retry policy",
                        "add monitoring: {retry: {max: 2, backoff: 100ms}} to script.yaml");
        } else if (item["stop"]) {
            check_keys(f, item, fmt::format("a stop entry of {}", where), {"stop"});
            routed = &item;
            auto what = scalar(f, item["stop"], "stop").value_or("");
            if (what != "user") f.error(item["stop"], fmt::format("unknown stop target '{}'", what), "stop: user");
            else {
                h.route = Route::stop_user;
                h.routed = true;
            }
        } else if (!parse_plain_step(cx, f, item, fmt::format("{}[{}]", where, index), h.steps)) {
            check_keys(f, item, fmt::format("an entry of {}", where),
                       {"retry", "goto", "stop", "ref", "action", "log", "think", "update-workbook"});
            if (item.size() == 0) f.error(item, "empty entry");
        }
    }
}

// The step kinds a workflow and a handler share: ref, inline action, think, log. Appends to `out`
// and returns true when `step` is one of them (problems are reported, nothing is appended then).
bool parse_plain_step(Compilation& cx, FileCtx& f, const YAML::Node& step, const std::string& inline_name, std::vector<Step>& out) {
    if (step["ref"]) {
        check_keys(f, step, "a ref step", {"ref", "name"});
        auto name = scalar(f, step["ref"], "ref").value_or("");
        auto found = cx.named_actions.find(name);
        if (found == cx.named_actions.end()) {
            std::vector<std::string_view> names;
            for (const auto& [k, v] : cx.named_actions) names.push_back(k);
            auto guess = closest_match(name, names);
            f.error(step["ref"], fmt::format("unknown action '{}'", name),
                    guess.empty() ? "" : fmt::format("did you mean '{}'?", guess));
        } else if (found->second != UINT32_MAX) {
            Step st = Step::of_action(found->second);
            st.loc = f.loc(step["ref"]);
            out.push_back(std::move(st));
        }
        return true;
    }
    if (step["action"]) {
        if (auto spec = parse_action_body(cx, f, step, inline_name, step["action"], true)) {
            Step st = Step::of_action(static_cast<uint32_t>(cx.script.actions.size()));
            st.loc = f.loc(step["action"]);
            out.push_back(std::move(st));
            cx.script.actions.push_back(std::move(*spec));
        }
        return true;
    }
    if (step["update-workbook"]) {
        check_keys(f, step, "an update-workbook step", {"update-workbook", "name"});
        Step st;
        st.kind = Step::Kind::update_workbook;
        st.loc = f.loc(step["update-workbook"]);
        parse_workbook_updates(cx, f, step["update-workbook"], st);
        out.push_back(std::move(st));
        return true;
    }
    if (step["think"]) {
        check_keys(f, step, "a think step", {"think", "name"});
        Step st;
        st.kind = Step::Kind::think;
        st.loc = f.loc(step["think"]);
        st.think_ms = duration(f, step["think"], "think").value_or(0);
        out.push_back(std::move(st));
        return true;
    }
    if (step["log"]) {
        check_keys(f, step, "a log step", {"log", "level", "name"});
        Step st;
        st.kind = Step::Kind::log;
        st.loc = f.loc(step["log"]);
        if (auto text = scalar(f, step["log"], "log")) {
            std::string err;
            size_t offset = 0;
            if (auto t = Template::compile(*text, resolver(cx), err, offset)) st.message = std::move(*t);
            else f.error(step["log"], err);
        }
        if (step["level"]) {
            st.level = scalar(f, step["level"], "level").value_or("info");
            static const std::vector<std::string_view> levels{"trace", "debug", "info", "warn", "error"};
            if (std::find(levels.begin(), levels.end(), st.level) == levels.end())
                f.error(step["level"], fmt::format("unknown log level '{}'", st.level),
                        "one of trace, debug, info, warn, error");
        }
        out.push_back(std::move(st));
        return true;
    }
    return false;
}

}  // namespace ntx::dsl::passes
