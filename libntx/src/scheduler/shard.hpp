// A shard: one event loop and the users pinned to it. Runs the call model each tick (spawn, stop,
// task deadlines) and each user's workflow, and keeps its own counters (merged at closing).
// Its parts, one file each: shard.cpp (the call model, ticks, stop, task starts and ends of users,
// the deadline wheel), workflow.cpp (the workflow interpreter: steps, waits, handlers, routes, exits,
// pacing), leases.cpp, branches.cpp (parallel steps), dynamic_tasks.cpp, actions.cpp (dispatch and
// the frame's ActionSink: counting, save-as), shard_workbook.cpp (the ledger and its flush).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <unordered_map>
#include <vector>

#include "dsl/script.hpp"
#include "net/loop.hpp"
#include "resource/pair_pool.hpp"
#include "scheduler/extractor.hpp"
#include "scheduler/stats.hpp"
#include "scheduler/user.hpp"
#include "segment/segment.hpp"
#include "workbook/workbook.hpp"

namespace ntx::frame {
class ProtocolFrame;
}

namespace ntx::scheduler {

class Scheduler;

class Shard final : public frame::ActionSink {
public:
    Shard(Scheduler& scheduler, uint32_t index);

    uint32_t index() const { return index_; }
    net::Loop& loop() { return loop_; }
    Scheduler& scheduler() { return scheduler_; }

    ActionStats& action_stats(uint32_t scenario, uint32_t action) { return action_stats_[scenario * action_count_ + action]; }
    const std::vector<ActionStats>& all_action_stats() const { return action_stats_; }
    const std::vector<ScenarioStats>& scenario_stats() const { return scenario_stats_; }

    // The first tick; runs on the loop's thread before the loop's io_context runs.
    void begin();
    // Runs the user's continuation after its action ended (posted by continue_later, never inside a plugin call).
    void on_action_end(User& u, Outcome outcome);
    // frame::ActionSink (actions.cpp): an action's end counted and its result saved; a plugin's
    // request_task and progress from a user's live action.
    void action_ended(const frame::ActionEnd& e) override;
    ntx_status_t request_task(void* owner, uint32_t action, std::vector<std::pair<std::string, std::string>> overrides,
                              uint64_t& task_id) override;
    void plugin_progress(void* owner, uint32_t component, const ntx_progress_t& p) override;
    // An item went down and its pool's on-failure is rollback (posted by the resource monitor): the
    // users of this shard holding it end their task rolled back.
    void on_item_down(uint32_t pool, uint32_t item);
    // action_ended: runs on_action_end(u, outcome) on the loop's next turn. The users whose
    // actions ended in one turn continue from one posted handler (a ready list), not one post each.
    void continue_later(User& u, Outcome outcome);

    // A plugin's request_task from `parent`'s live action (on this shard's loop): checks the limits,
    // hands out the task id and starts the task on the loop's next turn. NTX_OK or the refusal's code.
    ntx_status_t request_dynamic_task(User& parent, uint32_t action,
                                      std::vector<std::pair<std::string, std::string>> overrides, uint64_t& task_id);

    // This shard's part of the workbook (its loop's thread is the only writer; read it after the loop stopped).
    workbook::Ledger& ledger() { return ledger_; }
    const workbook::Ledger& ledger() const { return ledger_; }
    // Pushes the entries changed since the last flush to the progress bus (when it has subscribers)
    // and clears their dirty marks. On the loop's thread, or after the loop stopped.
    void flush_workbook();
    // Writes the script field `field` (a workbook::Schema id, e.g. from Schema::add_register for
    // `save-as: {scope: workbook}`) of `u`'s current workbook entry. On this shard's loop.
    void workbook_set(User& u, uint32_t field, std::string_view value);
    // A plugin's progress call from `u`'s action (on this shard's loop): one event on the bus.
    void push_plugin_progress(User& u, uint32_t component, const ntx_progress_t& p);

private:
    friend struct ShardProbe;  // benchmarks/micro/micro_scheduler.cpp drives tick() directly
    struct ScenarioRun {
        uint64_t next_ordinal;  // next user ordinal (closed) or arrival index (open) this shard starts
        uint64_t active = 0;    // spawned and not offline
        uint64_t leaving = 0;   // active users asked to leave after their current action
        double spawn_tokens = 0;      // closed model with a profile: spawns allowed by spawn-rate
        uint64_t last_tick_ms = 0;
        bool spawning_done = false;
        bool stopped = false;
        std::vector<User*> waiting;  // waiting for a resource lease
        std::unique_ptr<net::RunTimer> arrival_timer;  // open model
    };

    void tick();
    void schedule_tick();
    void follow_profile(uint32_t scenario, uint64_t now);
    void schedule_arrival(uint32_t scenario);
    void on_arrivals(uint32_t scenario);
    User& spawn(uint32_t scenario, uint64_t ordinal);
    // ---- leases.cpp
    bool try_lease(User& u);
    void wait_for_lease(User& u);            // parks the user in waiting_resource
    void end_lease_wait(User& u, bool timed_out);
    // At a task boundary: checks the user's leases (ttl, items down) and leases again what it lost;
    // false when the user now waits for a lease.
    bool refresh_leases(User& u);
    void release_leases(User& u, resource::ReleaseReason why);
    void rollback_now(User& u);
    // ---- shard.cpp: a task's start
    // Starts the user's next task, or (`restart`, by monitoring.retry) its current task again.
    void start_task(User& u, bool restart = false);
    // Renders the action's parameters (the user's templates and variables) and hands it to the frame.
    void dispatch(User& u, uint32_t action);
    // save-as: the extracted values and the result's fields into the user's variable (or the run-wide
    // one of a global), the workbook, then the persist file, if any. The first extract that found
    // nothing (and had no default), if any.
    ExtractMiss save_result(User& u, const dsl::ActionSpec& a, const ntx_result_t& result);
    Extractor extractor_;  // save-as extract's JSON scratch
    // check: each of `a`'s checks counted in `st`; false when one failed (the first in first_failed_check_).
    bool run_checks(User& u, const dsl::ActionSpec& a, const ntx_result_t* result, bool timed_out, ActionStats& st);
    std::string check_error_;  // reused: no allocation per check once grown
    const dsl::CheckSpec* first_failed_check_ = nullptr;  // of the last action whose checks failed
    // ---- workflow.cpp
    void run_step(User& u);
    uint64_t think_time(User& u, const dsl::Step& step);  // a think step's pause for `u` (its distribution)
    bool test(User& u, const dsl::Expression& cond, bool& holds);
    // A condition, workbook update or workflow that could not go on for `u`: counted in its
    // scenario's condition_errors, logged as a warning, and the first one kept for the summary.
    void count_condition_error(User& u, std::string message);
    dsl::Route handler_route(const User& u, const dsl::Handler& h) const;
    // Parks the user for `delay_ms`, then resumes what `resume` says (a stop request ends the wait early).
    void wait_then(User& u, Activity why, uint64_t delay_ms, User::Resume resume);
    void wait_until(User& u, Activity why, std::chrono::steady_clock::time_point at, User::Resume resume);
    // After a task: the user's next task (a new lease check first), or it leaves.
    void next_task(User& u);
    bool repeats(const User& u) const;  // whether the call model gives the user another task
    // Stop requests: the tick's handling, and the cheap check a user makes at each task and step.
    void check_stop(uint64_t now);
    int stop_flag_level() const;
    bool stop_seen(User& u);
    bool stop_posted_ = false;
    // An action failed (after its own retries) or timed out: retry, run the handler, follow its route.
    void on_failure(User& u, bool timeout);
    void start_handler(User& u, const dsl::Handler& h, bool timeout);
    void run_handler(User& u);
    void follow_route(User& u, dsl::Route route, bool timeout);
    void end_task(User& u, dsl::Exit exit, bool by_exit);
    void link_deadline(User& u);
    void unlink_deadline(User& u);
    void expire_deadlines(uint64_t now);
    void finish(User& u);
    // Ends the scenario: no more users start; users leave after their current action, or at once
    // with `cancel_in_flight` (and then through timeout_out when `as_timeout`: max-duration). Users
    // count as stopped unless the scenario simply ran its course (`counts_as_stop` false).
    void stop_scenario(uint32_t scenario, bool cancel_in_flight, bool as_timeout, bool counts_as_stop = true);
    void request_leave(User& u);
    bool all_done() const;
    // ---- branches.cpp. parallel: starts one branch user per branch of `step`; the user waits until all have ended.
    void start_branches(User& u, const dsl::Step& step);
    void spawn_branch(User& parent, uint32_t branch);
    void branch_ended(User& branch);  // from finish(): merges its variables, wakes the parent after the last
    void branches_done(User& u);
    // ---- shard_workbook.cpp. Workbook bookkeeping (cheap: a few stores into the user's entry).
    void wb_close(User& u, workbook::State final_state);
    void wb_apply(User& u, const dsl::Step& step);  // an update-workbook step
    void wb_retry_left(User& u);
    workbook::Ledger ledger_;
    std::vector<workbook::Entry> streamed_entries_;  // --out-stream tasks: every released entry, each flush
    std::vector<workbook::Entry> kept_entries_;  // released entries the archive keeps, handed over each flush
    // ---- dynamic_tasks.cpp
    void spawn_dynamic(uint32_t scenario, uint64_t parent_id, uint32_t action, uint64_t task_id,
                       std::vector<std::pair<std::string, std::string>> overrides, std::vector<Lease> leases,
                       std::vector<dsl::Fields> variables, std::vector<bool> variable_set);
    uint64_t dynamic_pending_ = 0;   // accepted, not started yet
    uint64_t dynamic_active_ = 0;    // started, not ended
    uint64_t dynamic_seq_ = 0;
    // Leases dynamic tasks borrow from their requester: a requester that ends while its dynamic tasks
    // still run hands its leases here, released when the last of them ends (an exclusive item is never
    // leased to another user while a dynamic task still uses it).
    struct Borrowed {
        uint32_t children = 0;     // accepted dynamic tasks not ended yet
        bool parent_done = false;  // the requester ended: `leases` are released with the last child
        std::vector<Lease> leases;
    };
    std::unordered_map<uint64_t, Borrowed> borrowed_;  // by requester user id
    void end_borrow(uint64_t parent_id);
    double dynamic_tokens_ = 0;      // rate limit of dynamic starts on this shard
    uint64_t dynamic_tokens_ms_ = 0;
    bool dynamic_tokens_started_ = false;

    Scheduler& scheduler_;
    uint32_t index_;
    segment::Stripe stripe_;  // the user ordinals / arrivals this shard starts (its segment's, striped by shard)
    net::Loop loop_;
    net::RunTimer tick_timer_;
    std::chrono::steady_clock::time_point next_tick_;
    size_t action_count_;
    std::vector<ActionStats> action_stats_;
    std::vector<ScenarioStats> scenario_stats_;
    std::vector<ScenarioRun> runs_;
    std::vector<std::unique_ptr<User>> users_;
    std::vector<std::pair<User*, Outcome>> ready_, ready_running_;  // continue_later
    uint64_t task_counter_ = 0;
    static constexpr size_t kDeadlineSlots = 1024;  // ticks per revolution of the deadline wheel
    std::vector<User*> deadline_wheel_ = std::vector<User*>(kDeadlineSlots, nullptr);
    uint64_t deadline_tick_done_ = 0;  // the wheel has been swept up to this tick
    uint64_t tick_count_ = 0;
    size_t offline_users_ = 0;  // offline users not reclaimed yet
    void reclaim_offline_users();
    std::minstd_rand rng_{0x6e7478u};  // retry jitter; per shard, no shared state
    bool done_ = false;
    bool spawning_reported_ = false;  // told the scheduler this shard starts no more users
    int stop_level_ = 0;        // the stop request this shard acted on
    uint64_t grace_end_ms_ = 0;  // when a graceful stop cancels what is still in flight
};

}  // namespace ntx::scheduler
