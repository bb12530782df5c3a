// The workflow interpreter: a user's steps (control steps in a row until one that waits), its waits,
// the continuation after an action, retries, on-error / on-timeout handlers, routes and exits, and
// what follows a task (pacing after a failure, the next task, or leaving).
#include <cmath>

#include "scheduler/shard.hpp"

#include <algorithm>
#include <random>

#include <spdlog/spdlog.h>

#include "frame/protocol_frame.hpp"
#include "scheduler/scheduler.hpp"

namespace ntx::scheduler {

void Shard::run_step(User& u) {
    const auto& script = scheduler_.script();
    const auto& wf = *u.workflow;
    if (stop_seen(u)) return finish(u);
    const uint64_t now = scheduler_.now_ms();
    if (u.task_deadline_ms && now >= u.task_deadline_ms) {
        if (u.task_timed_out) return end_task(u, dsl::Exit::timeout_out, true);  // its handler said goto: next
        u.task_timed_out = true;
        return start_handler(u, wf.on_timeout, true);
    }
    // Control steps (branches, jumps, loops, log lines) run here in a row until a step that waits
    // (an action, a think); a run of them that long without one is a workflow that spins in place.
    for (uint32_t spins = 0;; ++spins) {
        if (u.step >= wf.steps.size()) return end_task(u, dsl::Exit::closing, false);
        if (spins == 100'000) {
            count_condition_error(u, fmt::format("workflow '{}' ran 100000 steps without an action or think; "
                                                 "the task ends through error_out", wf.name));
            return end_task(u, dsl::Exit::error_out, true);
        }
        const dsl::Step& step = wf.steps[u.step];
        switch (step.kind) {
        case dsl::Step::Kind::think:
            ++u.step;  // parked: no action in flight, the user leaves at once if asked to stop
            ledger_.set_state(u.wb, workbook::State::executing_thinking);
            return wait_then(u, Activity::think, think_time(u, step), User::Resume::step);
        case dsl::Step::Kind::update_workbook:
            wb_apply(u, step);
            ++u.step;
            continue;
        case dsl::Step::Kind::log: {
            std::string line, error;
            if (!step.message.render(u, line, error)) line = "(log step: " + error + ")";
            scheduler_.frame().log().log(spdlog::level::from_str(step.level), "[user={} task={}] {}", u.user_id, u.task_id, line);
            ++u.step;
            continue;
        }
        case dsl::Step::Kind::branch: {
            bool holds = false;
            if (!test(u, *step.cond, holds)) return end_task(u, dsl::Exit::error_out, true);
            u.step = holds ? u.step + 1 : step.target;
            continue;
        }
        case dsl::Step::Kind::jump: u.step = step.target; continue;
        case dsl::Step::Kind::exit: return end_task(u, step.exit, true);
        case dsl::Step::Kind::loop_init:
            u.loop_counters[step.loop] = 0;
            ++u.step;
            continue;
        case dsl::Step::Kind::loop_check: {
            uint64_t n = u.loop_counters[step.loop];
            bool more = n < step.count;
            if (more && step.cond && !test(u, *step.cond, more)) return end_task(u, dsl::Exit::error_out, true);
            if (more && !step.items.empty()) {
                if (n >= step.items.size()) more = false;
                else if (step.item_slot) {
                    // The item is a variable of the loop's body: {{<as>}}.
                    dsl::Fields& f = u.variables[*step.item_slot];
                    f.resize(1);
                    f[0].first = "body";
                    f[0].second = step.items[n];
                    u.variable_set[*step.item_slot] = true;
                    if (!u.branch_written.empty()) u.branch_written[*step.item_slot] = true;
                }
            }
            u.step = more ? u.step + 1 : step.target;
            continue;
        }
        case dsl::Step::Kind::loop_next:
            ++u.loop_counters[step.loop];
            u.step = step.target;
            continue;
        case dsl::Step::Kind::parallel: return start_branches(u, step);
        case dsl::Step::Kind::route: return follow_route(u, step.route, false);
        case dsl::Step::Kind::action: break;
        }
        break;
    }
    const dsl::Step& step = wf.steps[u.step];
    u.action = step.action;
    const dsl::ActionSpec& a = script.actions[u.action];
    if (a.rate_per_user > 0) {
        // Core enforces the per-user rate: the user waits (throttled), the plugin never sees the excess.
        if (u.next_start_ms.empty()) u.next_start_ms.assign(script.actions.size(), 0);
        uint64_t& next = u.next_start_ms[u.action];
        if (now < next) {
            ++action_stats(u.scenario, u.action).throttled;
            ledger_.set_state(u.wb, workbook::State::executing_throttled);
            return wait_then(u, Activity::throttle, next - now, User::Resume::step);
        }
        next = std::max(next, now) + static_cast<uint64_t>(1000.0 / a.rate_per_user);
    }
    ledger_.set_action(u.wb, u.action, workbook::State::executing_running_action);
    wb_retry_left(u);
    dispatch(u, u.action);
}

void Shard::count_condition_error(User& u, std::string message) {
    auto& st = scenario_stats_[u.scenario];
    if (st.condition_errors++ == 0) {
        const auto& masker = scheduler_.frame().masker();
        st.condition_error_first = fmt::format("[user={} task={}] {}", u.user_id, u.task_id,
                                               masker.empty() ? message : masker.mask(message));
        st.condition_error_first_at_ms = scheduler_.now_ms();
    }
    scheduler_.frame().log().warn("[user={} task={}] {}", u.user_id, u.task_id, message);
}

// Evaluates a condition for `u`. A condition that cannot be evaluated (a missing value, a type
// mismatch) is counted and logged; the caller ends the task through error_out.
bool Shard::test(User& u, const dsl::Expression& cond, bool& holds) {
    dsl::Value v;
    std::string error;
    if (!cond.eval(u, v, error)) {
        count_condition_error(u, fmt::format("condition failed: {}; the task ends through error_out", error));
        return false;
    }
    holds = v.truthy();
    return true;
}

void Shard::wait_then(User& u, Activity why, uint64_t delay_ms, User::Resume resume) {
    wait_until(u, why, net::RunClock::now() + std::chrono::milliseconds(delay_ms), resume);
}

void Shard::wait_until(User& u, Activity why, std::chrono::steady_clock::time_point at, User::Resume resume) {
    u.activity = why;
    u.resume = resume;
    u.wait_timer.expires_at(at);
    u.wait_timer.async_wait([this, &u](const boost::system::error_code&) {
        // Also on cancel: a stop request (or the task deadline) cancels the wait, and what resumes
        // lets the user leave (or run its on-timeout handler).
        if (u.state == UserState::offline) return;
        u.activity = Activity::none;
        if (u.resume == User::Resume::next_task) {
            // Between two tasks nothing is rolled back: the next task's lease check replaces a down item.
            u.rollback_requested = false;
            return next_task(u);
        }
        if (u.rollback_requested && !u.leaving()) return rollback_now(u);
        switch (u.resume) {
        case User::Resume::next_task: break;
        case User::Resume::step: return run_step(u);
        case User::Resume::handler: return run_handler(u);
        case User::Resume::task_restart:
            if (u.leaving()) return finish(u);
            return start_task(u, true);
        }
    });
}

void Shard::continue_later(User& u, Outcome outcome) {
    ready_.emplace_back(&u, outcome);
    if (ready_.size() > 1) return;  // the drain is posted already
    boost::asio::post(loop_.io(), [this] {
        // Users that end an action while these continue go to the next drain (ready_ is empty now).
        ready_running_.swap(ready_);
        for (auto [ready_user, ready_outcome] : ready_running_) on_action_end(*ready_user, ready_outcome);
        ready_running_.clear();  // both vectors keep their capacity
    });
}

void Shard::on_action_end(User& u, Outcome outcome) {
    {
        static constexpr workbook::LastEvent events[] = {workbook::LastEvent::ok, workbook::LastEvent::error,
                                                         workbook::LastEvent::timeout, workbook::LastEvent::cancelled};
        ledger_.set_evidence(u.wb, events[static_cast<size_t>(outcome)], u.last_elapsed_us);
    }
    u.activity = Activity::none;
    if (u.rollback_requested && !u.leaving()) return rollback_now(u);
    if (u.handler) {
        // A compensating action of a handler ended: its outcome is counted (ProtocolFrame did), never
        // handled again; the handler goes on.
        if (outcome == Outcome::cancelled) {
            u.mark_stopped();
            if (u.end_reason == EndReason::stopped_in_timeout) {
                ++scenario_stats_[u.scenario].exit_timeout;
                wb_close(u, workbook::State::closing_timeout);
            }
            u.handler = nullptr;
            return finish(u);
        }
        return run_handler(u);
    }
    switch (outcome) {
    case Outcome::ok:
        if (u.leaving()) return finish(u);
        ++u.step;
        u.attempts = 0;
        return run_step(u);
    case Outcome::error: return on_failure(u, false);
    case Outcome::timeout: return on_failure(u, true);
    case Outcome::cancelled:
        u.mark_stopped();
        if (u.branch_parent) {
            if (u.end_reason == EndReason::stopped_in_timeout)  // its parent counts it
                u.branch_parent->end_reason = EndReason::stopped_in_timeout;
        } else if (u.end_reason == EndReason::stopped_in_timeout) {
            ++scenario_stats_[u.scenario].exit_timeout;
            wb_close(u, workbook::State::closing_timeout);
        }
        return finish(u);
    }
}

void Shard::on_failure(User& u, bool timeout) {
    const auto& script = scheduler_.script();
    const auto& wf = *u.workflow;
    // The failed step: an action, or a parallel step (one of its branches failed), which has no
    // action's own handlers or retry.
    const bool parallel = u.step < wf.steps.size() && wf.steps[u.step].kind == dsl::Step::Kind::parallel;
    static const dsl::ActionSpec no_action;
    const dsl::ActionSpec& a = parallel ? no_action : script.actions[u.action];
    const uint64_t now = scheduler_.now_ms();
    if (u.task_deadline_ms && now >= u.task_deadline_ms) {
        // The task's time is over (the tick cancelled the action, or it failed just then): the
        // workflow's on-timeout decides, and retrying the step is pointless.
        if (u.task_timed_out) return end_task(u, dsl::Exit::timeout_out, true);
        u.task_timed_out = true;
        return start_handler(u, wf.on_timeout, true);
    }
    const dsl::Handler& h = timeout ? (a.on_timeout ? *a.on_timeout : wf.on_timeout)
                                    : (a.on_error ? *a.on_error : wf.on_error);
    // The action's own retry (errors only) comes first; otherwise the handler's retry entry.
    uint32_t max = h.retry_max;
    uint64_t backoff = h.retry_backoff_ms, backoff_cap = h.retry_backoff_max_ms;
    if (!timeout && a.retry_max) {
        max = a.retry_max;
        backoff = a.retry_backoff_ms;
        backoff_cap = a.retry_backoff_max_ms;
    }
    if (!u.leaving() && u.attempts < max) {
        // Exponential backoff with jitter: the n-th wait is drawn from [d/2, d], d = initial * 2^(n-1).
        ++u.attempts;
        if (!parallel) ++action_stats(u.scenario, u.action).retries;
        uint64_t cap = backoff_cap ? backoff_cap : 30'000;
        uint64_t d = std::min(cap, backoff << std::min<uint32_t>(u.attempts - 1, 20));
        std::uniform_int_distribution<uint64_t> jitter(d / 2, d);
        ledger_.set_state(u.wb, workbook::State::monitoring_retry);
        ledger_.set_retry_left(u.wb, static_cast<uint16_t>(std::min<uint32_t>(max - u.attempts, UINT16_MAX)));
        return wait_then(u, Activity::backoff, jitter(rng_), User::Resume::step);
    }
    start_handler(u, h, timeout);
}

void Shard::start_handler(User& u, const dsl::Handler& h, bool timeout) {
    u.handler = &h;
    u.handler_pos = 0;
    u.handler_timeout = timeout;
    u.attempts = 0;
    run_handler(u);
}

void Shard::run_handler(User& u) {
    const dsl::Handler& h = *u.handler;
    if (u.leaving()) {
        // A leaving user runs no more steps; its task still ends through an exit and is counted there
        // (a route that would keep the user working falls back to the handler's default exit).
        u.handler = nullptr;
        dsl::Route route = handler_route(u, h);
        if (route == dsl::Route::task_retry || route == dsl::Route::next)
            route = u.handler_timeout ? dsl::Route::timeout_out : dsl::Route::error_out;
        return follow_route(u, route, u.handler_timeout);
    }
    while (u.handler_pos < h.steps.size()) {
        const dsl::Step& step = h.steps[u.handler_pos++];
        switch (step.kind) {
        case dsl::Step::Kind::log: {
            std::string line, error;
            if (!step.message.render(u, line, error)) line = "(log step: " + error + ")";
            scheduler_.frame().log().log(spdlog::level::from_str(step.level), "[user={} task={}] {}", u.user_id,
                                         u.task_id, line);
            continue;
        }
        case dsl::Step::Kind::think:
            ledger_.set_state(u.wb, workbook::State::executing_thinking);
            return wait_then(u, Activity::think, think_time(u, step), User::Resume::handler);
        case dsl::Step::Kind::update_workbook: wb_apply(u, step); continue;
        case dsl::Step::Kind::action:
            // A compensating action: no per-user rate wait, no retry; its outcome is counted.
            u.action = step.action;
            ledger_.set_action(u.wb, u.action, workbook::State::executing_running_action);
            return dispatch(u, u.action);
        default: continue;  // a handler holds only action, think and log steps (the parser's rule)
        }
    }
    u.handler = nullptr;
    follow_route(u, handler_route(u, h), u.handler_timeout);
}

// Where a handler sends its task: its own goto / stop, else the scenario's exits (a parallel branch
// keeps the handler's default: its parent's handler decides where the task goes).
dsl::Route Shard::handler_route(const User& u, const dsl::Handler& h) const {
    if (h.routed || u.branch_parent) return h.route;
    const auto& sc = scheduler_.script().scenarios[u.scenario];
    return u.handler_timeout ? sc.exit_timeout : sc.exit_error;
}

void Shard::follow_route(User& u, dsl::Route route, bool timeout) {
    auto& st = scenario_stats_[u.scenario];
    switch (route) {
    case dsl::Route::error_out: return end_task(u, dsl::Exit::error_out, true);
    case dsl::Route::timeout_out: return end_task(u, dsl::Exit::timeout_out, true);
    case dsl::Route::closing: return end_task(u, dsl::Exit::closing, true);
    case dsl::Route::fatal:
        // The first such task stops the run (as one Ctrl-C: the other users finish their action).
        scheduler_.request_stop(fmt::format("scenario '{}': task {} of user {} {} and its exit is fatal",
                                            scheduler_.script().scenarios[u.scenario].name, u.task_id, u.user_id,
                                            timeout ? "timed out" : "failed"));
        return end_task(u, timeout ? dsl::Exit::timeout_out : dsl::Exit::error_out, true);
    case dsl::Route::next:
        ++u.step;
        u.attempts = 0;
        return run_step(u);
    case dsl::Route::task_retry: {
        const dsl::TaskRetryPolicy& p = scheduler_.script().task_retry;
        if (u.task_retries >= p.max) return end_task(u, timeout ? dsl::Exit::timeout_out : dsl::Exit::error_out, true);
        ++u.task_retries;
        ++st.task_retries;
        unlink_deadline(u);  // the restarted task gets a new deadline
        uint64_t cap = p.backoff_max_ms ? p.backoff_max_ms : 30'000;
        uint64_t d = std::min(cap, p.backoff_ms << std::min<uint32_t>(u.task_retries - 1, 20));
        std::uniform_int_distribution<uint64_t> jitter(d / 2, d);
        ledger_.set_state(u.wb, workbook::State::monitoring_retry);
        ledger_.set_retry_left(u.wb, static_cast<uint16_t>(std::min<uint32_t>(p.max - u.task_retries, UINT16_MAX)));
        return wait_then(u, Activity::backoff, jitter(rng_), User::Resume::task_restart);
    }
    case dsl::Route::rollback:
        // What the task saved (task-local) is discarded; the task counts as rolled back, and the user
        // goes on as after any task (its next task, or leaving).
        u.clear_task_variables();
        ++st.exit_rollback;
        wb_close(u, workbook::State::closing_rollback);
        return end_task(u, dsl::Exit::closing, false);
    case dsl::Route::stop_user:
        ++st.exit_stop_user;
        wb_close(u, workbook::State::closing_stopped);
        u.mark_stopped();
        return finish(u);
    }
}

// A think step's pause: fixed, or drawn from its distribution with the user's generator.
uint64_t Shard::think_time(User& u, const dsl::Step& step) {
    using Think = dsl::Step::Think;
    switch (step.think) {
    case Think::fixed: return step.think_ms;
    case Think::uniform: {
        const uint64_t span = step.think_max_ms - step.think_ms;
        return step.think_ms + (span ? u.next_random() % (span + 1) : 0);
    }
    case Think::normal: {
        // Box-Muller; 1 - u keeps the logarithm's argument in (0, 1].
        const double u1 = 1.0 - u.random(), u2 = u.random();
        const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * 3.141592653589793 * u2);
        const double ms = static_cast<double>(step.think_ms) + z * static_cast<double>(step.think_stddev_ms);
        return ms <= 0 ? 0 : static_cast<uint64_t>(ms + 0.5);
    }
    case Think::exponential: {
        const double ms = -std::log(1.0 - u.random()) * static_cast<double>(step.think_ms);
        return static_cast<uint64_t>(std::min(ms, 1e12) + 0.5);
    }
    }
    return step.think_ms;
}

void Shard::end_task(User& u, dsl::Exit exit, bool by_exit) {
    auto& st = scenario_stats_[u.scenario];
    if (u.branch_parent) {
        // A branch's exit is its parent's business: error_out or timeout_out fail the parallel step.
        if (by_exit && exit != dsl::Exit::closing) {
            BranchOutcome& o = u.branch_parent->branches_outcome;
            if (exit == dsl::Exit::timeout_out) o = BranchOutcome::timed_out;
            else if (o == BranchOutcome::ok) o = BranchOutcome::failed;
        }
        return finish(u);
    }
    wb_close(u, exit == dsl::Exit::error_out     ? workbook::State::closing_error
                : exit == dsl::Exit::timeout_out ? workbook::State::closing_timeout
                                                 : workbook::State::closing_done);
    if (u.dynamic) return finish(u);  // a dynamic task's outcome is its action's; the scenario's exits are its users'
    // The task's duration (transaction time): of the tasks that ran to their end, and apart, of the failed ones.
    const auto task_us = std::chrono::duration_cast<std::chrono::microseconds>(net::RunClock::now() - u.task_started).count();
    (by_exit && exit != dsl::Exit::closing ? st.task_failed_duration : st.task_duration)
        .record(static_cast<uint64_t>(std::max<int64_t>(task_us, 0)));
    if (by_exit) {
        switch (exit) {
        case dsl::Exit::error_out: ++st.exit_error; break;
        case dsl::Exit::timeout_out: ++st.exit_timeout; break;
        case dsl::Exit::closing: ++st.exit_closing; return finish(u);  // goto closing ends the user
        }
    }
    // A failed task paces the user (pacing.after-failure): a dead target costs at most one task per
    // user and tick, never a loop spinning through failed tasks.
    if (by_exit && exit != dsl::Exit::closing && !u.leaving() && !u.single_task) {
        const auto& spec = scheduler_.script().scenarios[u.scenario];
        if (spec.pace_after_failure != dsl::ScenarioSpec::FailurePacing::none && repeats(u)) {
            unlink_deadline(u);  // the ended task's deadline must not wake the wait
            auto at = net::RunClock::now() + std::chrono::milliseconds(spec.pace_after_failure_ms);
            if (spec.pace_after_failure == dsl::ScenarioSpec::FailurePacing::tick) {
                at = next_tick_;  // the shard's next tick (or the one after, when this one is under way)
                if (at <= net::RunClock::now()) at += std::chrono::milliseconds(scheduler_.script().config.tick_ms);
            }
            return wait_until(u, Activity::paced, at, User::Resume::next_task);
        }
    }
    next_task(u);
}

bool Shard::repeats(const User& u) const {
    if (u.single_task) return false;
    const auto& spec = scheduler_.script().scenarios[u.scenario];
    // With a profile a user repeats its workflow while it stays online; with task-duration until then.
    return spec.profile || (u.user_deadline_ms && scheduler_.now_ms() < u.user_deadline_ms);
}

void Shard::next_task(User& u) {
    if (!stop_seen(u) && repeats(u)) {
        if (!refresh_leases(u)) return;  // a lease expired or its item is down: it waits for another
        return start_task(u);
    }
    finish(u);
}

}  // namespace ntx::scheduler
