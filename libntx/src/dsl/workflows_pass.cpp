// workflows: `steps` lists compiled to flat steps (if, loop, goto, parallel as branches and jumps).
#include <algorithm>

#include "dsl/passes.hpp"

namespace ntx::dsl::passes {

void parse_workflows(Compilation& cx, FileCtx& f, const YAML::Node& n) {
    if (!expect_map(f, n, "workflows")) return;
    for (auto it = n.begin(); it != n.end(); ++it) {
        WorkflowSpec wf;
        wf.name = it->first.Scalar();
        wf.loc = f.loc(it->first);
        const YAML::Node w = it->second;
        if (!expect_map(f, w, fmt::format("workflow '{}'", wf.name))) continue;
        std::vector<std::string> titles;  // its steps' names in the variable graph's paths
        check_keys(f, w, "a workflow", {"steps", "nodes", "start", "timeout", "on-error", "on-timeout", "wbs-level"});
        if (w["wbs-level"]) {
            // The seeds' WBS: L0 program, L1 protocol, L2 scenario, L3 workflow, L4 task, L5 action. A
            // workflow is L3 wherever it is declared: the key states it, and any other level is an error.
            auto v = scalar(f, w["wbs-level"], "wbs-level");
            if (v && *v != "L3" && *v != "l3" && *v != "3")
                f.error(w["wbs-level"], fmt::format("workflow '{}' is at WBS level L3, not '{}'", wf.name, *v),
                        "the WBS levels: L0 program, L1 protocol, L2 scenario, L3 workflow, L4 task, L5 action; "
                        "write wbs-level: L3 or leave it out");
        }
        if (w["timeout"]) wf.timeout_ms = duration(f, w["timeout"], "timeout").value_or(0);
        wf.on_timeout.route = Route::timeout_out;
        if (w["on-error"]) parse_handler(cx, f, w["on-error"], wf.on_error, false, wf.name + ".on-error");
        if (w["on-timeout"]) parse_handler(cx, f, w["on-timeout"], wf.on_timeout, true, wf.name + ".on-timeout");
        if (w["start"] && !w["nodes"]) f.error(w["start"], "'start' names the first node of a graph workflow ('nodes')");
        if (w["nodes"]) {
            if (w["steps"]) f.error(w["nodes"], "a workflow has either 'steps' or 'nodes', not both");
            else parse_nodes(cx, f, w, wf);
        } else if (!w["steps"]) {
            f.error(it->first, fmt::format("workflow '{}' has no 'steps' (or 'nodes')", wf.name));
        } else if (expect_seq(f, w["steps"], "steps")) {
            StepLabels labels;
            parse_steps(cx, f, w["steps"], wf.name, wf, labels);
            resolve_gotos(f, wf, labels);
            if (w["steps"].size() == 0) f.error(w["steps"], fmt::format("workflow '{}' has no steps", wf.name));
            titles = std::move(labels.titles);
        }
        cx.workflow_titles.push_back(std::move(titles));
        cx.script.workflows.push_back(std::move(wf));
    }
}

// A condition: an expression, written bare or inside one {{...}}.
std::shared_ptr<const Expression> condition(Compilation& cx, FileCtx& f, const YAML::Node& n, std::string_view what) {
    auto text = scalar(f, n, what);
    if (!text) return nullptr;
    std::string_view t = *text;
    size_t lead = 0;
    while (lead < t.size() && t[lead] == ' ') ++lead;
    std::string_view body = t.substr(lead);
    size_t shift = lead;
    if (body.size() >= 4 && body.substr(0, 2) == "{{" && body.substr(body.size() - 2) == "}}" &&
        body.find("{{", 2) == std::string_view::npos) {
        body = body.substr(2, body.size() - 4);
        shift += 2;
    }
    std::string err;
    size_t at = 0;
    auto e = Expression::compile(body, resolver(cx), err, at);
    if (!e) {
        auto m = n.Mark();
        int quote = n.Tag() == "!" ? 1 : 0;
        if (!m.is_null()) m.column += static_cast<int>(shift + at) + quote;
        f.error(m, fmt::format("{}: {}", what, err));
        return nullptr;
    }
    return std::make_shared<const Expression>(std::move(*e));
}

// Compiles a list of steps into wf.steps (nested if / loop flattened into branches and jumps).
void parse_steps(Compilation& cx, FileCtx& f, const YAML::Node& seq, const std::string& prefix, WorkflowSpec& wf, StepLabels& labels) {
    size_t index = 0;
    for (const auto& step : seq) {
        ++index;
        if (!expect_map(f, step, "a step")) continue;
        const uint32_t first = static_cast<uint32_t>(wf.steps.size());
        const std::string name = fmt::format("{}[{}]", prefix, index);
        if (step["if"]) {
            check_keys(f, step, "an if step", {"if", "then", "else", "name"});
            Step br;
            br.kind = Step::Kind::branch;
            br.loc = f.loc(step["if"]);
            br.cond = condition(cx, f, step["if"], "if");
            wf.steps.push_back(std::move(br));
            if (!step["then"]) f.error(step["if"], "an if step needs 'then' (the steps when the condition holds)");
            else if (expect_seq(f, step["then"], "then")) parse_steps(cx, f, step["then"], name + ".then", wf, labels);
            if (step["else"] && expect_seq(f, step["else"], "else")) {
                uint32_t jump = static_cast<uint32_t>(wf.steps.size());
                Step j;
                j.kind = Step::Kind::jump;
                j.loc = f.loc(step["else"]);
                wf.steps.push_back(std::move(j));
                wf.steps[first].target = jump + 1;
                parse_steps(cx, f, step["else"], name + ".else", wf, labels);
                wf.steps[jump].target = static_cast<uint32_t>(wf.steps.size());
            } else {
                wf.steps[first].target = static_cast<uint32_t>(wf.steps.size());
            }
        } else if (step["loop"]) {
            check_keys(f, step, "a loop step", {"loop", "steps", "name"});
            const YAML::Node& l = step["loop"];
            if (!expect_map(f, l, "loop")) continue;
            check_keys(f, l, "loop", {"count", "while", "over", "as", "max"});
            int modes = (l["count"] ? 1 : 0) + (l["while"] ? 1 : 0) + (l["over"] ? 1 : 0);
            if (modes != 1) {
                f.error(l, "a loop takes exactly one of count, while or over");
                continue;
            }
            const uint32_t slot = wf.loops++;
            Step init;
            init.kind = Step::Kind::loop_init;
            init.loop = slot;
            init.loc = f.loc(l);
            wf.steps.push_back(std::move(init));
            Step check;
            check.kind = Step::Kind::loop_check;
            check.loop = slot;
            check.loc = f.loc(l);
            check.count = 1000;  // the most iterations of a while loop, unless max says otherwise
            if (l["count"]) check.count = uint_value(f, l["count"], "loop.count").value_or(0);
            if (l["while"]) check.cond = condition(cx, f, l["while"], "loop.while");
            if (l["max"]) {
                if (l["count"]) f.error(l["max"], "loop.max goes with while or over; count is the number of iterations");
                else check.count = uint_value(f, l["max"], "loop.max").value_or(1000);
            }
            if (l["over"]) {
                if (expect_seq(f, l["over"], "loop.over"))
                    for (const auto& item : l["over"])
                        if (auto v = scalar(f, item, "an item of loop.over")) check.items.push_back(*v);
                if (!l["max"]) check.count = check.items.size();
                if (!l["as"]) f.error(l, "loop over a list needs 'as' (the variable that holds each item)");
                else if (auto as = scalar(f, l["as"], "loop.as")) {
                    auto it = std::find(cx.script.variables.begin(), cx.script.variables.end(), *as);
                    if (it != cx.script.variables.end()) check.item_slot = static_cast<uint32_t>(it - cx.script.variables.begin());
                }
            } else if (l["as"]) {
                f.error(l["as"], "loop.as names the item of a loop over a list");
            }
            const uint32_t check_at = static_cast<uint32_t>(wf.steps.size());
            wf.steps.push_back(std::move(check));
            if (!step["steps"]) f.error(l, "a loop step needs 'steps' (its body)");
            else if (expect_seq(f, step["steps"], "steps")) parse_steps(cx, f, step["steps"], name + ".steps", wf, labels);
            Step next;
            next.kind = Step::Kind::loop_next;
            next.loop = slot;
            next.target = check_at;
            next.loc = f.loc(l);
            wf.steps.push_back(std::move(next));
            wf.steps[check_at].target = static_cast<uint32_t>(wf.steps.size());
        } else if (step["goto"]) {
            check_keys(f, step, "a goto step", {"goto", "name"});
            auto target = scalar(f, step["goto"], "goto").value_or("");
            Step g;
            g.loc = f.loc(step["goto"]);
            if (target == "error_out" || target == "timeout_out" || target == "closing") {
                g.kind = Step::Kind::exit;
                g.exit = target == "error_out" ? Exit::error_out : target == "timeout_out" ? Exit::timeout_out : Exit::closing;
            } else if (auto route = route_target(cx, f, step["goto"], target)) {
                g.kind = Step::Kind::route;
                g.route = *route;
            } else {
                g.kind = Step::Kind::jump;
                labels.gotos.push_back({first, target, step["goto"]});
            }
            wf.steps.push_back(std::move(g));
        } else if (step["parallel"]) {
            check_keys(f, step, "a parallel step", {"parallel", "name"});
            parse_parallel(cx, f, step["parallel"], name, wf.steps);
        } else if (!parse_plain_step(cx, f, step, name, wf.steps)) {
            check_keys(f, step, "a step",
                       {"ref", "action", "think", "log", "if", "loop", "goto", "parallel", "update-workbook", "name"});
            if (step.size() == 0) f.error(step, "empty step");
            continue;
        }
        labels.titles.resize(wf.steps.size());
        if (first < wf.steps.size()) labels.titles[first] = name;
        if (step["loop"] && first + 1 < wf.steps.size()) labels.titles[first + 1] = name;  // its check
        if (step["name"]) {
            auto label = scalar(f, step["name"], "name").value_or("");
            if (label == "error_out" || label == "timeout_out" || label == "closing")
                f.error(step["name"], fmt::format("'{}' is an exit; a step cannot take its name", label));
            else if (!labels.names.emplace(label, first).second)
                f.error(step["name"], fmt::format("two steps of workflow '{}' are named '{}'", wf.name, label));
            else if (first < wf.steps.size())
                wf.steps[first].name = label;
        }
    }
}

// A parallel step: two or more branches (one step, or {steps: [...]}), each compiled as a workflow
// of its own, started at once; used by `steps` lists and by graph nodes.
void parse_parallel(Compilation& cx, FileCtx& f, const YAML::Node& n, const std::string& name, std::vector<Step>& out) {
    Step par;
    par.kind = Step::Kind::parallel;
    par.loc = f.loc(n);
    if (expect_seq(f, n, "parallel")) {
        if (n.size() < 2) f.error(n, "a parallel step needs two or more branches");
        size_t b = 0;
        for (const auto& branch : n) {
            ++b;
            // A branch: one step, or {steps: [...]} for several in a row.
            WorkflowSpec bw;
            bw.name = fmt::format("{}.parallel[{}]", name, b);
            bw.loc = f.loc(branch);
            bw.on_timeout.route = Route::timeout_out;
            StepLabels branch_labels;
            // (A fresh list node: assigning to a yaml-cpp node that refers into the document
            // would overwrite the document.)
            const bool several = branch.IsMap() && branch["steps"] && branch.size() == 1;
            if (several && !expect_seq(f, branch["steps"], "steps")) continue;
            YAML::Node body(YAML::NodeType::Sequence);
            if (several)
                for (const auto& st : branch["steps"]) body.push_back(st);
            else
                body.push_back(branch);
            if (several && body.size() == 0) f.error(branch["steps"], "a branch needs at least one step");
            parse_steps(cx, f, body, bw.name, bw, branch_labels);
            resolve_gotos(f, bw, branch_labels);
            par.branches.push_back(static_cast<uint32_t>(cx.script.branches.size()));
            cx.script.branches.push_back(std::move(bw));
            cx.branch_titles.push_back(std::move(branch_labels.titles));
        }
    }
    out.push_back(std::move(par));
}

// goto: monitoring.retry (the task again, by the monitoring.retry policy) or closing.rollback (the
// task's saves discarded) as a step or a transition; nullopt for any other target.
std::optional<Route> route_target(Compilation& cx, FileCtx& f, const YAML::Node& at, std::string_view target) {
    if (target == "closing.rollback") return Route::rollback;
    if (target != "monitoring.retry") return std::nullopt;
    if (!cx.script.task_retry.set)
        f.error(at, "goto: monitoring.retry needs a retry policy", "add monitoring: {retry: {max: 2, backoff: 100ms}} to script.yaml");
    return Route::task_retry;
}

void resolve_gotos(FileCtx& f, WorkflowSpec& wf, const StepLabels& labels) {
    for (const auto& g : labels.gotos) {
        auto it = labels.names.find(g.target);
        if (it != labels.names.end()) {
            wf.steps[g.step].target = it->second;
            continue;
        }
        std::vector<std::string_view> names{"error_out", "timeout_out", "closing"};
        for (const auto& [k, v] : labels.names) names.push_back(k);
        auto guess = closest_match(g.target, names);
        f.error(g.node, fmt::format("goto '{}': workflow '{}' has no step of that name", g.target, wf.name),
                guess.empty() ? "name a step with `name:`, or go to error_out, timeout_out, closing, monitoring.retry or closing.rollback"
                              : fmt::format("did you mean '{}'?", guess));
    }
}

}  // namespace ntx::dsl::passes
