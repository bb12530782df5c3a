// A shard's resource leases: all-or-nothing leasing at a user's task boundaries, the wait for a dry
// pool (state waiting_resource), items that expire or go down, and rollback.
#include "scheduler/shard.hpp"

#include "frame/protocol_frame.hpp"
#include "scheduler/scheduler.hpp"

namespace ntx::scheduler {

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

}  // namespace ntx::scheduler
