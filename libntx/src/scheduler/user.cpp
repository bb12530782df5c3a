// A virtual user's own methods: its state machine's transitions and what templates read of it.
#include "scheduler/user.hpp"

#include <cassert>

#include <spdlog/spdlog.h>

#include "frame/protocol_frame.hpp"
#include "scheduler/scheduler.hpp"
#include "scheduler/shard.hpp"

namespace ntx::scheduler {

const char* to_string(UserState s) {
    switch (s) {
    case UserState::pending: return "pending";
    case UserState::waiting_resource: return "waiting_resource";
    case UserState::running: return "running";
    case UserState::leaving: return "leaving";
    case UserState::offline: return "offline";
    }
    return "?";
}

// Everything the table does not allow is a bug in the scheduler.
bool can_enter(UserState from, UserState to) {
    using S = UserState;
    switch (from) {
    case S::pending: return to == S::waiting_resource || to == S::running || to == S::leaving || to == S::offline;
    case S::waiting_resource: return to == S::running || to == S::leaving || to == S::offline;
    case S::running: return to == S::waiting_resource || to == S::leaving || to == S::offline;
    case S::leaving: return to == S::offline;
    case S::offline: return false;
    }
    return false;
}

void User::enter(UserState next) {
    if (next == state) return;
    if (!can_enter(state, next)) {
        spdlog::error("user {}: invalid state transition {} -> {} (ignored)", user_id, to_string(state), to_string(next));
        assert(!"invalid user state transition");
        return;
    }
    state = next;
    if (next == UserState::offline || next == UserState::waiting_resource) activity = Activity::none;
}

User::User(Shard& s, uint64_t id, uint32_t scen, size_t variable_count, size_t)
    : shard(s), user_id(id), scenario(scen), wait_timer(s.loop().io()), variables(variable_count),
      variable_set(variable_count, false) {
    slot = s.scheduler().frame().open_slot(s.index(), this, id);
    rng_state = s.scheduler().script().config.seed ^ (id * 0x9E3779B97F4A7C15ull);
}

uint64_t User::next_random() const {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);  // splitmix64: tiny state, good enough for pauses
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double User::random() const { return static_cast<double>(next_random() >> 11) * 0x1.0p-53; }

bool User::in_action() const { return shard.scheduler().frame().in_action(slot); }

std::optional<std::string_view> User::resource_field(std::string_view field) const {
    for (const auto& lease : leases) {
        auto& pool = shard.scheduler().pool(lease.pool);
        int f = pool.field_index(field);
        if (f >= 0) return pool.value(lease.item, f);
    }
    return std::nullopt;
}

const dsl::Fields* User::variable(uint32_t var) const {
    if (var == dsl::kResultSlot) return current_result;
    if (var < variables.size() && variable_set[var]) return &variables[var];
    auto& sched = shard.scheduler();
    const auto& script = sched.script();
    if (var < script.variable_scopes.size() && script.variable_scopes[var] == dsl::VarScope::global) {
        if (global_pins.size() <= var) global_pins.resize(script.variables.size());
        global_pins[var] = sched.globals().load(var);
        return global_pins[var].get();
    }
    const auto& constants = script.constants;  // file_blobs, shared by every user
    return var < constants.size() ? constants[var].get() : nullptr;
}

void User::clear_task_variables() {
    const auto& task_scoped = shard.scheduler().task_scoped();
    for (size_t i = 0; i < variable_set.size(); ++i)
        if (task_scoped[i]) variable_set[i] = false;
}

bool User::workbook_field(uint32_t id, std::string& out) const {
    if (wb == UINT32_MAX) return false;
    auto& sched = shard.scheduler();
    workbook::append_value(sched.script().workbook, sched.workbook_names(), shard.ledger().at(wb), id, out);
    return true;
}

std::string User::env(dsl::EnvVar var) const {
    auto& sched = shard.scheduler();
    switch (var) {
    case dsl::EnvVar::user_id: return std::to_string(user_id);
    case dsl::EnvVar::task_id: return std::to_string(task_id);
    case dsl::EnvVar::tick: return std::to_string(sched.now_ms() / sched.script().config.tick_ms);
    case dsl::EnvVar::scenario: return sched.script().scenarios[scenario].name;
    case dsl::EnvVar::phase: return sched.phase() == RunPhase::monitoring ? "monitoring" : "executing";
    }
    return {};
}

}  // namespace ntx::scheduler
