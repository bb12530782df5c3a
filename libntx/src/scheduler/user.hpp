// A virtual user: a small state machine pinned to one shard, never a thread. It holds its leases,
// its saved variables, the plugins' per-user slots and the buffers its actions render into.
#pragma once

#include <boost/asio/steady_timer.hpp>
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

enum class UserState : uint8_t { pending, waiting_resource, running, offline };

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
    UserState state = UserState::pending;
    uint64_t offline_tick = 0;  // the shard tick it went offline (its memory is reclaimed a few ticks later)
    bool stop_requested = false;  // leave after the current action
    bool ended_by_stop = false;
    bool timeout_on_cancel = false;  // a cancel by max-duration ends the task through timeout_out
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
    bool branch_failed = false, branch_timed_out = false;
    bool outside_call_model() const { return dynamic || branch_parent; }
    const dsl::WorkflowSpec* workflow = nullptr;  // what its tasks run
    // Open model: the arrival's intended start; its first action's latency is measured from here
    // (coordinated omission), not from when the loop got round to it.
    std::optional<std::chrono::steady_clock::time_point> intended_start;

    uint64_t task_id = 0;
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
    bool waiting = false;           // parked on wait_timer (think, retry backoff, rate limit)
    std::vector<uint64_t> next_start_ms;  // per action with a per-user rate limit: earliest next start
    boost::asio::steady_timer wait_timer;

    std::vector<Lease> leases;
    // Waiting for a lease (state waiting_resource): since when, until when (0 = no limit), and the
    // pool that was dry (its wait statistics).
    uint64_t wait_since_ms = 0, wait_deadline_ms = 0;
    uint32_t wait_pool = 0;
    bool gave_up_waiting = false;     // ended because its wait for a lease timed out
    bool rollback_requested = false;  // an item it holds went down (on-failure: rollback)
    std::vector<dsl::Fields> variables;
    std::vector<bool> variable_set;
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

    // Its current (or last) task's workbook entry: an index into its shard's ledger.
    uint32_t wb = UINT32_MAX;

    std::optional<std::string_view> resource_field(std::string_view field) const override;
    bool workbook_field(uint32_t id, std::string& out) const override;
    const dsl::Fields* variable(uint32_t slot) const override;
    std::string env(dsl::EnvVar var) const override;
};

}  // namespace ntx::scheduler
