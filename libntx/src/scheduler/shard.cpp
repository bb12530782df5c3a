#include "scheduler/shard.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include <spdlog/spdlog.h>

#include "frame/protocol_frame.hpp"
#include "scheduler/live_stats.hpp"
#include "scheduler/scheduler.hpp"

namespace ntx::scheduler {

User::User(Shard& s, uint64_t id, uint32_t scen, size_t variable_count, size_t components)
    : shard(s), user_id(id), scenario(scen), wait_timer(s.loop().io()), variables(variable_count),
      variable_set(variable_count, false), plugin_slots(components, nullptr), action_timer(s.loop().io()) {
    handles[0].user = handles[1].user = this;
}

std::optional<std::string_view> User::resource_field(std::string_view field) const {
    for (const auto& lease : leases) {
        auto& pool = shard.scheduler().pool(lease.pool);
        int f = pool.field_index(field);
        if (f >= 0) return pool.value(lease.item, f);
    }
    return std::nullopt;
}

const dsl::Fields* User::variable(uint32_t slot) const {
    if (slot < variables.size() && variable_set[slot]) return &variables[slot];
    const auto& constants = shard.scheduler().script().constants;  // file_blobs, shared by every user
    return slot < constants.size() ? constants[slot].get() : nullptr;
}

std::string User::env(dsl::EnvVar var) const {
    auto& sched = shard.scheduler();
    switch (var) {
    case dsl::EnvVar::user_id: return std::to_string(user_id);
    case dsl::EnvVar::task_id: return std::to_string(task_id);
    case dsl::EnvVar::tick: return std::to_string(sched.now_ms() / sched.script().config.tick_ms);
    case dsl::EnvVar::scenario: return sched.script().scenarios[scenario].name;
    case dsl::EnvVar::phase: return "executing";
    }
    return {};
}

Shard::Shard(Scheduler& scheduler, uint32_t index)
    : scheduler_(scheduler), index_(index), loop_(index), tick_timer_(loop_.io()),
      action_count_(scheduler.script().actions.size()) {
    const auto& script = scheduler.script();
    action_stats_.resize(script.scenarios.size() * action_count_);
    scenario_stats_.resize(script.scenarios.size());
    runs_.resize(script.scenarios.size());
    for (auto& run : runs_) run.next_ordinal = index_;
    if (script.config.send_bytes || script.config.recv_bytes) {
        ntx_rate_t rate{};
        rate.size = sizeof rate;
        rate.send_bytes = script.config.send_bytes;
        rate.recv_bytes = script.config.recv_bytes;
        rate.per_ms = script.config.rate_window_ms;
        loop_.set_default_rate(rate);
    }
}

void Shard::begin() {
    next_tick_ = std::chrono::steady_clock::now();
    const auto& script = scheduler_.script();
    for (uint32_t s = 0; s < runs_.size(); ++s)
        if (script.scenarios[s].model == dsl::Model::open) schedule_arrival(s);
    tick();
}

void Shard::schedule_tick() {
    next_tick_ += std::chrono::milliseconds(scheduler_.script().config.tick_ms);
    auto now = std::chrono::steady_clock::now();
    if (next_tick_ < now) next_tick_ = now;  // never try to catch up on missed ticks in a burst
    tick_timer_.expires_at(next_tick_);
    tick_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) tick();
    });
}

void Shard::tick() {
    if (done_) return;
    ++tick_count_;
    const auto& script = scheduler_.script();
    const uint64_t now = scheduler_.now_ms();
    const uint64_t shards = scheduler_.shard_count();

    // Stop requests: the first stops starting users and lets in-flight actions finish within the
    // grace period; a second (or the end of the grace period) cancels them.
    int level = scheduler_.stop_flag() ? scheduler_.stop_flag()->load(std::memory_order_relaxed) : 0;
    if (level > stop_level_) {
        if (stop_level_ == 0) grace_end_ms_ = now + script.config.grace_ms;
        stop_level_ = level;
        for (uint32_t s = 0; s < runs_.size(); ++s) stop_scenario(s, level >= 2, false);
    }
    if (stop_level_ == 1 && now >= grace_end_ms_) {
        stop_level_ = 2;
        for (uint32_t s = 0; s < runs_.size(); ++s) stop_scenario(s, true, false);
    }

    for (uint32_t s = 0; s < runs_.size(); ++s) {
        ScenarioRun& run = runs_[s];
        const dsl::ScenarioSpec& spec = script.scenarios[s];
        if (!run.stopped && spec.max_duration_ms && now >= spec.max_duration_ms) stop_scenario(s, true, true);
        if (index_ == 0)
            ScenarioStats::bump(scenario_stats_[s].online_per_bucket, now,
                                static_cast<uint32_t>(scheduler_.shared(s).online.load(std::memory_order_relaxed)), true);
        if (run.stopped) continue;

        // Users that wait for a lease try again each tick, oldest first.
        if (!run.waiting.empty()) {
            auto waiting = std::move(run.waiting);
            run.waiting.clear();
            for (User* u : waiting) {
                if (try_lease(*u)) start_task(*u);
                else run.waiting.push_back(u);
            }
        }

        if (spec.model == dsl::Model::open) continue;  // arrivals run on their own timer
        if (spec.profile) {
            follow_profile(s, now);
            continue;
        }
        // Spawn: user ordinal k of the scenario is due at k / spawn-rate seconds; this shard owns the
        // ordinals k = index, index + shards, ...
        while (run.next_ordinal < spec.user_count) {
            double due_ms = spec.spawn_rate > 0 ? static_cast<double>(run.next_ordinal) * 1000.0 / spec.spawn_rate : 0.0;
            if (due_ms > static_cast<double>(now)) break;
            spawn(s, run.next_ordinal);
            run.next_ordinal += shards;
        }
        if (run.next_ordinal >= spec.user_count) run.spawning_done = true;
    }

    expire_deadlines(now);  // task deadlines (workflow timeout), checked on ticks

    reclaim_offline_users();
    publish_live_stats(*this, now);  // a copy of the counters every period, for live readers
    if (all_done()) {
        done_ = true;
        for (auto& run : runs_)
            if (run.arrival_timer) run.arrival_timer->cancel();
        loop_.stop();  // on the loop's own thread
        scheduler_.shard_done();
        return;
    }
    schedule_tick();
}

// Closed model with a profile: move this shard's online users towards its share of the target,
// starting users no faster than spawn-rate and asking the surplus to leave after their action.
void Shard::follow_profile(uint32_t s, uint64_t now) {
    ScenarioRun& run = runs_[s];
    const auto& script = scheduler_.script();
    const dsl::ScenarioSpec& spec = script.scenarios[s];
    const dsl::ProfileSpec& profile = script.profiles[*spec.profile];
    const uint64_t shards = scheduler_.shard_count();
    if (now >= profile.total_ms()) {
        run.spawning_done = true;
        stop_scenario(s, false, false, false);  // the profile's end: users leave after their action
        return;
    }
    auto total = static_cast<uint64_t>(profile.target_at(now));
    uint64_t mine = total / shards + (index_ < total % shards ? 1 : 0);
    uint64_t online = run.active - run.leaving;
    if (spec.spawn_rate > 0) {
        double per_shard = spec.spawn_rate / static_cast<double>(shards);
        run.spawn_tokens = std::min(run.spawn_tokens + per_shard * static_cast<double>(now - run.last_tick_ms) / 1000.0,
                                    std::max(1.0, per_shard));  // at most one second of burst
    }
    run.last_tick_ms = now;
    while (online < mine) {
        if (spec.spawn_rate > 0) {
            if (run.spawn_tokens < 1.0) break;
            run.spawn_tokens -= 1.0;
        }
        spawn(s, run.next_ordinal);
        run.next_ordinal += shards;
        ++online;
    }
    // The newest users leave first.
    for (auto it = users_.rbegin(); online > mine && it != users_.rend(); ++it) {
        User& u = **it;
        if (u.scenario != s || u.state == UserState::offline || u.stop_requested || u.dynamic) continue;
        request_leave(u);
        --online;
    }
}

// Open model: arrival k (of the whole scenario) is due at arrival_time_ms(k); this shard owns
// k = index, index + shards, ... so arrivals are spread evenly, never burst at a tick's start.
void Shard::schedule_arrival(uint32_t s) {
    ScenarioRun& run = runs_[s];
    const dsl::ScenarioSpec& spec = scheduler_.script().scenarios[s];
    double due = spec.arrival_time_ms(run.next_ordinal);
    if (run.stopped || due >= static_cast<double>(spec.duration_ms)) {
        run.spawning_done = true;
        return;
    }
    if (!run.arrival_timer) run.arrival_timer = std::make_unique<boost::asio::steady_timer>(loop_.io());
    run.arrival_timer->expires_at(scheduler_.started() + std::chrono::microseconds(static_cast<int64_t>(due * 1000.0)));
    run.arrival_timer->async_wait([this, s](const boost::system::error_code& ec) {
        if (!ec) on_arrivals(s);
    });
}

void Shard::on_arrivals(uint32_t s) {
    ScenarioRun& run = runs_[s];
    if (run.stopped || done_) return;
    const dsl::ScenarioSpec& spec = scheduler_.script().scenarios[s];
    const uint64_t shards = scheduler_.shard_count();
    auto& stats = scenario_stats_[s];
    auto& shared = scheduler_.shared(s);
    const double now = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - scheduler_.started()).count();
    // Every arrival that is due (several only when the loop fell behind).
    while (true) {
        double due = spec.arrival_time_ms(run.next_ordinal);
        if (due >= static_cast<double>(spec.duration_ms) || due > now) break;
        uint64_t k = run.next_ordinal;
        run.next_ordinal += shards;
        if (spec.max_users && static_cast<uint64_t>(shared.online.load(std::memory_order_relaxed)) >= spec.max_users) {
            ++stats.arrivals_dropped;  // counted and reported, never silently skipped
            continue;
        }
        ++stats.arrivals_started;
        User& u = spawn(s, k);
        (void)u;
    }
    schedule_arrival(s);
}

// Offline users are freed a few ticks after they left, so an open-model run of millions of arrivals
// holds only the users that are online. The delay lets handlers their cancelled timers queued (which
// still read the user) run first: cancelled waits complete on the loop's next turn, long before two
// more ticks.
void Shard::reclaim_offline_users() {
    if (offline_users_ < 64 && !(offline_users_ && tick_count_ % 50 == 0)) return;
    size_t before = users_.size();
    std::erase_if(users_, [this](const std::unique_ptr<User>& u) {
        return u->state == UserState::offline && u->offline_tick + 2 < tick_count_;
    });
    offline_users_ -= before - users_.size();
}

bool Shard::all_done() const {
    if (dynamic_pending_ || dynamic_active_) return false;
    for (const auto& run : runs_)
        if (!(run.spawning_done || run.stopped) || run.active != 0) return false;
    return true;
}

User& Shard::spawn(uint32_t scenario, uint64_t ordinal) {
    const auto& script = scheduler_.script();
    const auto& spec = script.scenarios[scenario];
    // user ids are unique in the run: scenario in the high bits, 1-based ordinal below.
    uint64_t id = (static_cast<uint64_t>(scenario) << 40) | (ordinal + 1);
    users_.push_back(std::make_unique<User>(*this, id, scenario, script.variables.size(), script.components.size()));
    User& u = *users_.back();
    u.workflow = &script.workflows[spec.workflow];
    const uint64_t now = scheduler_.now_ms();
    ++scenario_stats_[scenario].spawned;
    ScenarioStats::bump(scenario_stats_[scenario].started_per_bucket, now, 1, false);
    ++runs_[scenario].active;
    auto& shared = scheduler_.shared(scenario);
    int64_t online = shared.online.fetch_add(1, std::memory_order_relaxed) + 1;
    int64_t peak = shared.peak_online.load(std::memory_order_relaxed);
    while (online > peak && !shared.peak_online.compare_exchange_weak(peak, online, std::memory_order_relaxed)) {
    }
    if (spec.model == dsl::Model::open) {
        u.single_task = true;
        double due = spec.arrival_time_ms(ordinal);
        u.intended_start = scheduler_.started() + std::chrono::microseconds(static_cast<int64_t>(due * 1000.0));
    }
    if (spec.task_duration_ms) u.user_deadline_ms = now + spec.task_duration_ms;
    if (!try_lease(u)) {
        u.state = UserState::waiting_resource;
        runs_[scenario].waiting.push_back(&u);
        return u;
    }
    start_task(u);
    return u;
}

bool Shard::try_lease(User& u) {
    const auto& spec = scheduler_.script().scenarios[u.scenario];
    for (uint32_t pool : spec.inherit) {
        auto item = scheduler_.pool(pool).acquire();
        if (!item) {
            for (const auto& lease : u.leases) scheduler_.pool(lease.pool).release(lease.item);
            u.leases.clear();
            return false;
        }
        u.leases.push_back({pool, *item});
    }
    return true;
}

void Shard::start_task(User& u, bool restart) {
    const auto& wf = *u.workflow;
    u.state = UserState::running;
    if (!restart) {
        if (u.preset_task_id) {
            u.task_id = u.preset_task_id;
            u.preset_task_id = 0;
        } else {
            u.task_id = ++task_counter_ * scheduler_.shard_count() + index_;
            ++scenario_stats_[u.scenario].tasks;
        }
        u.task_retries = 0;
    }
    u.step = 0;
    u.attempts = 0;
    u.handler = nullptr;
    u.task_timed_out = false;
    // Every loop's counter exists from the start: a goto may enter a loop's body past its init.
    if (wf.loops) u.loop_counters.assign(wf.loops, 0);
    u.task_deadline_ms = wf.timeout_ms ? scheduler_.now_ms() + wf.timeout_ms : 0;
    link_deadline(u);
    if (!u.dynamic) std::fill(u.variable_set.begin(), u.variable_set.end(), false);  // a dynamic task keeps its copy
    run_step(u);
}

// ---- the deadline wheel ------------------------------------------------------------------------------
// Slot k holds the users whose task deadline falls due at a tick t with t % kDeadlineSlots == k. A tick
// sweeps the slots of the ticks that passed since the last sweep; an entry due in a later revolution
// stays where it is. Cost per tick: the users that fall due, plus the few a full revolution away.

void Shard::link_deadline(User& u) {
    unlink_deadline(u);
    if (!u.task_deadline_ms) return;
    const uint64_t tick_ms = scheduler_.script().config.tick_ms;
    u.deadline_tick = (u.task_deadline_ms + tick_ms - 1) / tick_ms;  // the first tick at or after the deadline
    User*& head = deadline_wheel_[u.deadline_tick % kDeadlineSlots];
    u.deadline_prev = nullptr;
    u.deadline_next = head;
    if (head) head->deadline_prev = &u;
    head = &u;
    u.deadline_linked = true;
}

void Shard::unlink_deadline(User& u) {
    if (!u.deadline_linked) return;
    if (u.deadline_prev) u.deadline_prev->deadline_next = u.deadline_next;
    else deadline_wheel_[u.deadline_tick % kDeadlineSlots] = u.deadline_next;
    if (u.deadline_next) u.deadline_next->deadline_prev = u.deadline_prev;
    u.deadline_prev = u.deadline_next = nullptr;
    u.deadline_linked = false;
}

void Shard::expire_deadlines(uint64_t now) {
    const uint64_t tick_ms = scheduler_.script().config.tick_ms;
    const uint64_t current = now / tick_ms;
    if (current < deadline_tick_done_) return;
    // After a stall longer than a revolution every slot is due once.
    uint64_t first = current - deadline_tick_done_ >= kDeadlineSlots ? current - kDeadlineSlots + 1 : deadline_tick_done_;
    for (uint64_t t = first; t <= current; ++t) {
        User* u = deadline_wheel_[t % kDeadlineSlots];
        while (u) {
            User* next = u->deadline_next;
            if (u->deadline_tick <= current) {
                unlink_deadline(*u);
                // The task's time is over: an action in flight is cancelled as a timeout (on_action_end
                // runs the on-timeout handler); a parked user wakes and run_step does the same. A handler
                // already running (compensations) finishes under its actions' own timeouts.
                if (u->state == UserState::running && !u->handler) {
                    if (u->in_action()) scheduler_.frame().cancel(*u, Outcome::timeout, NTX_E_TIMEOUT, "workflow timeout");
                    else if (u->waiting) u->wait_timer.cancel();
                }
            }
            u = next;
        }
    }
    deadline_tick_done_ = current + 1;
}

void Shard::run_step(User& u) {
    const auto& script = scheduler_.script();
    const auto& wf = *u.workflow;
    if (u.stop_requested) return finish(u);
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
            ++scenario_stats_[u.scenario].condition_errors;
            scheduler_.frame().log().warn("[user={} task={}] workflow '{}' ran 100000 steps without an action or think; "
                                          "the task ends through error_out", u.user_id, u.task_id, wf.name);
            return end_task(u, dsl::Exit::error_out, true);
        }
        const dsl::Step& step = wf.steps[u.step];
        switch (step.kind) {
        case dsl::Step::Kind::think:
            ++u.step;  // parked: no action in flight, the user leaves at once if asked to stop
            return wait_then(u, step.think_ms, User::Resume::step);
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
                }
            }
            u.step = more ? u.step + 1 : step.target;
            continue;
        }
        case dsl::Step::Kind::loop_next:
            ++u.loop_counters[step.loop];
            u.step = step.target;
            continue;
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
            return wait_then(u, next - now, User::Resume::step);
        }
        next = std::max(next, now) + static_cast<uint64_t>(1000.0 / a.rate_per_user);
    }
    scheduler_.frame().dispatch(u, u.action);
}

// Evaluates a condition for `u`. A condition that cannot be evaluated (a missing value, a type
// mismatch) is counted and logged; the caller ends the task through error_out.
bool Shard::test(User& u, const dsl::Expression& cond, bool& holds) {
    dsl::Value v;
    std::string error;
    if (!cond.eval(u, v, error)) {
        ++scenario_stats_[u.scenario].condition_errors;
        scheduler_.frame().log().warn("[user={} task={}] condition failed: {}; the task ends through error_out", u.user_id,
                                      u.task_id, error);
        return false;
    }
    holds = v.truthy();
    return true;
}

void Shard::wait_then(User& u, uint64_t delay_ms, User::Resume resume) {
    u.waiting = true;
    u.resume = resume;
    u.wait_timer.expires_after(std::chrono::milliseconds(delay_ms));
    u.wait_timer.async_wait([this, &u](const boost::system::error_code&) {
        // Also on cancel: a stop request (or the task deadline) cancels the wait, and what resumes
        // lets the user leave (or run its on-timeout handler).
        u.waiting = false;
        if (u.state == UserState::offline) return;
        switch (u.resume) {
        case User::Resume::step: return run_step(u);
        case User::Resume::handler: return run_handler(u);
        case User::Resume::task_restart:
            if (u.stop_requested) return finish(u);
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
        for (auto [u, outcome] : ready_running_) on_action_end(*u, outcome);
        ready_running_.clear();  // both vectors keep their capacity
    });
}

void Shard::on_action_end(User& u, Outcome outcome) {
    if (u.handler) {
        // A compensating action of a handler ended: its outcome is counted (ProtocolFrame did), never
        // handled again; the handler goes on.
        if (outcome == Outcome::cancelled) {
            u.ended_by_stop = true;
            if (u.timeout_on_cancel) ++scenario_stats_[u.scenario].exit_timeout;
            u.handler = nullptr;
            return finish(u);
        }
        return run_handler(u);
    }
    switch (outcome) {
    case Outcome::ok:
        if (u.stop_requested) return finish(u);
        ++u.step;
        u.attempts = 0;
        return run_step(u);
    case Outcome::error: return on_failure(u, false);
    case Outcome::timeout: return on_failure(u, true);
    case Outcome::cancelled:
        u.ended_by_stop = true;
        if (u.timeout_on_cancel) ++scenario_stats_[u.scenario].exit_timeout;
        return finish(u);
    }
}

void Shard::on_failure(User& u, bool timeout) {
    const auto& script = scheduler_.script();
    const auto& wf = *u.workflow;
    const dsl::ActionSpec& a = script.actions[u.action];
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
    if (!u.stop_requested && u.attempts < max) {
        // Exponential backoff with jitter: the n-th wait is drawn from [d/2, d], d = initial * 2^(n-1).
        ++u.attempts;
        ++action_stats(u.scenario, u.action).retries;
        uint64_t cap = backoff_cap ? backoff_cap : 30'000;
        uint64_t d = std::min(cap, backoff << std::min<uint32_t>(u.attempts - 1, 20));
        std::uniform_int_distribution<uint64_t> jitter(d / 2, d);
        return wait_then(u, jitter(rng_), User::Resume::step);
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
    if (u.stop_requested) {
        // A leaving user runs no more steps; its task still ends through an exit and is counted there
        // (a route that would keep the user working falls back to the handler's default exit).
        u.handler = nullptr;
        dsl::Route route = h.route;
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
        case dsl::Step::Kind::think: return wait_then(u, step.think_ms, User::Resume::handler);
        case dsl::Step::Kind::action:
            // A compensating action: no per-user rate wait, no retry; its outcome is counted.
            u.action = step.action;
            return scheduler_.frame().dispatch(u, u.action);
        default: continue;  // a handler holds only action, think and log steps (the parser's rule)
        }
    }
    u.handler = nullptr;
    follow_route(u, h.route, u.handler_timeout);
}

void Shard::follow_route(User& u, dsl::Route route, bool timeout) {
    auto& st = scenario_stats_[u.scenario];
    switch (route) {
    case dsl::Route::error_out: return end_task(u, dsl::Exit::error_out, true);
    case dsl::Route::timeout_out: return end_task(u, dsl::Exit::timeout_out, true);
    case dsl::Route::closing: return end_task(u, dsl::Exit::closing, true);
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
        return wait_then(u, jitter(rng_), User::Resume::task_restart);
    }
    case dsl::Route::rollback:
        // What the task saved is discarded; the task counts as rolled back, and the user goes on as
        // after any task (its next task, or leaving).
        std::fill(u.variable_set.begin(), u.variable_set.end(), false);
        ++st.exit_rollback;
        return end_task(u, dsl::Exit::closing, false);
    case dsl::Route::stop_user:
        ++st.exit_stop_user;
        u.ended_by_stop = true;
        return finish(u);
    }
}

void Shard::end_task(User& u, dsl::Exit exit, bool by_exit) {
    auto& st = scenario_stats_[u.scenario];
    if (u.dynamic) return finish(u);  // a dynamic task's outcome is its action's; the scenario's exits are its users'
    if (by_exit) {
        switch (exit) {
        case dsl::Exit::error_out: ++st.exit_error; break;
        case dsl::Exit::timeout_out: ++st.exit_timeout; break;
        case dsl::Exit::closing: ++st.exit_closing; return finish(u);  // goto closing ends the user
        }
    }
    if (!u.stop_requested && !u.single_task) {
        const auto& spec = scheduler_.script().scenarios[u.scenario];
        // With a profile a user repeats its workflow while it stays online; with task-duration until then.
        if (spec.profile || (u.user_deadline_ms && scheduler_.now_ms() < u.user_deadline_ms)) return start_task(u);
    }
    finish(u);
}

void Shard::finish(User& u) {
    if (u.state == UserState::offline) return;
    unlink_deadline(u);
    u.handler = nullptr;
    if (u.action_timer_armed) {
        u.action_timer.cancel();  // its handler returns on the cancel without touching the user
        u.action_timer_armed = false;
    }
    if (u.dynamic) {
        // Outside the call model: no online count, no leases of its own (they are its requester's).
        u.leases.clear();
        scheduler_.frame().release_user(u);
        ++scenario_stats_[u.scenario].dynamic_ended;
        u.state = UserState::offline;
        u.offline_tick = tick_count_;
        ++offline_users_;
        --dynamic_active_;
        scheduler_.dynamic_running().fetch_sub(1, std::memory_order_relaxed);
        return;
    }
    for (const auto& lease : u.leases) scheduler_.pool(lease.pool).release(lease.item);
    u.leases.clear();
    scheduler_.frame().release_user(u);
    auto& st = scenario_stats_[u.scenario];
    if (u.ended_by_stop) ++st.stopped;
    else ++st.completed;
    u.state = UserState::offline;
    u.offline_tick = tick_count_;
    ++offline_users_;
    --runs_[u.scenario].active;
    if (u.stop_requested) --runs_[u.scenario].leaving;
    auto& shared = scheduler_.shared(u.scenario);
    shared.online.fetch_sub(1, std::memory_order_relaxed);
    uint64_t now = scheduler_.now_ms();
    uint64_t prev = shared.end_ms.load(std::memory_order_relaxed);
    while (now > prev && !shared.end_ms.compare_exchange_weak(prev, now, std::memory_order_relaxed)) {
    }
}

void Shard::request_leave(User& u) {
    if (u.stop_requested) return;
    u.stop_requested = true;
    if (!u.dynamic) ++runs_[u.scenario].leaving;
    if (u.waiting) u.wait_timer.cancel();  // a user parked in a backoff or rate wait leaves now
    if (u.state == UserState::waiting_resource) {
        auto& waiting = runs_[u.scenario].waiting;
        waiting.erase(std::remove(waiting.begin(), waiting.end(), &u), waiting.end());
        finish(u);
    }
    // A running user leaves when its current action ends (on_action_end / end_task).
}

void Shard::stop_scenario(uint32_t scenario, bool cancel_in_flight, bool as_timeout, bool counts_as_stop) {
    ScenarioRun& run = runs_[scenario];
    run.stopped = true;
    run.spawning_done = true;
    if (run.arrival_timer) run.arrival_timer->cancel();
    for (auto& up : users_) {
        User& u = *up;
        if (u.scenario != scenario || u.state == UserState::offline) continue;
        if (counts_as_stop) u.ended_by_stop = true;
        request_leave(u);
        if (cancel_in_flight && u.in_action()) {
            u.timeout_on_cancel = as_timeout;
            scheduler_.frame().cancel(u, Outcome::cancelled, NTX_E_CANCELLED,
                                      as_timeout ? "max-duration reached" : "run stopped");
        }
    }
}

// ---- dynamic tasks -------------------------------------------------------------------------------------

ntx_status_t Shard::request_task(User& parent, uint32_t action, std::vector<std::pair<std::string, std::string>> overrides,
                                 uint64_t& task_id) {
    const auto& config = scheduler_.script().config;
    auto& st = scenario_stats_[parent.scenario];
    ++st.dynamic_requested;
    if (done_ || stop_level_ > 0 || runs_[parent.scenario].stopped || parent.stop_requested) {
        ++st.dynamic_refused;
        return NTX_E_CANCELLED;
    }
    if (config.dynamic_rate > 0) {
        // A token bucket per shard: this shard's share of the rate, at most one second of burst.
        const uint64_t now = scheduler_.now_ms();
        const double per_shard = config.dynamic_rate / scheduler_.shard_count();
        if (!dynamic_tokens_started_) {
            dynamic_tokens_started_ = true;
            dynamic_tokens_ = std::max(1.0, per_shard);
        } else if (now > dynamic_tokens_ms_) {
            dynamic_tokens_ = std::min(dynamic_tokens_ + per_shard * static_cast<double>(now - dynamic_tokens_ms_) / 1000.0,
                                       std::max(1.0, per_shard));
        }
        dynamic_tokens_ms_ = std::max(now, dynamic_tokens_ms_);
        if (dynamic_tokens_ < 1.0) {
            ++st.dynamic_refused;
            return NTX_E_LIMIT;
        }
        dynamic_tokens_ -= 1.0;
    }
    auto& running = scheduler_.dynamic_running();
    if (running.fetch_add(1, std::memory_order_relaxed) >= config.dynamic_max_concurrent) {
        running.fetch_sub(1, std::memory_order_relaxed);
        ++st.dynamic_refused;
        return NTX_E_LIMIT;
    }
    task_id = ++task_counter_ * scheduler_.shard_count() + index_;
    ++dynamic_pending_;
    // Started on the loop's next turn, never inside the plugin's call. It reads its requester's
    // resource fields and a copy of the variables saved so far.
    boost::asio::post(loop_.io(), [this, scenario = parent.scenario, parent_id = parent.user_id, action, id = task_id,
                                   overrides = std::move(overrides), leases = parent.leases,
                                   variables = parent.variables, set = parent.variable_set]() mutable {
        spawn_dynamic(scenario, parent_id, action, id, std::move(overrides), std::move(leases), std::move(variables),
                      std::move(set));
    });
    return NTX_OK;
}

void Shard::spawn_dynamic(uint32_t scenario, uint64_t parent_id, uint32_t action, uint64_t task_id,
                          std::vector<std::pair<std::string, std::string>> overrides, std::vector<Lease> leases,
                          std::vector<dsl::Fields> variables, std::vector<bool> variable_set) {
    --dynamic_pending_;
    auto& st = scenario_stats_[scenario];
    if (done_ || stop_level_ > 0 || runs_[scenario].stopped) {
        // The run ended between the request and now: the task never starts (counted as refused).
        ++st.dynamic_refused;
        scheduler_.dynamic_running().fetch_sub(1, std::memory_order_relaxed);
        return;
    }
    const auto& script = scheduler_.script();
    // Dynamic user ids: the top bit set, then the scenario, then a per-shard sequence.
    uint64_t id = (uint64_t{1} << 63) | (static_cast<uint64_t>(scenario) << 40) |
                  ((++dynamic_seq_ * scheduler_.shard_count() + index_) & ((uint64_t{1} << 40) - 1));
    users_.push_back(std::make_unique<User>(*this, id, scenario, script.variables.size(), script.components.size()));
    User& u = *users_.back();
    u.dynamic = true;
    u.single_task = true;
    u.workflow = &scheduler_.dynamic_workflow(action);
    u.preset_task_id = task_id;
    u.overrides = std::move(overrides);
    u.leases = std::move(leases);
    u.variables = std::move(variables);
    u.variable_set = std::move(variable_set);
    ++dynamic_active_;
    ++st.dynamic_started;
    if (scheduler_.frame().log().should_log(spdlog::level::debug))
        scheduler_.frame().log().debug("[user={} task={}] dynamic task of user {} starts {}", id, task_id, parent_id,
                                       scheduler_.script().actions[action].name);
    start_task(u);
}

}  // namespace ntx::scheduler
