#include "scheduler/shard.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include <spdlog/spdlog.h>

#include "frame/protocol_frame.hpp"
#include "progress/bus.hpp"
#include "scheduler/live_stats.hpp"
#include "scheduler/scheduler.hpp"
#include "segment/segment.hpp"

namespace ntx::scheduler {

Shard::Shard(Scheduler& scheduler, uint32_t index)
    : scheduler_(scheduler), index_(index),
      stripe_(segment::stripe(scheduler.script().segment, index, scheduler.shard_count())), loop_(index),
      tick_timer_(loop_.io()), action_count_(scheduler.script().actions.size()) {
    const auto& script = scheduler.script();
    action_stats_.resize(script.scenarios.size() * action_count_);
    scenario_stats_.resize(script.scenarios.size());
    runs_.resize(script.scenarios.size());
    for (auto& run : runs_) run.next_ordinal = stripe_.first;
    if (script.config.send_bytes || script.config.recv_bytes) {
        ntx_rate_t rate{};
        rate.size = sizeof rate;
        rate.send_bytes = script.config.send_bytes;
        rate.recv_bytes = script.config.recv_bytes;
        rate.per_ms = script.config.rate_window_ms;
        loop_.set_default_rate(rate);
    }
    loop_.set_network_allow(&script.config.network_allow);
    // The file_blobs' bytes (NTX_PARAM_SHARED): a socket_send of them is queued without a copy.
    for (const auto& constant : script.constants)
        if (constant)
            for (const auto& field : *constant)
                if (field.second.size() >= net::Loop::kSharedMinBytes) loop_.add_shared_buffer(field.second);
}

void Shard::begin() {
    next_tick_ = net::RunClock::now();
    const auto& script = scheduler_.script();
    for (uint32_t s = 0; s < runs_.size(); ++s)
        if (script.scenarios[s].model == dsl::Model::open) schedule_arrival(s);
    tick();
}

void Shard::schedule_tick() {
    next_tick_ += std::chrono::milliseconds(scheduler_.script().config.tick_ms);
    auto now = net::RunClock::now();
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
        // ordinals of its stripe (k = index, index + shards, ... of this instance's segment).
        while (run.next_ordinal < spec.user_count && !run.stopped && stop_flag_level() == 0) {
            double due_ms = spec.spawn_rate > 0 ? static_cast<double>(run.next_ordinal) * 1000.0 / spec.spawn_rate : 0.0;
            if (due_ms > static_cast<double>(now)) break;
            spawn(s, run.next_ordinal);
            run.next_ordinal += stripe_.step;
        }
        if (run.next_ordinal >= spec.user_count) run.spawning_done = true;
    }

    expire_deadlines(now);  // task deadlines (workflow timeout), checked on ticks

    reclaim_offline_users();
    flush_workbook();  // what changed in the ledger this tick, to the progress bus
    publish_live_stats(*this, now);  // a copy of the counters every period, for live readers
    if (!spawning_reported_ && std::all_of(runs_.begin(), runs_.end(), [](const ScenarioRun& r) { return r.spawning_done || r.stopped; })) {
        spawning_reported_ = true;
        scheduler_.shard_spawning_done();  // the last shard to say so moves the run to monitoring
    }
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
    // The profile's target is the whole test's: this instance's share of it (segment), then this shard's.
    const uint64_t total = segment::share(static_cast<uint64_t>(profile.target_at(now)), script.segment);
    uint64_t mine = total / shards + (index_ < total % shards ? 1 : 0);
    uint64_t online = run.active - run.leaving;
    if (spec.spawn_rate > 0) {
        double per_shard = segment::share(spec.spawn_rate, script.segment) / static_cast<double>(shards);
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
        run.next_ordinal += stripe_.step;
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

// Open model: arrival k (of the whole scenario) is due at arrival_time_ms(k); this shard owns the
// arrivals of its stripe (k = index, index + shards, ... of this instance's segment), so arrivals are
// spread evenly, never burst at a tick's start, and the N segments together make the whole schedule.
void Shard::schedule_arrival(uint32_t s) {
    ScenarioRun& run = runs_[s];
    const dsl::ScenarioSpec& spec = scheduler_.script().scenarios[s];
    double due = spec.arrival_time_ms(run.next_ordinal);
    if (run.stopped || due >= static_cast<double>(spec.duration_ms)) {
        run.spawning_done = true;
        return;
    }
    if (!run.arrival_timer) run.arrival_timer = std::make_unique<net::RunTimer>(loop_.io());
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
    auto& stats = scenario_stats_[s];
    auto& shared = scheduler_.shared(s);
    const double now = std::chrono::duration<double, std::milli>(net::RunClock::now() - scheduler_.started()).count();
    // Every arrival that is due (several only when the loop fell behind).
    while (true) {
        double due = spec.arrival_time_ms(run.next_ordinal);
        if (due >= static_cast<double>(spec.duration_ms) || due > now) break;
        uint64_t k = run.next_ordinal;
        run.next_ordinal += stripe_.step;
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

void Shard::start_task(User& u, bool restart) {
    const auto& wf = *u.workflow;
    u.enter(UserState::running);  // from pending, waiting_resource, or running (its next task)
    if (stop_seen(u)) return finish(u);  // it leaves at its task boundary: no new task is counted
    if (!restart) {
        if (u.preset_task_id) {
            u.task_id = u.preset_task_id;
            u.preset_task_id = 0;
        } else {
            // unique in the run and, with --segment, across its instances
            u.task_id = segment::global_id(++task_counter_ * scheduler_.shard_count() + index_, scheduler_.script().segment);
            ++scenario_stats_[u.scenario].tasks;
        }
        u.task_retries = 0;
        u.task_started = net::RunClock::now();
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

}  // namespace ntx::scheduler
