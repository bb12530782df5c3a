// A virtual user: a small state machine pinned to one shard, never a thread. It holds its leases,
// its saved variables, the plugins' per-user slots and the buffers its actions render into.
#pragma once

#include "net/run_clock.hpp"
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dsl/script.hpp"
#include "dsl/template.hpp"
#include "frame/action_sink.hpp"
#include "ntx/plugin_abi.h"

namespace ntx::scheduler {

class Shard;

// A user's life, one state at a time, changed only through User::enter (checked against the table
// in user.cpp):
//
//   pending --> waiting_resource <--> running --> leaving --> offline
//      |              |                  |                      ^
//      +--------------+------------------+----------------------+
//
// pending: made, no task yet. waiting_resource: parked until a lease is free. running: in a task (what
// it is doing right now is its Activity). leaving: asked to leave (a stop, a profile's surplus, a
// fatal exit): it ends at its current action's end, never starts another step. offline: gone; its
// memory is reclaimed a few ticks later.
enum class UserState : uint8_t { pending, waiting_resource, running, leaving, offline };
const char* to_string(UserState s);
// The transitions a user may make (staying in a state is none: running -> running starts its next
// task); User::enter refuses every other one.
bool can_enter(UserState from, UserState to);

// What a running (or leaving) user is doing: an action in flight, parked on its wait timer (which
// wait), or waiting for its parallel step's branches; `none` while it runs control steps in between.
enum class Activity : uint8_t { none, action, think, backoff, throttle, paced, branches };

// Why a user ended, as its counters and its workbook entry say: it ran its course (completed), it
// was stopped (a stop request, a profile's end is not one, stop: user), it was stopped by
// max-duration while an action was in flight (its task ends through timeout_out), or it gave up
// waiting for a lease.
enum class EndReason : uint8_t { completed, stopped, stopped_in_timeout, gave_up_waiting };

// How a parallel step's branches ended so far (the parent's side).
enum class BranchOutcome : uint8_t { ok, failed, timed_out };

struct Lease {
    uint32_t pool;
    uint32_t item;
    uint64_t expires_ms = 0;  // the pool's clock; 0 = never (checked at the user's task boundaries)
};

struct User final : dsl::RenderContext {
    User(Shard& s, uint64_t id, uint32_t scen, size_t variables, size_t components);

    Shard& shard;
    uint64_t user_id;
    uint32_t scenario;
    // The state machine: read freely, changed only through enter() (an invalid transition is logged,
    // and asserts in debug builds).
    UserState state = UserState::pending;
    Activity activity = Activity::none;
    EndReason end_reason = EndReason::completed;
    void enter(UserState next);
    bool leaving() const { return state == UserState::leaving; }       // asked to leave after its action
    bool in_task() const { return state == UserState::running || state == UserState::leaving; }
    bool parked() const { return activity >= Activity::think && activity <= Activity::paced; }  // on wait_timer
    bool stopped() const { return end_reason == EndReason::stopped || end_reason == EndReason::stopped_in_timeout; }
    void mark_stopped() {
        if (end_reason == EndReason::completed) end_reason = EndReason::stopped;
    }
    uint64_t offline_tick = 0;  // the shard tick it went offline (its memory is reclaimed a few ticks later)
    bool single_task = false;        // an open-model arrival: one task, then leave
    // A dynamic task's user (a plugin's request_task): one action, outside the call model's counts;
    // its resource fields are its requester's (`leases` are borrowed, never released by it), and
    // `overrides` replace (or add to) the action's `with`.
    bool dynamic = false;
    uint64_t parent_id = 0;          // a dynamic task's requester (whose leases it borrows)
    std::vector<std::pair<std::string, std::string>> overrides;
    uint64_t preset_task_id = 0;     // the id request_task already handed to the plugin (or the
                                     // task id a branch shares with its parent)
    // A parallel step's branch runs as a user of its own, outside the call model: `branch_parent` is
    // the user whose step waits for it. It has its parent's user and task id, borrows its leases,
    // starts from a copy of its variables and hands back the ones it saved (`branch_written`).
    User* branch_parent = nullptr;
    std::vector<bool> branch_written;
    // The parent's side: the branches still running, and how they ended so far.
    std::vector<User*> branch_children;
    uint32_t branches_pending = 0;
    BranchOutcome branches_outcome = BranchOutcome::ok;
    bool outside_call_model() const { return dynamic || branch_parent; }
    const dsl::WorkflowSpec* workflow = nullptr;  // what its tasks run
    // Open model: the arrival's intended start; its first action's latency is measured from here
    // (coordinated omission), not from when the loop got round to it.
    std::optional<std::chrono::steady_clock::time_point> intended_start;

    uint64_t task_id = 0;
    std::chrono::steady_clock::time_point task_started{};  // its task's start (a restart keeps it): task duration
    uint32_t step = 0;              // index into the workflow's steps
    uint32_t action = 0;            // action index of the step in flight
    uint64_t task_deadline_ms = 0;  // run clock; 0 = none
    // The shard's deadline wheel: an intrusive list per slot, so linking and unlinking cost O(1) and a
    // tick visits only the slot that falls due (never every resident user).
    User* deadline_prev = nullptr;
    User* deadline_next = nullptr;
    uint64_t deadline_tick = 0;     // the tick at or after which the deadline has passed
    bool deadline_linked = false;
    uint64_t user_deadline_ms = 0;  // task-duration end; 0 = one task

    uint32_t attempts = 0;          // failed attempts of the current step so far (retry)
    std::vector<uint32_t> loop_counters;  // per loop of the workflow: iterations done
    uint32_t task_retries = 0;      // restarts of the current task by goto: monitoring.retry
    bool task_timed_out = false;    // the task's deadline passed (its on-timeout handler ran or runs)
    // An on-error / on-timeout handler in progress: its next entry. Null while the workflow runs.
    const dsl::Handler* handler = nullptr;
    uint32_t handler_pos = 0;
    bool handler_timeout = false;   // the handler handles a timeout (its fallback route is timeout_out)
    // What a finished wait resumes: the workflow's current step, the handler, or the task from the start.
    // next_task: a failed task's pacing (pacing.after-failure) ended.
    enum class Resume : uint8_t { step, handler, task_restart, next_task } resume = Resume::step;
    std::vector<uint64_t> next_start_ms;  // per action with a per-user rate limit: earliest next start
    net::RunTimer wait_timer;

    std::vector<Lease> leases;
    // Waiting for a lease (state waiting_resource): since when, until when (0 = no limit), and the
    // pool that was dry (its wait statistics).
    uint64_t wait_since_ms = 0, wait_deadline_ms = 0;
    uint32_t wait_pool = 0;
    bool rollback_requested = false;  // an item it holds went down (on-failure: rollback)
    std::vector<dsl::Fields> variables;
    std::vector<bool> variable_set;
    // While an action's checks run: its result's fields (`status`, `body` in a check), else null.
    const dsl::Fields* current_result = nullptr;
    dsl::Fields result_scratch;  // the result's copy for checks of an action that saves nothing
    // Global variables this user read last (per slot, filled on first read): the value a render
    // reads stays alive while another user publishes a newer one.
    mutable std::vector<std::shared_ptr<const dsl::Fields>> global_pins;
    // Clears the task-local variables (a new task, or a rolled-back one); user-local ones stay.
    void clear_task_variables();

    // Its action slot in the frame (the token plugins hold, its deadline timer, the plugins' per-user
    // slots): opened with the user, closed when it leaves (Shard::finish).
    frame::SlotId slot;
    bool in_action() const;
    uint32_t last_elapsed_us = 0;  // the last action's duration (its workbook evidence)

    // Reused per action: rendered params (values) and the kv views handed to the plugin.
    std::vector<std::string> param_values;
    std::vector<ntx_kv_t> params;
    std::vector<uint32_t> param_flags;  // NTX_PARAM_SHARED for a param that views a file_blob

    // Its current task's workbook entry: an index into its shard's ledger (kNoEntry once the task
    // closed it: the ledger releases closed entries at its next flush).
    uint32_t wb = UINT32_MAX;

    std::optional<std::string_view> resource_field(std::string_view field) const override;
    bool workbook_field(uint32_t id, std::string& out) const override;
    const dsl::Fields* variable(uint32_t slot) const override;
    std::string env(dsl::EnvVar var) const override;
    double random() const override;
    // Its own generator (splitmix64), seeded from the run's seed and its id: the same draws on every
    // run with the same --seed, whatever the thread count. Mutable: random() is a read to templates.
    mutable uint64_t rng_state = 0;
    uint64_t next_random() const;
};

}  // namespace ntx::scheduler
