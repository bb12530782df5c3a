#include "scheduler/shard.hpp"

#include <algorithm>
#include <cmath>

#include "frame/protocol_frame.hpp"
#include "scheduler/scheduler.hpp"

namespace ntx::scheduler {

User::User(Shard& s, uint64_t id, uint32_t scen, size_t variable_count, size_t components)
    : shard(s), user_id(id), scenario(scen), variables(variable_count), variable_set(variable_count, false),
      plugin_slots(components, nullptr), action_timer(s.loop().io()) {
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
    return slot < variables.size() && variable_set[slot] ? &variables[slot] : nullptr;
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
    for (size_t s = 0; s < script.scenarios.size(); ++s) runs_.push_back(ScenarioRun{index_, 0, false, false, {}});
}

void Shard::begin() {
    next_tick_ = std::chrono::steady_clock::now();
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
    const auto& script = scheduler_.script();
    const uint64_t now = scheduler_.now_ms();
    const bool stop_all = scheduler_.stop_flag() && scheduler_.stop_flag()->load(std::memory_order_relaxed);
    const uint64_t shards = scheduler_.shard_count();

    for (uint32_t s = 0; s < runs_.size(); ++s) {
        ScenarioRun& run = runs_[s];
        const dsl::ScenarioSpec& spec = script.scenarios[s];
        if (!run.stopped && (stop_all || (spec.max_duration_ms && now >= spec.max_duration_ms))) stop_scenario(s, true);
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

    // Task deadlines (workflow timeout), checked on ticks.
    for (auto& up : users_) {
        User& u = *up;
        if (u.state != UserState::running || !u.task_deadline_ms || now < u.task_deadline_ms || !u.in_action()) continue;
        scheduler_.frame().cancel(u, Outcome::timeout, NTX_E_TIMEOUT, "workflow timeout");
    }

    if (all_done()) {
        done_ = true;
        loop_.stop();  // on the loop's own thread
        scheduler_.shard_done();
        return;
    }
    schedule_tick();
}

bool Shard::all_done() const {
    for (const auto& run : runs_)
        if (!(run.spawning_done || run.stopped) || run.active != 0) return false;
    return true;
}

void Shard::spawn(uint32_t scenario, uint64_t ordinal) {
    const auto& script = scheduler_.script();
    // user ids are unique in the run: scenario in the high bits, 1-based ordinal below.
    uint64_t id = (static_cast<uint64_t>(scenario) << 40) | (ordinal + 1);
    users_.push_back(std::make_unique<User>(*this, id, scenario, script.variables.size(), script.components.size()));
    User& u = *users_.back();
    ++scenario_stats_[scenario].spawned;
    ++runs_[scenario].active;
    auto& shared = scheduler_.shared(scenario);
    int64_t online = shared.online.fetch_add(1, std::memory_order_relaxed) + 1;
    int64_t peak = shared.peak_online.load(std::memory_order_relaxed);
    while (online > peak && !shared.peak_online.compare_exchange_weak(peak, online, std::memory_order_relaxed)) {
    }
    const auto& spec = script.scenarios[scenario];
    if (spec.task_duration_ms) u.user_deadline_ms = scheduler_.now_ms() + spec.task_duration_ms;
    if (!try_lease(u)) {
        u.state = UserState::waiting_resource;
        runs_[scenario].waiting.push_back(&u);
        return;
    }
    start_task(u);
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

void Shard::start_task(User& u) {
    const auto& script = scheduler_.script();
    const auto& wf = script.workflows[script.scenarios[u.scenario].workflow];
    u.state = UserState::running;
    u.task_id = ++task_counter_ * scheduler_.shard_count() + index_;
    u.step = 0;
    u.task_deadline_ms = wf.timeout_ms ? scheduler_.now_ms() + wf.timeout_ms : 0;
    std::fill(u.variable_set.begin(), u.variable_set.end(), false);
    ++scenario_stats_[u.scenario].tasks;
    run_step(u);
}

void Shard::run_step(User& u) {
    const auto& script = scheduler_.script();
    const auto& wf = script.workflows[script.scenarios[u.scenario].workflow];
    if (u.step >= wf.steps.size()) return end_task(u, dsl::Exit::closing, false);
    if (u.task_deadline_ms && scheduler_.now_ms() >= u.task_deadline_ms) return end_task(u, dsl::Exit::timeout_out, true);
    u.action = wf.steps[u.step];
    scheduler_.frame().dispatch(u, u.action);
}

void Shard::on_action_end(User& u, Outcome outcome) {
    const auto& script = scheduler_.script();
    const auto& wf = script.workflows[script.scenarios[u.scenario].workflow];
    switch (outcome) {
    case Outcome::ok:
        if (u.stop_requested) return finish(u);
        ++u.step;
        return run_step(u);
    case Outcome::error: return end_task(u, wf.on_error, true);
    case Outcome::timeout: return end_task(u, dsl::Exit::timeout_out, true);
    case Outcome::cancelled: u.ended_by_stop = true; return finish(u);
    }
}

void Shard::end_task(User& u, dsl::Exit exit, bool by_exit) {
    auto& st = scenario_stats_[u.scenario];
    if (by_exit) {
        switch (exit) {
        case dsl::Exit::error_out: ++st.exit_error; break;
        case dsl::Exit::timeout_out: ++st.exit_timeout; break;
        case dsl::Exit::closing: ++st.exit_closing; return finish(u);  // goto closing ends the user
        }
    }
    if (!u.stop_requested && u.user_deadline_ms && scheduler_.now_ms() < u.user_deadline_ms) return start_task(u);
    finish(u);
}

void Shard::finish(User& u) {
    if (u.state == UserState::offline) return;
    for (const auto& lease : u.leases) scheduler_.pool(lease.pool).release(lease.item);
    u.leases.clear();
    scheduler_.frame().release_user(u);
    auto& st = scenario_stats_[u.scenario];
    if (u.ended_by_stop || u.stop_requested) ++st.stopped;
    else ++st.completed;
    u.state = UserState::offline;
    --runs_[u.scenario].active;
    auto& shared = scheduler_.shared(u.scenario);
    shared.online.fetch_sub(1, std::memory_order_relaxed);
    uint64_t now = scheduler_.now_ms();
    uint64_t prev = shared.end_ms.load(std::memory_order_relaxed);
    while (now > prev && !shared.end_ms.compare_exchange_weak(prev, now, std::memory_order_relaxed)) {
    }
}

void Shard::stop_scenario(uint32_t scenario, bool cancel_in_flight) {
    ScenarioRun& run = runs_[scenario];
    run.stopped = true;
    run.spawning_done = true;
    for (User* u : run.waiting) {
        u->ended_by_stop = true;
        finish(*u);
    }
    run.waiting.clear();
    for (auto& up : users_) {
        User& u = *up;
        if (u.scenario != scenario || u.state != UserState::running) continue;
        u.stop_requested = true;
        if (cancel_in_flight && u.in_action()) scheduler_.frame().cancel(u, Outcome::cancelled, NTX_E_CANCELLED, "run stopped");
    }
}

}  // namespace ntx::scheduler
