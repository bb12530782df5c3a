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
                   {"action", "with", "save-as", "timeout", "rate-limit", "retry", "on-error", "on-timeout", "name", "check",
                    "check-fails-action", "expect-status"});
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
                   {"component", "call", "with", "save-as", "timeout", "rate-limit", "retry", "on-error", "on-timeout", "check",
                    "check-fails-action", "expect-status"});
        if (a["component"]) component_name = scalar(f, a["component"], "component").value_or("");
        if (!a["call"]) f.error(name_node, fmt::format("action '{}' has no 'call'", name));
        else {
            spec.call = scalar(f, a["call"], "call").value_or("");
            spec.call_loc = f.loc(a["call"]);
        }
        // `call: http.get` without `component`: the component is the part before the dot.
        if (!a["component"] && a["call"]) {
            auto dot = spec.call.find('.');
            if (dot == std::string::npos || dot == 0 || dot + 1 == spec.call.size()) {
                f.error(name_node, fmt::format("action '{}' has no 'component'", name),
                        fmt::format("write `component: http` and `call: {}`, or `call: http.{}`", spec.call, spec.call));
            } else {
                component_name = spec.call.substr(0, dot);
                spec.call = spec.call.substr(dot + 1);
            }
        }
    }
    const YAML::Node& comp_node = inline_step ? a["action"] : a["component"] ? a["component"] : a["call"];
    // A shipped protocol (http, ftp) needs no component block: the first use declares it.
    implicit_component(cx, f, component_name, comp_node);
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
                    spec.with_broken = true;
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
        if (sa.IsMap() && sa["extract"]) parse_extracts(f, sa["extract"], spec.extracts);
    }
    parse_checks(cx, f, a, spec);
    parse_exec(cx, f, a, spec, name);
    return spec;
}

// check: a list of conditions over the action's result and the variables; expect-status: the
// statuses that count as success; check-fails-action: whether a failed check fails the action.
void parse_checks(Compilation& cx, FileCtx& f, const YAML::Node& a, ActionSpec& spec) {
    if (a["check"]) {
        // A check reads the action's own result by its field names, and any variable as elsewhere.
        auto base = resolver(cx);
        Template::VariableResolver resolve = [base](std::string_view name) -> std::optional<uint32_t> {
            if (name.starts_with("@result.")) {
                static constexpr std::string_view roots[] = {"status", "reason", "body", "headers", "time"};
                for (auto r : roots)
                    if (name.substr(8) == r) return kResultSlot;
                return std::nullopt;
            }
            return base(name);
        };
        const YAML::Node list = a["check"];
        std::vector<YAML::Node> items;
        if (list.IsScalar()) items.push_back(list);
        else if (expect_seq(f, list, "check"))
            for (const auto& c : list) items.push_back(c);
        for (const auto& c : items) {
            auto text = scalar(f, c, "a check");
            if (!text) continue;
            std::string err;
            size_t offset = 0;
            auto e = Expression::compile(*text, resolve, err, offset);
            if (!e) {
                auto m = c.Mark();
                int quote = c.Tag() == "!" ? 1 : 0;
                if (!m.is_null() && text->find('\n') == std::string::npos) m.column += static_cast<int>(offset) + quote;
                f.error(m, fmt::format("check '{}': {}", *text, err),
                        "a condition such as status == 200, contains(body, \"ok\") or login.token != \"\"");
                continue;
            }
            spec.checks.push_back({std::move(*e), f.loc(c)});
        }
    }
    if (a["check-fails-action"]) {
        spec.check_fails_action = bool_value(f, a["check-fails-action"], "check-fails-action").value_or(false);
        if (!a["check"]) f.error(a["check-fails-action"], "check-fails-action without a check list", "add check: [...]");
    }
    if (a["expect-status"]) {
        const YAML::Node es = a["expect-status"];
        std::vector<YAML::Node> items;
        if (es.IsScalar()) items.push_back(es);
        else if (expect_seq(f, es, "expect-status"))
            for (const auto& c : es) items.push_back(c);
        for (const auto& c : items) {
            auto v = uint_value(f, c, "expect-status");
            if (!v) continue;
            if (*v < 100 || *v > 599) f.error(c, fmt::format("expect-status {} is not a status (100..599)", *v));
            else spec.expect_status.push_back(static_cast<uint32_t>(*v));
        }
        if (items.empty()) f.error(es, "expect-status is empty", "e.g. expect-status: [200, 201, 404]");
    }
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

// save-as extract: {name: {json: /ptr} | {header: NAME[, regex: RE]} | {regex: RE}, [default: V]}.
// Every pointer and pattern is compiled here; each bad one is reported at its place.
void parse_extracts(FileCtx& f, const YAML::Node& n, std::vector<ExtractSpec>& out) {
    if (!expect_map(f, n, "save-as.extract")) return;
    for (auto it = n.begin(); it != n.end(); ++it) {
        const std::string name = it->first.Scalar();
        const YAML::Node e = it->second;
        const std::string where = fmt::format("save-as.extract.{}", name);
        bool name_ok = !name.empty() && ((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z') || name[0] == '_');
        for (char c : name)
            name_ok = name_ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-');
        if (!name_ok) f.error(it->first, fmt::format("'{}' is not a valid extract name", name), "letters, digits, '_' and '-', starting with a letter");
        if (std::any_of(out.begin(), out.end(), [&](const ExtractSpec& x) { return x.name == name; }))
            f.error(it->first, fmt::format("extract '{}' is given twice", name));
        if (!expect_map(f, e, where)) continue;
        check_keys(f, e, where, {"json", "header", "regex", "default"});
        ExtractSpec x;
        x.name = name;
        auto loc = f.loc(e);
        x.file = loc.file;
        x.line = loc.line;
        x.column = loc.column;
        // Errors inside a one-line scalar point at the offending character (quoted scalars start one later).
        auto error_in = [&](const YAML::Node& node, size_t offset, std::string message) {
            auto m = node.Mark();
            int quote = node.Tag() == "!" ? 1 : 0;
            if (!m.is_null() && node.Scalar().find('\n') == std::string::npos) m.column += static_cast<int>(offset) + quote;
            f.error(m, std::move(message));
        };
        bool ok = true;
        if (e["json"]) {
            if (e["header"] || e["regex"]) {
                f.error(e, fmt::format("{}: json takes no header or regex", where), "one of {json: /ptr}, {header: NAME, regex: RE}, {regex: RE}");
                ok = false;
            }
            x.source = ExtractSpec::Source::json;
            if (auto text = scalar(f, e["json"], fmt::format("{}.json", where))) {
                std::string err;
                size_t at = 0;
                if (auto p = compile_json_pointer(*text, err, at)) x.pointer = std::move(*p);
                else {
                    error_in(e["json"], at, err);
                    ok = false;
                }
                x.written = fmt::format("{{json: {}}}", *text);
            } else {
                ok = false;
            }
        } else if (e["header"]) {
            x.source = ExtractSpec::Source::header;
            if (auto h = scalar(f, e["header"], fmt::format("{}.header", where))) {
                if (h->empty()) {
                    f.error(e["header"], fmt::format("{}.header is empty", where));
                    ok = false;
                }
                x.header_field = "headers.";
                for (char c : *h) x.header_field += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
                x.written = fmt::format("{{header: {}}}", *h);
            } else {
                ok = false;
            }
        } else if (e["regex"]) {
            x.source = ExtractSpec::Source::body;
            x.written = "{regex}";
        } else {
            f.error(e, fmt::format("{} says nothing to extract", where),
                    "one of {json: /ptr}, {header: NAME, regex: RE}, {regex: RE}");
            ok = false;
        }
        if (e["regex"] && x.source != ExtractSpec::Source::json) {  // (json with a regex is reported above)
            if (auto pattern = scalar(f, e["regex"], fmt::format("{}.regex", where))) {
                std::string err;
                size_t at = 0;
                x.regex = compile_regex(*pattern, err, at);
                if (!x.regex) {
                    error_in(e["regex"], at, err);
                    ok = false;
                }
                if (x.source == ExtractSpec::Source::body) x.written = fmt::format("{{regex: {}}}", *pattern);
                else x.written = fmt::format("{{header: {}, regex: {}}}", x.header_field.substr(8), *pattern);
            } else {
                ok = false;
            }
        }
        if (e["default"]) {
            if (auto d = scalar(f, e["default"], fmt::format("{}.default", where))) x.default_value = std::move(*d);
        }
        if (ok) out.push_back(std::move(x));
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

// think: a duration, or {uniform: [min, max]} | {normal: {mean, stddev}} | {exponential: {mean}}.
void parse_think(FileCtx& f, const YAML::Node& n, Step& st) {
    using Think = Step::Think;
    if (!n.IsMap()) {
        st.think_ms = duration(f, n, "think").value_or(0);
        return;
    }
    check_keys(f, n, "think", {"uniform", "normal", "exponential"});
    if (n.size() != 1) {
        f.error(n, "think takes one distribution", "{uniform: [1s, 3s]}, {normal: {mean: 2s, stddev: 500ms}} or {exponential: {mean: 2s}}");
        return;
    }
    if (const YAML::Node u = n["uniform"]) {
        st.think = Think::uniform;
        if (!u.IsSequence() || u.size() != 2) {
            f.error(u, "think.uniform takes [min, max], e.g. [1s, 3s]");
            return;
        }
        st.think_ms = duration(f, u[0], "think.uniform min").value_or(0);
        st.think_max_ms = duration(f, u[1], "think.uniform max").value_or(0);
        if (st.think_max_ms < st.think_ms) f.error(u, "think.uniform: max is below min");
    } else if (const YAML::Node m = n["normal"]) {
        st.think = Think::normal;
        if (!expect_map(f, m, "think.normal")) return;
        check_keys(f, m, "think.normal", {"mean", "stddev"});
        if (!m["mean"] || !m["stddev"]) f.error(m, "think.normal needs mean and stddev, e.g. {mean: 2s, stddev: 500ms}");
        if (m["mean"]) st.think_ms = duration(f, m["mean"], "think.normal.mean").value_or(0);
        if (m["stddev"]) st.think_stddev_ms = duration(f, m["stddev"], "think.normal.stddev").value_or(0);
    } else if (const YAML::Node e = n["exponential"]) {
        st.think = Think::exponential;
        if (!expect_map(f, e, "think.exponential")) return;
        check_keys(f, e, "think.exponential", {"mean"});
        if (!e["mean"]) f.error(e, "think.exponential needs mean, e.g. {mean: 2s}");
        else st.think_ms = duration(f, e["mean"], "think.exponential.mean").value_or(0);
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
        // An inline step's `name` also names its row in the report (else its place: w[2]).
        const std::string row = step["name"] && step["name"].IsScalar() && !step["name"].Scalar().empty()
                                    ? step["name"].Scalar() : inline_name;
        if (auto spec = parse_action_body(cx, f, step, row, step["action"], true)) {
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
        parse_think(f, step["think"], st);
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
