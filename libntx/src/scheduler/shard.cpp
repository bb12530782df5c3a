#include "scheduler/shard.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include <spdlog/spdlog.h>

#include "frame/protocol_frame.hpp"
#include "progress/bus.hpp"
#include "scheduler/live_stats.hpp"
#include "scheduler/scheduler.hpp"

namespace ntx::scheduler {

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

    check_stop(now);

    for (uint32_t s = 0; s < runs_.size(); ++s) {
        ScenarioRun& run = runs_[s];
        const dsl::ScenarioSpec& spec = script.scenarios[s];
        if (!run.stopped && spec.max_duration_ms && now >= spec.max_duration_ms) stop_scenario(s, true, true);
        if (index_ == 0)
            ScenarioStats::bump(scenario_stats_[s].online_per_bucket, now,
                                static_cast<uint32_t>(scheduler_.shared(s).online.load(std::memory_order_relaxed)), true);
        if (run.stopped) continue;

        // Users that wait for a lease try again each tick, oldest first. Once one finds the pools dry
        // the rest would too (a scenario's users inherit the same pools): they only check their
        // deadline until the next tick.
        if (!run.waiting.empty()) {
            auto waiting = std::move(run.waiting);
            run.waiting.clear();
            bool dry = false;
            for (User* u : waiting) {
                if (!dry && try_lease(*u)) {
                    end_lease_wait(*u, false);
                    start_task(*u);
                } else if (u->wait_deadline_ms && now >= u->wait_deadline_ms) {
                    dry = true;
                    end_lease_wait(*u, true);
                    ++scenario_stats_[s].resource_wait_timeouts;
                    u->end_reason = EndReason::gave_up_waiting;
                    finish(*u);
                } else {
                    dry = true;
                    run.waiting.push_back(u);
                }
            }
        }

        if (spec.model == dsl::Model::open) continue;  // arrivals run on their own timer
        if (spec.profile) {
            follow_profile(s, now);
            continue;
        }
        // Spawn: user ordinal k of the scenario is due at k / spawn-rate seconds; this shard owns the
        // ordinals k = index, index + shards, ...
        while (run.next_ordinal < spec.user_count && !run.stopped && stop_flag_level() == 0) {
            double due_ms = spec.spawn_rate > 0 ? static_cast<double>(run.next_ordinal) * 1000.0 / spec.spawn_rate : 0.0;
            if (due_ms > static_cast<double>(now)) break;
            spawn(s, run.next_ordinal);
            run.next_ordinal += shards;
        }
        if (run.next_ordinal >= spec.user_count) run.spawning_done = true;
    }

    expire_deadlines(now);  // task deadlines (workflow timeout), checked on ticks

    reclaim_offline_users();
    flush_workbook();  // what changed in the ledger this tick, to the progress bus
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

// Stop requests: the first stops starting users and lets in-flight actions finish within the grace
// period; a second (or the end of the grace period) cancels them.
void Shard::check_stop(uint64_t now) {
    int level = stop_flag_level();
    if (level > stop_level_) {
        if (stop_level_ == 0) grace_end_ms_ = now + scheduler_.script().config.grace_ms;
        stop_level_ = level;
        for (uint32_t s = 0; s < runs_.size(); ++s) stop_scenario(s, level >= 2, false);
    }
    if (stop_level_ == 1 && now >= grace_end_ms_) {
        stop_level_ = 2;
        for (uint32_t s = 0; s < runs_.size(); ++s) stop_scenario(s, true, false);
    }
}

int Shard::stop_flag_level() const {
    const std::atomic<int>* flag = scheduler_.stop_flag();
    return flag ? flag->load(std::memory_order_relaxed) : 0;
}

// A stop request (a fatal exit on any loop, a signal) is seen by a user at its next task or step, not
// only at this shard's next tick: one relaxed load of a flag that is written once. The user leaves (as
// the tick's stop would make it), and the tick's stop handling runs on the loop's next turn for the rest.
bool Shard::stop_seen(User& u) {
    if (u.leaving()) return true;
    if (stop_level_ != 0 || stop_flag_level() == 0) return false;
    u.mark_stopped();
    request_leave(u);
    if (!stop_posted_) {
        stop_posted_ = true;
        boost::asio::post(loop_.io(), [this] {
            if (!done_) check_stop(scheduler_.now_ms());
        });
    }
    return true;
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
    while (online < mine && stop_flag_level() == 0) {
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
        if (u.scenario != s || u.state == UserState::offline || u.leaving() || u.outside_call_model()) continue;
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
    if (stop_flag_level() != 0) return check_stop(scheduler_.now_ms());
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
        // Visible in the ledger while it waits; its task id comes when the task starts.
        u.wb = ledger_.open(u.user_id, 0, scenario, now, workbook::State::executing_waiting_resource);
        scheduler_.workbook_entries().fetch_add(1, std::memory_order_relaxed);
        wait_for_lease(u);
        return u;
    }
    start_task(u);
    return u;
}

// All or nothing: a user holds an item of every pool its scenario inherits, or none (a user holding
// one pool's item while waiting for another's could wait for ever on a user doing the opposite).
bool Shard::try_lease(User& u) {
    const auto& spec = scheduler_.script().scenarios[u.scenario];
    for (uint32_t pool : spec.inherit) {
        auto grant = scheduler_.pool(pool).acquire(u.user_id);
        if (!grant) {
            release_leases(u, resource::ReleaseReason::requeue);
            u.wait_pool = pool;
            return false;
        }
        u.leases.push_back({pool, grant->item, grant->expires_ms});
    }
    return true;
}

void Shard::release_leases(User& u, resource::ReleaseReason why) {
    for (const auto& lease : u.leases) scheduler_.pool(lease.pool).release(lease.item, u.user_id, why);
    u.leases.clear();
}

// The wait's limit: the smallest leasing.wait-timeout of the scenario's pools, else the workflow's
// timeout, else none (max-duration or a stop still ends the wait).
void Shard::wait_for_lease(User& u) {
    const auto& script = scheduler_.script();
    u.enter(UserState::waiting_resource);
    u.wait_since_ms = scheduler_.now_ms();
    uint64_t limit = 0;
    for (uint32_t pool : script.scenarios[u.scenario].inherit) {
        uint64_t t = script.pools[pool].wait_timeout_ms;
        if (t && (!limit || t < limit)) limit = t;
    }
    if (!limit) limit = u.workflow->timeout_ms;
    u.wait_deadline_ms = limit ? u.wait_since_ms + limit : 0;
    scheduler_.pool(u.wait_pool).count_wait();
    scheduler_.shared(u.scenario).waiting_resource.fetch_add(1, std::memory_order_relaxed);
    runs_[u.scenario].waiting.push_back(&u);
}

void Shard::end_lease_wait(User& u, bool timed_out) {
    scheduler_.pool(u.wait_pool).end_wait(scheduler_.now_ms() - u.wait_since_ms, timed_out);
    scheduler_.shared(u.scenario).waiting_resource.fetch_sub(1, std::memory_order_relaxed);
}

bool Shard::refresh_leases(User& u) {
    // Dynamic tasks of this user still run with its items: they stay as they are until those end.
    if (auto it = borrowed_.find(u.user_id); it != borrowed_.end() && it->second.children) return true;
    bool lost = false;
    for (auto& lease : u.leases)
        if (!scheduler_.pool(lease.pool).refresh(lease.item, u.user_id, lease.expires_ms)) {
            lease.pool = UINT32_MAX;  // given back by the pool
            lost = true;
        }
    if (!lost) return true;
    uint32_t lost_pool = 0;
    for (size_t i = 0; i < u.leases.size(); ++i)
        if (u.leases[i].pool == UINT32_MAX) lost_pool = scheduler_.script().scenarios[u.scenario].inherit[i];
    std::erase_if(u.leases, [](const Lease& l) { return l.pool == UINT32_MAX; });
    release_leases(u, resource::ReleaseReason::requeue);
    // Users already waiting go first: this one queues behind them rather than take the item back.
    if (scheduler_.shared(u.scenario).waiting_resource.load(std::memory_order_relaxed) == 0) {
        if (try_lease(u)) return true;  // else try_lease named the dry pool
    } else {
        u.wait_pool = lost_pool;
    }
    wait_for_lease(u);
    return false;
}

void Shard::on_item_down(uint32_t pool, uint32_t item) {
    for (auto& up : users_) {
        User& u = *up;
        if (!u.in_task() || u.outside_call_model() || u.rollback_requested) continue;
        bool holds = false;
        for (const auto& l : u.leases) holds |= l.pool == pool && l.item == item;
        if (!holds) continue;
        u.rollback_requested = true;
        // Whatever it is doing ends now: an action in flight is cancelled (counted as cancelled), a
        // wait wakes; either path sees the request and rolls the task back. A user parked on a
        // parallel step ends its branches the same way, and rolls back when the last has ended.
        if (u.in_action()) scheduler_.frame().cancel(u.slot, Outcome::cancelled, NTX_E_CANCELLED, "its resource item went down");
        else if (u.parked()) u.wait_timer.cancel();
        for (User* b : std::vector<User*>(u.branch_children)) {
            request_leave(*b);
            if (b->in_action()) scheduler_.frame().cancel(b->slot, Outcome::cancelled, NTX_E_CANCELLED, "its resource item went down");
        }
    }
}

// The seeds' progress.rollback -> last-stable-point: what the task saved is discarded and it ends
// rolled back; the user's next task (if any) leases a healthy item at its boundary.
void Shard::rollback_now(User& u) {
    u.rollback_requested = false;
    u.handler = nullptr;
    if (!u.leases.empty()) {
        uint32_t pool = u.leases.front().pool;  // the pool whose item went down (else the first)
        for (const auto& l : u.leases)
            if (!scheduler_.pool(l.pool).healthy(l.item)) pool = l.pool;
        scheduler_.pool(pool).count_rollback();
    }
    follow_route(u, dsl::Route::rollback, false);
}

void Shard::start_task(User& u, bool restart) {
    const auto& wf = *u.workflow;
    u.enter(UserState::running);  // from pending, waiting_resource, or running (its next task)
    if (stop_seen(u)) return finish(u);  // it leaves at its task boundary: no new task is counted
    if (!restart) {
        if (u.preset_task_id) {
            u.task_id = u.preset_task_id;
            u.preset_task_id = 0;
        } else {
            u.task_id = ++task_counter_ * scheduler_.shard_count() + index_;
            ++scenario_stats_[u.scenario].tasks;
        }
        u.task_retries = 0;
        const uint64_t now = scheduler_.now_ms();
        if (u.branch_parent) {
            // a branch keeps its parent's entry (spawn_branch)
        } else if (u.wb != UINT32_MAX && ledger_.at(u.wb).task_id == 0 && !workbook::is_final(ledger_.at(u.wb).state)) {
            workbook::Entry& e = ledger_.at(u.wb);  // the entry it waited for a resource in
            e.task_id = u.task_id;
            e.start_at_ms = now;
        } else {
            u.wb = ledger_.open(u.user_id, u.task_id, u.scenario, now, workbook::State::executing_running_action);
            scheduler_.workbook_entries().fetch_add(1, std::memory_order_relaxed);
        }
        ledger_.at(u.wb).dynamic = u.dynamic;
        // user.context: the scenario's baseline fields of every task's entry (a branch shares its parent's).
        const dsl::Step& context = scheduler_.script().scenarios[u.scenario].context;
        if (!u.branch_parent && !context.updates.empty()) wb_apply(u, context);
    }
    u.step = 0;
    u.attempts = 0;
    u.handler = nullptr;
    u.task_timed_out = false;
    // Every loop's counter exists from the start: a goto may enter a loop's body past its init.
    if (wf.loops) u.loop_counters.assign(wf.loops, 0);
    u.task_deadline_ms = wf.timeout_ms ? scheduler_.now_ms() + wf.timeout_ms : 0;
    if (u.branch_parent) u.task_deadline_ms = u.branch_parent->task_deadline_ms;  // a branch runs under its task's
    if (u.task_deadline_ms) ledger_.set_timeout_at(u.wb, u.task_deadline_ms);
    link_deadline(u);
    if (!u.outside_call_model()) u.clear_task_variables();  // a dynamic task or a branch keeps its copy
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
                if (u->in_task() && !u->handler) {
                    if (u->in_action()) scheduler_.frame().cancel(u->slot, Outcome::timeout, NTX_E_TIMEOUT, "workflow timeout");
                    else if (u->parked()) u->wait_timer.cancel();
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
            return wait_then(u, Activity::think, step.think_ms, User::Resume::step);
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
    wait_until(u, why, std::chrono::steady_clock::now() + std::chrono::milliseconds(delay_ms), resume);
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
        for (auto [u, outcome] : ready_running_) on_action_end(*u, outcome);
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
            return wait_then(u, Activity::think, step.think_ms, User::Resume::handler);
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
            auto at = std::chrono::steady_clock::now() + std::chrono::milliseconds(spec.pace_after_failure_ms);
            if (spec.pace_after_failure == dsl::ScenarioSpec::FailurePacing::tick) {
                at = next_tick_;  // the shard's next tick (or the one after, when this one is under way)
                if (at <= std::chrono::steady_clock::now()) at += std::chrono::milliseconds(scheduler_.script().config.tick_ms);
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

void Shard::finish(User& u) {
    if (u.state == UserState::offline) return;
    // A task still open ends here: the user was stopped (or simply ended).
    wb_close(u, u.stopped() ? workbook::State::closing_stopped : workbook::State::closing_done);
    unlink_deadline(u);
    u.handler = nullptr;
    if (u.branch_parent) return branch_ended(u);
    if (u.dynamic) {
        // Outside the call model: no online count, no leases of its own (they are its requester's).
        u.leases.clear();
        end_borrow(u.parent_id);
        scheduler_.frame().close_slot(u.slot);
        ++scenario_stats_[u.scenario].dynamic_ended;
        u.enter(UserState::offline);
        u.offline_tick = tick_count_;
        ++offline_users_;
        --dynamic_active_;
        scheduler_.dynamic_running().fetch_sub(1, std::memory_order_relaxed);
        return;
    }
    // Every exit path ends here. Leases its running dynamic tasks borrow are released when they end.
    if (auto it = borrowed_.find(u.user_id); it != borrowed_.end() && it->second.children) {
        it->second.parent_done = true;
        it->second.leases = std::move(u.leases);
        u.leases.clear();
    } else {
        release_leases(u, resource::ReleaseReason::end);
    }
    u.rollback_requested = false;
    scheduler_.frame().close_slot(u.slot);
    auto& st = scenario_stats_[u.scenario];
    if (u.end_reason == EndReason::gave_up_waiting) {
        // counted in resource_wait_timeouts
    } else if (u.stopped()) ++st.stopped;
    else ++st.completed;
    const bool was_leaving = u.leaving();
    u.enter(UserState::offline);
    u.offline_tick = tick_count_;
    ++offline_users_;
    --runs_[u.scenario].active;
    if (was_leaving) {
        --runs_[u.scenario].leaving;
        scheduler_.shared(u.scenario).stopping.fetch_sub(1, std::memory_order_relaxed);
    }
    auto& shared = scheduler_.shared(u.scenario);
    shared.online.fetch_sub(1, std::memory_order_relaxed);
    uint64_t now = scheduler_.now_ms();
    uint64_t prev = shared.end_ms.load(std::memory_order_relaxed);
    while (now > prev && !shared.end_ms.compare_exchange_weak(prev, now, std::memory_order_relaxed)) {
    }
}

void Shard::request_leave(User& u) {
    if (u.leaving() || u.state == UserState::offline) return;
    const bool was_waiting_resource = u.state == UserState::waiting_resource;
    u.enter(UserState::leaving);
    if (!u.outside_call_model()) {
        ++runs_[u.scenario].leaving;
        scheduler_.shared(u.scenario).stopping.fetch_add(1, std::memory_order_relaxed);
    }
    for (User* branch : u.branch_children) request_leave(*branch);  // parked on a parallel step
    if (u.parked()) u.wait_timer.cancel();  // a user parked in a backoff or rate wait leaves now
    if (was_waiting_resource) {
        auto& waiting = runs_[u.scenario].waiting;
        waiting.erase(std::remove(waiting.begin(), waiting.end(), &u), waiting.end());
        scheduler_.shared(u.scenario).waiting_resource.fetch_sub(1, std::memory_order_relaxed);
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
        if (counts_as_stop) u.mark_stopped();
        request_leave(u);
        if (cancel_in_flight && u.in_action()) {
            if (as_timeout) u.end_reason = EndReason::stopped_in_timeout;
            else if (u.end_reason == EndReason::stopped_in_timeout) u.end_reason = EndReason::stopped;
            scheduler_.frame().cancel(u.slot, Outcome::cancelled, NTX_E_CANCELLED,
                                      as_timeout ? "max-duration reached" : "run stopped");
        }
    }
}

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

// ---- dynamic tasks -------------------------------------------------------------------------------------

ntx_status_t Shard::request_dynamic_task(User& parent, uint32_t action,
                                         std::vector<std::pair<std::string, std::string>> overrides, uint64_t& task_id) {
    const auto& config = scheduler_.script().config;
    auto& st = scenario_stats_[parent.scenario];
    ++st.dynamic_requested;
    if (done_ || stop_level_ > 0 || stop_flag_level() > 0 || runs_[parent.scenario].stopped || parent.leaving()) {
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
    // A dynamic task's own dynamic tasks borrow from the same (static) user.
    const uint64_t owner = parent.dynamic ? parent.parent_id : parent.user_id;
    ++borrowed_[owner].children;
    // Started on the loop's next turn, never inside the plugin's call. It reads its requester's
    // resource fields and a copy of the variables saved so far.
    boost::asio::post(loop_.io(), [this, scenario = parent.scenario, parent_id = owner, action, id = task_id,
                                   overrides = std::move(overrides), leases = parent.leases,
                                   variables = parent.variables, set = parent.variable_set]() mutable {
        spawn_dynamic(scenario, parent_id, action, id, std::move(overrides), std::move(leases), std::move(variables),
                      std::move(set));
    });
    return NTX_OK;
}

void Shard::end_borrow(uint64_t parent_id) {
    auto it = borrowed_.find(parent_id);
    if (it == borrowed_.end() || --it->second.children > 0) return;
    if (it->second.parent_done)
        for (const auto& lease : it->second.leases)
            scheduler_.pool(lease.pool).release(lease.item, parent_id, resource::ReleaseReason::end);
    borrowed_.erase(it);
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
        end_borrow(parent_id);
        return;
    }
    const auto& script = scheduler_.script();
    // Dynamic user ids: the top bit set, then the scenario, then a per-shard sequence.
    uint64_t id = (uint64_t{1} << 63) | (static_cast<uint64_t>(scenario) << 40) |
                  ((++dynamic_seq_ * scheduler_.shard_count() + index_) & ((uint64_t{1} << 40) - 1));
    users_.push_back(std::make_unique<User>(*this, id, scenario, script.variables.size(), script.components.size()));
    User& u = *users_.back();
    u.dynamic = true;
    u.parent_id = parent_id;
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

namespace ntx::scheduler {

// ---- the workbook ----------------------------------------------------------------------------------------

void Shard::wb_close(User& u, workbook::State final_state) {
    if (u.wb == UINT32_MAX || u.branch_parent) return;  // a branch writes to its parent's entry, never closes it
    workbook::Entry& e = ledger_.at(u.wb);
    if (workbook::is_final(e.state)) return;  // the first exit decides (a rollback before its end_task)
    ledger_.set_state(u.wb, final_state);
}

void Shard::wb_apply(User& u, const dsl::Step& step) {
    if (u.wb == UINT32_MAX) return;
    const auto& schema = scheduler_.script().workbook;
    std::string value, error;
    for (const auto& [id, t] : step.updates) {
        value.clear();
        if (!t.render(u, value, error)) {
            // A value that cannot be rendered is counted and logged; the field keeps its value.
            count_condition_error(u, fmt::format("update-workbook {}: {}", schema.field(id).path, error));
            continue;
        }
        ledger_.set_field(u.wb, id, value, schema);
    }
}

void Shard::workbook_set(User& u, uint32_t field, std::string_view value) {
    const auto& schema = scheduler_.script().workbook;
    if (u.wb == UINT32_MAX || field < workbook::kBuiltins || field >= schema.size()) return;
    ledger_.set_field(u.wb, field, value, schema);
}

// The current action's retries left: its own retry.max (or its on-error's retry) less the attempts made.
void Shard::wb_retry_left(User& u) {
    const auto& a = scheduler_.script().actions[u.action];
    uint32_t max = a.retry_max ? a.retry_max : a.on_error ? a.on_error->retry_max : u.workflow->on_error.retry_max;
    auto left = static_cast<uint16_t>(std::min<uint32_t>(max - std::min(max, u.attempts), UINT16_MAX));
    if (ledger_.at(u.wb).retry_left != left || u.attempts == 0) ledger_.set_retry_left(u.wb, left);
}

void Shard::flush_workbook() {
    const auto& schema = scheduler_.script().workbook;
    progress::Bus* bus = scheduler_.progress_bus();
    if (bus && bus->active() && !ledger_.dirty().empty()) {
        progress::Ring& ring = bus->ring(index_);
        const uint64_t now = scheduler_.now_ms();
        for (uint32_t i : ledger_.dirty()) {
            const workbook::Entry& e = ledger_.at(i);
            progress::Record* r = ring.claim();
            if (!r) continue;  // the ring is full: dropped (the ring counts each)
            r->kind = progress::Record::Kind::entry;
            r->user_id = e.user_id;
            r->task_id = e.task_id;
            r->t_ms = now;
            r->scenario = e.scenario;
            r->action = e.current_action;
            r->timeout_at_ms = e.timeout_at_ms;
            r->response_us = e.response_us;
            r->retry_left = e.retry_left;
            r->dirty = e.dirty;
            r->state = e.state;
            r->last_event = e.last_event;
            r->dynamic = e.dynamic;
            r->field_count = 0;
            if (e.dirty & workbook::d_fields)
                for (const auto& f : e.fields) {
                    if (!f.dirty) continue;
                    if (r->fields.size() <= r->field_count) r->fields.emplace_back();
                    auto& slot = r->fields[r->field_count++];
                    slot.first = f.id;
                    slot.second.assign(f.value);
                }
            ring.commit();
        }
    }
    ledger_.clear_dirty(schema);
}

void Shard::push_plugin_progress(User& u, uint32_t component, const ntx_progress_t& p) {
    progress::Bus* bus = scheduler_.progress_bus();
    if (!bus || !bus->active()) return;
    progress::Ring& ring = bus->ring(index_);
    progress::Record* r = ring.claim();
    if (!r) return;  // counted as dropped
    r->kind = progress::Record::Kind::plugin;
    r->user_id = u.user_id;
    r->task_id = u.task_id;
    r->t_ms = scheduler_.now_ms();
    r->scenario = u.scenario;
    r->action = u.action;
    r->dynamic = u.dynamic;
    r->scope = static_cast<uint8_t>(std::clamp<int32_t>(p.scope, 0, 4));
    r->progress = p.progress;
    r->component = component;
    r->kv_count = 0;
    if (NTX_HAS_MEMBER(&p, ntx_progress_t, field_count) && p.fields)
        for (size_t i = 0; i < p.field_count; ++i) {
            if (r->kv.size() <= r->kv_count) r->kv.emplace_back();
            auto& kv = r->kv[r->kv_count++];
            kv.first.assign(p.fields[i].key.ptr ? p.fields[i].key.ptr : "", p.fields[i].key.len);
            kv.second.assign(p.fields[i].value.ptr ? p.fields[i].value.ptr : "", p.fields[i].value.len);
        }
    ring.commit();
}

}  // namespace ntx::scheduler
