// The variable graph: what a step reads must have been saved by a step on some path before it.
#include <algorithm>
#include <functional>

#include "dsl/passes.hpp"

namespace ntx::dsl::passes {

// Variables the graph does not check: constants (file_blobs, kv_store keys), and user-local and global variables
// (an earlier task of the user, or another user, may have saved them; a read before any save is a
// counted error of the action at run time).
std::set<uint32_t> readable_anytime(Compilation& cx) {
    std::set<uint32_t> out;
    for (uint32_t c = 0; c < cx.script.constants.size(); ++c)  // file_blobs and kv_store keys
        if (cx.script.constants[c]) out.insert(c);
    for (uint32_t i = 0; i < cx.script.variable_scopes.size(); ++i)
        if (cx.script.variable_scopes[i] == VarScope::user || cx.script.variable_scopes[i] == VarScope::global) out.insert(i);
    return out;
}

// Reports each variable `step` reads that is not in `saved`; `what` names the step for the message.
void check_reads(Compilation& cx, const Step& step, const std::set<uint32_t>& saved, const std::string& what, const std::string& why) {
    if (step.cond) {
        for (uint32_t slot : step.cond->variables())
            if (!saved.count(slot))
                cx.out.push_back({step.loc.file, step.loc.line, step.loc.column,
                                fmt::format("the condition '{}' ({}) reads '{}', but {}", step.cond->source(), what,
                                            cx.script.variables[slot], why),
                                {}});
        return;
    }
    if (step.kind == Step::Kind::log) {
        for (uint32_t slot : step.message.variables())
            if (!saved.count(slot))
                cx.out.push_back({step.loc.file, step.loc.line, step.loc.column,
                                fmt::format("the log step ({}) reads '{}', but {}", what, cx.script.variables[slot], why),
                                {}});
        return;
    }
    if (step.kind == Step::Kind::update_workbook) {
        for (const auto& [field, t] : step.updates)
            for (uint32_t slot : t.variables())
                if (!saved.count(slot))
                    cx.out.push_back({step.loc.file, step.loc.line, step.loc.column,
                                    fmt::format("the update-workbook step ({}) reads '{}' for {}, but {}", what,
                                                cx.script.variables[slot], cx.script.workbook.field(field).path, why),
                                    {}});
        return;
    }
    if (step.kind != Step::Kind::action) return;
    const ActionSpec& a = cx.script.actions[step.action];
    for (size_t w = 0; w < a.with.size(); ++w) {
        const auto& [key, t] = a.with[w];
        const SourceLoc& at = a.with_locs[w];
        for (uint32_t slot : t.variables())
            if (!saved.count(slot))
                cx.out.push_back({at.file, at.line, at.column,
                                fmt::format("action '{}' ({}) reads '{}' in with.{}, but {}", a.name, what,
                                            cx.script.variables[slot], key, why),
                                {}});
    }
}

// The variable graph of `steps` workflows: a data-flow analysis over the control flow of their
// flat steps (if, loop and goto compiled to branches and jumps). What may have been saved when a
// step starts is the union of what the steps that lead to it pass on, to a fixpoint: a loop's back
// edge carries what its body saves to the start of the next iteration. A read that no path from
// the start can have saved is an error, with a path that shows it; a read that some paths reach
// without the save is left to run time (a counted error of the step that reads it), as in graph
// workflows. A parallel step's branches each start from what may have been saved before it (a
// branch cannot read what a sibling saves: they run at once); after it, what any branch saves.
// A handler (on-error / on-timeout) runs after some step failed, so its steps may read what any
// step of the workflow saves (or an earlier handler step); whether it was saved is then known only
// at run time, where an unset variable is a counted error of the action that reads it.
void check_variable_graph(Compilation& cx) {
    const std::set<uint32_t> constants = readable_anytime(cx);
    for (size_t w = 0; w < cx.script.workflows.size(); ++w) {
        const WorkflowSpec& wf = cx.script.workflows[w];
        if (!wf.graph)  // a graph workflow was checked node by node when it compiled
            check_flow(cx, wf, w < cx.workflow_titles.size() ? cx.workflow_titles[w] : cx.no_titles, constants);
        std::set<uint32_t> saved = constants;
        collect_saves(cx, wf, saved);
        auto check_handler = [&](const Handler& h, const std::string& name) {
            std::set<uint32_t> seen = saved;
            for (size_t i = 0; i < h.steps.size(); ++i) {
                check_reads(cx, h.steps[i], seen, fmt::format("entry {} of {}", i + 1, name),
                            fmt::format("no step of workflow '{}' saves it", wf.name));
                if (h.steps[i].kind == Step::Kind::action && cx.script.actions[h.steps[i].action].save_slot)
                    seen.insert(*cx.script.actions[h.steps[i].action].save_slot);
            }
        };
        check_handler(wf.on_error, wf.name + ".on-error");
        check_handler(wf.on_timeout, wf.name + ".on-timeout");
        std::set<uint32_t> done;
        std::function<void(const WorkflowSpec&)> action_handlers = [&](const WorkflowSpec& flow) {
            for (const Step& step : flow.steps) {
                for (uint32_t b : step.branches) action_handlers(cx.script.branches[b]);
                if (step.kind != Step::Kind::action || !done.insert(step.action).second) continue;
                const ActionSpec& a = cx.script.actions[step.action];
                if (a.on_error) check_handler(*a.on_error, a.name + ".on-error");
                if (a.on_timeout) check_handler(*a.on_timeout, a.name + ".on-timeout");
            }
        };
        action_handlers(wf);
    }
}

// Adds to `saved` every variable a step of `wf` (or of its parallel branches) can save.
void collect_saves(Compilation& cx, const WorkflowSpec& wf, std::set<uint32_t>& saved) {
    for (const Step& step : wf.steps) {
        if (step.kind == Step::Kind::action && cx.script.actions[step.action].save_slot)
            saved.insert(*cx.script.actions[step.action].save_slot);
        if (step.kind == Step::Kind::loop_check && step.item_slot) saved.insert(*step.item_slot);
        for (uint32_t b : step.branches) collect_saves(cx, cx.script.branches[b], saved);
    }
}

namespace {

// Calls f(to, body) for each step control can go to after step `i` of `wf` (wf.steps.size(): the
// end); `body` is true for the edge into a loop's body, where a loop over a list sets its item.
template <class F>
void for_each_next(const WorkflowSpec& wf, uint32_t i, F&& f) {
    const Step& s = wf.steps[i];
    const uint32_t target = std::min(s.target, static_cast<uint32_t>(wf.steps.size()));
    switch (s.kind) {
    case Step::Kind::exit:
    case Step::Kind::route: return;  // the task ends (or starts again with its variables cleared)
    case Step::Kind::jump:
    case Step::Kind::loop_next: f(target, false); return;
    case Step::Kind::branch: f(i + 1, false); f(target, false); return;
    case Step::Kind::loop_check: f(i + 1, true); f(target, false); return;
    default: f(i + 1, false); return;
    }
}

struct Flow {
    std::vector<std::set<uint32_t>> in;  // per step and the end: what may have been saved there
    std::vector<bool> reached;           // some path from the start leads there
    std::set<uint32_t> saves;            // the entry set and what any reached step may save
};

// The may-have-saved analysis of `wf` when it starts with `entry` saved.
Flow flow(Compilation& cx, const WorkflowSpec& wf, const std::set<uint32_t>& entry) {
    const uint32_t n = static_cast<uint32_t>(wf.steps.size());
    Flow fl;
    fl.in.resize(n + 1);
    fl.reached.assign(n + 1, false);
    fl.saves = entry;
    fl.in[0] = entry;
    fl.reached[0] = true;
    std::vector<uint32_t> work;
    std::vector<bool> queued(n + 1, false);
    if (n > 0) work.push_back(0), queued[0] = true;
    while (!work.empty()) {
        const uint32_t i = work.back();
        work.pop_back();
        queued[i] = false;
        const Step& s = wf.steps[i];
        std::set<uint32_t> out = fl.in[i];
        if (s.kind == Step::Kind::action && cx.script.actions[s.action].save_slot) out.insert(*cx.script.actions[s.action].save_slot);
        for (uint32_t b : s.branches) {
            const std::set<uint32_t>& branch = branch_saves(cx, b);
            out.insert(branch.begin(), branch.end());
        }
        fl.saves.insert(out.begin(), out.end());
        for_each_next(wf, i, [&](uint32_t to, bool body) {
            const size_t before = fl.in[to].size();
            const bool first = !fl.reached[to];
            fl.in[to].insert(out.begin(), out.end());
            if (body && s.item_slot) {
                fl.in[to].insert(*s.item_slot);
                fl.saves.insert(*s.item_slot);
            }
            fl.reached[to] = true;
            if ((first || fl.in[to].size() != before) && to < n && !queued[to]) {
                queued[to] = true;
                work.push_back(to);
            }
        });
    }
    return fl;
}

}  // namespace

// What the steps of branch `b` that run may save. Which steps run does not depend on what was
// saved before, so this is computed once per branch (however often a loop brings a parallel step
// back into the analysis).
const std::set<uint32_t>& branch_saves(Compilation& cx, uint32_t b) {
    if (cx.branch_saves_cache.size() < cx.script.branches.size()) cx.branch_saves_cache.resize(cx.script.branches.size());
    if (!cx.branch_saves_cache[b]) cx.branch_saves_cache[b] = flow(cx, cx.script.branches[b], {}).saves;
    return *cx.branch_saves_cache[b];
}

// Checks the reads of every step of `wf` that runs, when it starts with `entry` saved (`titles`
// name its steps in the paths of the messages).
void check_flow(Compilation& cx, const WorkflowSpec& wf, const std::vector<std::string>& titles, const std::set<uint32_t>& entry) {
    const Flow fl = flow(cx, wf, entry);
    // The shortest path from the start to each step (parent[i]: the step before it).
    const uint32_t n = static_cast<uint32_t>(wf.steps.size());
    std::vector<uint32_t> parent(n + 1, UINT32_MAX);
    std::vector<bool> seen(n + 1, false);
    std::vector<uint32_t> queue{0};
    seen[0] = true;
    for (size_t q = 0; q < queue.size(); ++q)
        if (queue[q] < n)
            for_each_next(wf, queue[q], [&](uint32_t to, bool) {
                if (seen[to]) return;
                seen[to] = true;
                parent[to] = queue[q];
                queue.push_back(to);
            });
    for (uint32_t i = 0; i < n; ++i) {
        if (!fl.reached[i]) continue;  // never runs: nothing to read
        const Step& step = wf.steps[i];
        for (uint32_t b : step.branches)
            check_flow(cx, cx.script.branches[b], b < cx.branch_titles.size() ? cx.branch_titles[b] : cx.no_titles, fl.in[i]);
        std::set<uint32_t> missing;
        auto note = [&](const std::vector<uint32_t>& slots) {
            for (uint32_t slot : slots)
                if (!fl.in[i].count(slot)) missing.insert(slot);
        };
        if (step.cond) note(step.cond->variables());
        else if (step.kind == Step::Kind::log) note(step.message.variables());
        else if (step.kind == Step::Kind::update_workbook)
            for (const auto& u : step.updates) note(u.second.variables());
        else if (step.kind == Step::Kind::action)
            for (const auto& w : cx.script.actions[step.action].with) note(w.second.variables());
        if (missing.empty()) continue;
        std::string why = "no earlier step of the workflow saves it";
        std::string path = path_to(cx, wf, titles, parent, i, missing);
        if (!path.empty()) why += ": " + path;
        check_reads(cx, step, fl.in[i], fmt::format("step {} of workflow '{}'", i + 1, wf.name), why);
    }
}

// The path from the start of `wf` to step `i` (`parent`: the shortest paths) as the decisions on
// it that turn away from a step that saves one of `missing` (an if's side, a goto, whether a
// loop's body runs), then the step; empty when no decision on it does.
std::string path_to(Compilation& cx, const WorkflowSpec& wf, const std::vector<std::string>& titles, const std::vector<uint32_t>& parent,
                    uint32_t i, const std::set<uint32_t>& missing) {
    const uint32_t n = static_cast<uint32_t>(wf.steps.size());
    auto title = [&](uint32_t x) { return x < titles.size() && !titles[x].empty() ? titles[x] : fmt::format("step {}", x + 1); };
    // Whether a step that saves one of `missing` can run after step `from`.
    auto leads_to_save = [&](uint32_t from) {
        std::vector<bool> visited(n + 1, false);
        std::vector<uint32_t> stack{from};
        visited[from] = true;
        while (!stack.empty()) {
            const uint32_t x = stack.back();
            stack.pop_back();
            if (x >= n) continue;
            const Step& s = wf.steps[x];
            std::set<uint32_t> saves;
            if (s.kind == Step::Kind::action && cx.script.actions[s.action].save_slot) saves.insert(*cx.script.actions[s.action].save_slot);
            if (s.kind == Step::Kind::loop_check && s.item_slot) saves.insert(*s.item_slot);
            for (uint32_t b : s.branches) collect_saves(cx, cx.script.branches[b], saves);
            for (uint32_t v : saves)
                if (missing.count(v)) return true;
            for_each_next(wf, x, [&](uint32_t to, bool) {
                if (!visited[to]) visited[to] = true, stack.push_back(to);
            });
        }
        return false;
    };
    std::vector<uint32_t> chain;
    for (uint32_t x = i; x != UINT32_MAX; x = parent[x]) chain.push_back(x);
    std::reverse(chain.begin(), chain.end());
    std::vector<std::string> parts;
    for (size_t k = 0; k + 1 < chain.size(); ++k) {
        const uint32_t x = chain[k], next = chain[k + 1];
        const Step& s = wf.steps[x];
        if (x >= titles.size() || titles[x].empty() || s.target == x + 1) continue;  // no choice made here
        const uint32_t other = next == x + 1 ? s.target : x + 1;
        if (s.kind == Step::Kind::branch && leads_to_save(other))
            parts.push_back(fmt::format("{} (if: {})", titles[x], next == x + 1 ? "then" : "else"));
        else if (s.kind == Step::Kind::loop_check && leads_to_save(other))
            parts.push_back(fmt::format("{} (loop: {})", titles[x], next == x + 1 ? "body" : "done"));
        else if (s.kind == Step::Kind::jump && leads_to_save(x + 1))  // a goto: what it skips
            parts.push_back(fmt::format("{} (goto '{}')", titles[x], next < n ? wf.steps[next].name : "end"));
    }
    if (parts.empty()) return {};
    parts.push_back(title(i));
    return fmt::format("{}", fmt::join(parts, " -> "));
}

}  // namespace ntx::dsl::passes
