#include "scheduler/live_stats.hpp"

#include "scheduler/scheduler.hpp"
#include "scheduler/shard.hpp"

namespace ntx::scheduler {

LiveStats::LiveStats(unsigned shards, uint64_t period_ms)
    : slots_(new Slot[shards]), shards_(shards), period_ms_(period_ms) {}

LiveStats::~LiveStats() = default;

namespace {

// Whether `a` counted anything since `b` was copied from it (a latency is only recorded with an ok).
bool changed(const ActionStats& a, const ActionStats& b) {
    return a.ok != b.ok || a.errors != b.errors || a.timeouts != b.timeouts || a.cancelled != b.cancelled ||
           a.retries != b.retries || a.throttled != b.throttled || a.dynamic != b.dynamic ||
           a.bytes_sent != b.bytes_sent || a.bytes_received != b.bytes_received;
}

}  // namespace

void LiveStats::publish(const Shard& shard, uint64_t now_ms, bool force, bool final) {
    Slot& slot = slots_[shard.index()];
    if (!force && now_ms < slot.next_ms) return;
    slot.next_ms = now_ms + period_ms_;
    const auto& actions = shard.all_action_stats();
    const auto& scenarios = shard.scenario_stats();
    const uint64_t memory = shard.ledger().memory_bytes();  // on the shard's thread (or after the loops ended)
    std::lock_guard lock(slot.mutex);
    slot.workbook_memory = memory;
    // Only the actions that counted something since the last copy are copied again (a histogram is
    // 26 KiB); after the first copy nothing here allocates unless an error list grew.
    if (final || slot.actions.size() != actions.size()) slot.actions = actions;
    else
        for (size_t i = 0; i < actions.size(); ++i)
            if (changed(actions[i], slot.actions[i])) slot.actions[i] = actions[i];
    if (final) slot.scenarios = scenarios;
    else {
        slot.scenarios.resize(scenarios.size());
        for (size_t s = 0; s < scenarios.size(); ++s) slot.scenarios[s].copy_counters(scenarios[s]);
    }
    slot.at_ms = now_ms;
    slot.published = true;
}

void LiveStats::read(metrics::RunSnapshot& into) const {
    bool first = true;
    for (unsigned i = 0; i < shards_; ++i) {
        const Slot& slot = slots_[i];
        std::lock_guard lock(slot.mutex);
        if (!slot.published) continue;
        into.workbook_memory_bytes = (first ? 0 : into.workbook_memory_bytes) + slot.workbook_memory;
        if (first) {
            into.actions = slot.actions;
            into.scenarios = slot.scenarios;
            into.at_ms = slot.at_ms;
            first = false;
            continue;
        }
        into.at_ms = std::min(into.at_ms, slot.at_ms);
        for (size_t a = 0; a < slot.actions.size() && a < into.actions.size(); ++a) into.actions[a].merge(slot.actions[a]);
        for (size_t s = 0; s < slot.scenarios.size() && s < into.scenarios.size(); ++s) into.scenarios[s].merge(slot.scenarios[s]);
    }
    if (first) {
        into.actions.clear();
        into.scenarios.clear();
        into.at_ms = 0;
    }
}

void publish_live_stats(Shard& shard, uint64_t now_ms) {
    if (LiveStats* live = shard.scheduler().live_stats()) live->publish(shard, now_ms);
}

void read_snapshot(Scheduler& sched, metrics::RunSnapshot& into, bool final) {
    if (LiveStats* live = sched.live_stats()) live->read(into);
    const auto& script = sched.script();
    into.final = final;
    into.gauges.resize(script.scenarios.size());
    for (uint32_t s = 0; s < script.scenarios.size(); ++s) {
        const ScenarioShared& sh = sched.shared(s);
        auto& g = into.gauges[s];
        g.online = sh.online.load();
        g.peak_online = sh.peak_online.load();
        g.stopping = sh.stopping.load();
        g.waiting_resource = sh.waiting_resource.load();
        g.end_ms = sh.end_ms.load();
    }
    into.workbook_entries = sched.workbook_entries().load();
    into.pools.resize(sched.pool_count());
    for (uint32_t p = 0; p < sched.pool_count(); ++p) {
        const auto& pool = sched.pool(p);
        if (into.pools[p].name.empty()) into.pools[p].name = pool.name();
        into.pools[p].size = pool.size();
        into.pools[p].leases_held = pool.leases_held();
        const auto st = pool.stats();  // under the pool's lock, once per reader call
        into.pools[p].peak_held = st.peak_held;
        into.pools[p].available = st.available;
        into.pools[p].acquired = st.acquired;
        into.pools[p].released = st.released;
        into.pools[p].renewed = st.renewed;
        into.pools[p].expired = st.expired;
        into.pools[p].evicted = st.evicted;
        into.pools[p].waits = st.waits;
        into.pools[p].wait_timeouts = st.wait_timeouts;
        into.pools[p].probes = st.probes;
        into.pools[p].probe_failures = st.probe_failures;
        into.pools[p].down_now = st.down_now;
        into.pools[p].health_check = pool.spec().health.set;
    }
    into.socket_bytes_sent = into.socket_bytes_received = into.sockets_opened = 0;
    if (!final) return;
    for (unsigned i = 0; i < sched.shard_count(); ++i) {  // the loops ended: their counts are settled
        const auto& loop = sched.shard(i).loop();
        into.socket_bytes_sent += loop.bytes_sent;
        into.socket_bytes_received += loop.bytes_received;
        into.sockets_opened += loop.sockets_opened;
    }
}

}  // namespace ntx::scheduler
