// Parallel steps: each branch runs as a user of its own (outside the call model) sharing its parent's
// task, leases and workbook entry; the parent goes on when the last has ended.
#include "scheduler/shard.hpp"

#include <algorithm>

#include "frame/protocol_frame.hpp"
#include "scheduler/scheduler.hpp"

namespace ntx::scheduler {

// ---- parallel steps ------------------------------------------------------------------------------------

void Shard::start_branches(User& u, const dsl::Step& step) {
    u.branches_outcome = BranchOutcome::ok;
    u.activity = Activity::branches;
    // One more than the branches while they start: a branch that ends at once (a log step, a goto)
    // must not wake the parent before its siblings exist.
    u.branches_pending = static_cast<uint32_t>(step.branches.size()) + 1;
    for (uint32_t b : step.branches) spawn_branch(u, b);
    if (--u.branches_pending == 0) branches_done(u);
}

void Shard::spawn_branch(User& parent, uint32_t branch) {
    const auto& script = scheduler_.script();
    users_.push_back(std::make_unique<User>(*this, parent.user_id, parent.scenario, script.variables.size(),
                                            script.components.size()));
    User& b = *users_.back();
    b.branch_parent = &parent;
    b.single_task = true;
    b.workflow = &script.branches[branch];
    b.preset_task_id = parent.task_id;
    b.leases = parent.leases;  // borrowed: released by the parent only
    b.variables = parent.variables;
    b.variable_set = parent.variable_set;
    b.branch_written.assign(script.variables.size(), false);
    b.wb = parent.wb;  // the same user x task: its actions show in the parent's workbook entry
    parent.branch_children.push_back(&b);
    start_task(b);
}

void Shard::branch_ended(User& b) {
    User& p = *b.branch_parent;
    // What the branch saved is its parent's now; of two branches saving one name, the later wins.
    for (size_t slot = 0; slot < b.branch_written.size(); ++slot)
        if (b.branch_written[slot]) {
            p.variables[slot] = std::move(b.variables[slot]);
            p.variable_set[slot] = true;
        }
    b.leases.clear();
    scheduler_.frame().close_slot(b.slot);
    b.enter(UserState::offline);
    b.offline_tick = tick_count_;
    ++offline_users_;
    p.branch_children.erase(std::remove(p.branch_children.begin(), p.branch_children.end(), &b), p.branch_children.end());
    // The parent goes on from the loop, not from inside its branch's ending.
    if (--p.branches_pending == 0) boost::asio::post(loop_.io(), [this, &p] { branches_done(p); });
}

void Shard::branches_done(User& u) {
    if (u.state == UserState::offline) return;
    u.activity = Activity::none;
    if (u.rollback_requested && !u.leaving()) return rollback_now(u);
    if (u.leaving()) {
        if (u.end_reason == EndReason::stopped_in_timeout) ++scenario_stats_[u.scenario].exit_timeout;  // max-duration cancelled a branch
        return finish(u);
    }
    if (u.branches_outcome != BranchOutcome::ok) return on_failure(u, u.branches_outcome == BranchOutcome::timed_out);
    ++u.step;
    u.attempts = 0;
    run_step(u);
}

}  // namespace ntx::scheduler
