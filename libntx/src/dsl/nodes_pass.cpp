// Graph workflows (`nodes`): each node's step and transitions compiled to flat steps, then the graph's
// checks: every node reached, no cycle without an exit, and the variable graph over the nodes.
#include "dsl/passes.hpp"

namespace ntx::dsl::passes {

// A graph workflow: nodes with controls.exec and controls.flow.transitions, compiled to the same
// flat steps as a `steps` list (each node's step, then its transitions as branches and jumps).
void parse_nodes(Compilation& cx, FileCtx& f, const YAML::Node& w, WorkflowSpec& wf) {
    const YAML::Node& nodes = w["nodes"];
    if (!expect_map(f, nodes, "nodes")) return;
    if (nodes.size() == 0) {
        f.error(nodes, fmt::format("workflow '{}' has no nodes", wf.name));
        return;
    }
    struct Edge {
        std::string to;
        YAML::Node to_node;
        std::shared_ptr<const Expression> when;
        uint32_t jump = 0;  // the step to patch with the target
    };
    struct Node {
        std::string name;
        YAML::Node key;
        uint32_t step = UINT32_MAX;  // its (first) step
        std::optional<uint32_t> action;
        std::vector<Edge> edges;
        bool ends = false;  // no unconditional transition: reaching the end of its edges ends the task
    };
    std::vector<Node> graph;
    for (auto it = nodes.begin(); it != nodes.end(); ++it) graph.push_back({it->first.Scalar(), it->first, UINT32_MAX, {}, {}, false});
    auto find = [&](const std::string& n) -> int {
        for (size_t i = 0; i < graph.size(); ++i)
            if (graph[i].name == n) return static_cast<int>(i);
        return -1;
    };
    // The start: the first node unless `start` names another (a jump to it leads the steps).
    int start = 0;
    if (w["start"]) {
        auto s = scalar(f, w["start"], "start").value_or("");
        start = find(s);
        if (start < 0) {
            std::vector<std::string_view> names;
            for (const auto& g : graph) names.push_back(g.name);
            auto guess = closest_match(s, names);
            f.error(w["start"], fmt::format("start '{}': workflow '{}' has no node of that name", s, wf.name),
                    guess.empty() ? "" : fmt::format("did you mean '{}'?", guess));
            start = 0;
        }
    }
    std::vector<uint32_t> to_end;  // jumps to the end of the steps
    if (start != 0) {
        Step j;
        j.kind = Step::Kind::jump;
        wf.steps.push_back(std::move(j));
    }
    size_t i = 0;
    for (auto it = nodes.begin(); it != nodes.end(); ++it, ++i) {
        Node& g = graph[i];
        const YAML::Node n = it->second;  // a copy: it->second belongs to a temporary
        if (!expect_map(f, n, fmt::format("node '{}'", g.name))) continue;
        // The node's own step: its keys without `controls`.
        YAML::Node body(YAML::NodeType::Map);
        for (auto k = n.begin(); k != n.end(); ++k)
            if (k->first.Scalar() != "controls") body[k->first.Scalar()] = k->second;
        // (yaml-cpp: a missing key of a const node is a "zombie" that throws when touched.)
        const bool has_controls = n["controls"] && n["controls"].IsMap();
        const bool has_exec = has_controls && n["controls"]["exec"];
        const bool has_flow = has_controls && n["controls"]["flow"];
        const YAML::Node exec = has_exec ? n["controls"]["exec"] : YAML::Node();
        const YAML::Node flow = has_flow ? n["controls"]["flow"] : YAML::Node();
        if (n["controls"] && expect_map(f, n["controls"], "controls")) check_keys(f, n["controls"], "controls", {"exec", "flow"});
        g.step = static_cast<uint32_t>(wf.steps.size());
        const std::string name = fmt::format("{}.{}", wf.name, g.name);
        if (n["ref"] && has_exec) {
            // A named action with this node's own controls: a copy of it, with them applied.
            check_keys(f, body, "a ref node", {"ref"});
            auto ref = scalar(f, n["ref"], "ref").value_or("");
            auto found = cx.named_actions.find(ref);
            if (found == cx.named_actions.end()) {
                f.error(n["ref"], fmt::format("unknown action '{}'", ref));
            } else if (found->second != UINT32_MAX) {
                ActionSpec copy = cx.script.actions[found->second];
                copy.name = name;
                if (expect_map(f, exec, "controls.exec")) {
                    check_keys(f, exec, "controls.exec", {"timeout", "rate-limit", "retry", "on-error", "on-timeout"});
                    parse_exec(cx, f, exec, copy, name);
                }
                Step st = Step::of_action(static_cast<uint32_t>(cx.script.actions.size()));
                st.loc = f.loc(n["ref"]);
                wf.steps.push_back(std::move(st));
                cx.script.actions.push_back(std::move(copy));
            }
        } else if (n["parallel"]) {
            // Branches started at once, as a `steps` list's parallel step; each branch's actions keep
            // their own controls (controls.exec belongs to one action).
            check_keys(f, body, "a parallel node", {"parallel"});
            if (has_exec) f.error(exec, "controls.exec applies to an action node (ref or action)",
                                  "give the branches' actions their own timeout, retry and handlers");
            parse_parallel(cx, f, n["parallel"], name, wf.steps);
        } else {
            if (has_exec) {
                if (!n["action"]) f.error(exec, "controls.exec applies to an action node (ref or action)");
                else if (expect_map(f, exec, "controls.exec")) {
                    check_keys(f, exec, "controls.exec", {"timeout", "rate-limit", "retry", "on-error", "on-timeout"});
                    // (Looked up through a const view: a non-const yaml-cpp lookup of a missing key inserts
                    // an undefined entry, which a later lookup finds first, hiding the real one.)
                    const YAML::Node& existing = body;
                    for (auto k = exec.begin(); k != exec.end(); ++k) {
                        if (existing[k->first.Scalar()]) f.error(k->first, fmt::format("'{}' is set twice in node '{}'", k->first.Scalar(), g.name));
                        else body[k->first.Scalar()] = k->second;
                    }
                }
            }
            if (!parse_plain_step(cx, f, body, name, wf.steps)) {
                check_keys(f, n, fmt::format("node '{}'", g.name), {"ref", "action", "think", "log", "parallel", "controls"});
                if (n.size() == 0) f.error(g.key, fmt::format("node '{}' is empty", g.name));
            }
        }
        if (wf.steps.size() > g.step && wf.steps[g.step].kind == Step::Kind::action) g.action = wf.steps[g.step].action;
        if (wf.steps.size() == g.step) {  // a broken node: keep indices consistent
            Step j;
            j.kind = Step::Kind::jump;
            wf.steps.push_back(std::move(j));
            to_end.push_back(g.step);
        }
        // Transitions, in order: the first whose `when` holds (or that has none) is taken.
        bool unconditional = false;
        if (has_flow) {
            if (expect_map(f, flow, "controls.flow")) {
                check_keys(f, flow, "controls.flow", {"transitions"});
                if (flow["transitions"] && expect_seq(f, flow["transitions"], "transitions")) {
                    for (const auto& t : flow["transitions"]) {
                        if (!expect_map(f, t, "a transition")) continue;
                        check_keys(f, t, "a transition", {"to", "when"});
                        if (unconditional) {
                            f.error(t, "this transition is never taken: the one before it has no 'when'");
                            continue;
                        }
                        if (!t["to"]) {
                            f.error(t, "a transition needs 'to' (a node, or error_out / timeout_out / closing)");
                            continue;
                        }
                        Edge e;
                        e.to = scalar(f, t["to"], "to").value_or("");
                        e.to_node = t["to"];
                        if (t["when"]) {
                            e.when = condition(cx, f, t["when"], "when");
                            Step br;
                            br.kind = Step::Kind::branch;
                            br.cond = e.when;
                            br.loc = f.loc(t["when"]);
                            br.target = static_cast<uint32_t>(wf.steps.size()) + 2;  // past its jump
                            wf.steps.push_back(std::move(br));
                        } else {
                            unconditional = true;
                        }
                        Step go;
                        go.loc = f.loc(t["to"]);
                        if (e.to == "error_out" || e.to == "timeout_out" || e.to == "closing") {
                            go.kind = Step::Kind::exit;
                            go.exit = e.to == "error_out" ? Exit::error_out : e.to == "timeout_out" ? Exit::timeout_out : Exit::closing;
                        } else if (auto route = route_target(cx, f, t["to"], e.to)) {
                            go.kind = Step::Kind::route;
                            go.route = *route;
                        } else {
                            go.kind = Step::Kind::jump;
                        }
                        e.jump = static_cast<uint32_t>(wf.steps.size());
                        wf.steps.push_back(std::move(go));
                        g.edges.push_back(std::move(e));
                    }
                }
            }
        }
        if (!unconditional) {
            g.ends = true;  // no transition taken: the task ends here (normally)
            Step j;
            j.kind = Step::Kind::jump;
            to_end.push_back(static_cast<uint32_t>(wf.steps.size()));
            wf.steps.push_back(std::move(j));
        }
    }
    const uint32_t end = static_cast<uint32_t>(wf.steps.size());
    for (uint32_t j : to_end) wf.steps[j].target = end;
    if (start != 0) wf.steps[0].target = graph[start].step;
    // Targets, and the graph for the checks below.
    std::vector<std::vector<int>> succ(graph.size());
    std::vector<bool> exits(graph.size(), false);
    for (size_t a = 0; a < graph.size(); ++a) {
        if (graph[a].ends) exits[a] = true;
        for (auto& e : graph[a].edges) {
            if (e.to == "error_out" || e.to == "timeout_out" || e.to == "closing" || e.to == "monitoring.retry" ||
                e.to == "closing.rollback") {
                exits[a] = true;
                continue;
            }
            int b = find(e.to);
            if (b < 0) {
                std::vector<std::string_view> names{"error_out", "timeout_out", "closing"};
                for (const auto& g : graph) names.push_back(g.name);
                auto guess = closest_match(e.to, names);
                f.error(e.to_node, fmt::format("transition to '{}': workflow '{}' has no node of that name", e.to, wf.name),
                        guess.empty() ? "" : fmt::format("did you mean '{}'?", guess));
                continue;
            }
            wf.steps[e.jump].target = graph[b].step;
            succ[a].push_back(b);
        }
    }
    // Every node must be reachable from the start, and every reachable node must be able to reach
    // an end (a cycle with no way out would keep a user forever).
    std::vector<bool> reached(graph.size(), false);
    std::vector<int> stack{start};
    std::vector<int> parent(graph.size(), -1);
    reached[start] = true;
    while (!stack.empty()) {
        int a = stack.back();
        stack.pop_back();
        for (int b : succ[a])
            if (!reached[b]) {
                reached[b] = true;
                parent[b] = a;
                stack.push_back(b);
            }
    }
    for (size_t a = 0; a < graph.size(); ++a)
        if (!reached[a])
            f.error(graph[a].key, fmt::format("node '{}' is never reached from '{}'", graph[a].name, graph[start].name),
                    "a transition must lead to it");
    std::vector<bool> can_end = exits;
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t a = 0; a < graph.size(); ++a)
            if (!can_end[a])
                for (int b : succ[a])
                    if (can_end[b]) {
                        can_end[a] = changed = true;
                        break;
                    }
    }
    for (size_t a = 0; a < graph.size(); ++a) {
        if (!reached[a] || can_end[a]) continue;
        // The path from the start, then round the cycle.
        std::vector<std::string> path;
        for (int x = static_cast<int>(a); x >= 0; x = parent[x]) path.insert(path.begin(), graph[x].name);
        int x = static_cast<int>(a);
        std::vector<bool> seen(graph.size(), false);
        while (!seen[x] && !succ[x].empty()) {
            seen[x] = true;
            x = succ[x].front();
            path.push_back(graph[x].name);
        }
        f.error(graph[a].key, fmt::format("workflow '{}' can cycle forever: {} (no transition leads to an exit)", wf.name,
                                          fmt::join(path, " -> ")),
                "give one node a transition to closing, error_out or timeout_out, or one without 'when' that ends");
        break;
    }
    // The variable graph over the nodes: a node may read what some path from the start saves.
    std::vector<std::set<uint32_t>> in(graph.size());
    const std::set<uint32_t> readable = readable_anytime(cx);
    for (auto& s : in) s.insert(readable.begin(), readable.end());
    // What node `a` saves: its action's variable, or whatever its parallel branches may save.
    auto node_saves = [&](size_t a, std::set<uint32_t>& out) {
        if (graph[a].action && cx.script.actions[*graph[a].action].save_slot) out.insert(*cx.script.actions[*graph[a].action].save_slot);
        if (graph[a].step < wf.steps.size())
            for (uint32_t b : wf.steps[graph[a].step].branches) {
                const auto& s = branch_saves(cx, b);
                out.insert(s.begin(), s.end());
            }
    };
    std::vector<bool> seeded(graph.size(), false);
    seeded[start] = true;
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t a = 0; a < graph.size(); ++a) {
            if (!seeded[a]) continue;
            std::set<uint32_t> out = in[a];
            node_saves(a, out);
            for (int b : succ[a]) {
                size_t before = in[b].size();
                in[b].insert(out.begin(), out.end());
                if (!seeded[b] || in[b].size() != before) changed = true;
                seeded[b] = true;
            }
        }
    }
    for (size_t a = 0; a < graph.size(); ++a) {
        if (!reached[a] || graph[a].step >= wf.steps.size()) continue;
        std::string why = fmt::format("no path from '{}' to node '{}' saves it", graph[start].name, graph[a].name);
        check_reads(cx, wf.steps[graph[a].step], in[a], fmt::format("node '{}' of workflow '{}'", graph[a].name, wf.name), why);
        // A parallel node's branches each start from what the node starts with.
        for (uint32_t b : wf.steps[graph[a].step].branches)
            check_flow(cx, cx.script.branches[b], b < cx.branch_titles.size() ? cx.branch_titles[b] : cx.no_titles, in[a]);
        std::set<uint32_t> after = in[a];
        node_saves(a, after);
        for (const auto& e : graph[a].edges)
            if (e.when) {
                Step probe;
                probe.cond = e.when;
                probe.loc = wf.steps[e.jump].loc;
                check_reads(cx, probe, after, fmt::format("a transition of node '{}'", graph[a].name),
                            fmt::format("no path from '{}' through node '{}' saves it", graph[start].name, graph[a].name));
            }
    }
    wf.graph = true;
}

}  // namespace ntx::dsl::passes
