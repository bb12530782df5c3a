#include "scheduler/live_stats.hpp"

#include "scheduler/scheduler.hpp"
#include "scheduler/shard.hpp"

namespace ntx::scheduler {

LiveStats::LiveStats(unsigned shards, uint64_t period_ms)
    : slots_(new Slot[shards]), shards_(shards), period_ms_(period_ms) {}

LiveStats::~LiveStats() = default;

void LiveStats::publish(const Shard& shard, uint64_t now_ms, bool force) {
    Slot& slot = slots_[shard.index()];
    if (!force && now_ms < slot.next_ms) return;
    slot.next_ms = now_ms + period_ms_;
    std::lock_guard lock(slot.mutex);
    // Copy-assignment reuses the slot's storage: after the first copy this allocates only when a
    // timeline or an error list grew.
    slot.actions = shard.all_action_stats();
    slot.scenarios = shard.scenario_stats();
    slot.at_ms = now_ms;
    slot.published = true;
}

void LiveStats::read(LiveCounters& into) const {
    bool first = true;
    for (unsigned i = 0; i < shards_; ++i) {
        const Slot& slot = slots_[i];
        std::lock_guard lock(slot.mutex);
        if (!slot.published) continue;
        if (first) {
            into.actions = slot.actions;
            into.scenarios = slot.scenarios;
            into.at_ms = slot.at_ms;
            first = false;
            continue;
        }
        into.at_ms = std::min(into.at_ms, slot.at_ms);
        for (size_t a = 0; a < slot.actions.size() && a < into.actions.size(); ++a) into.actions[a].merge(slot.actions[a]);
        for (size_t s = 0; s < slot.scenarios.size() && s < into.scenarios.size(); ++s) {
            auto& to = into.scenarios[s];
            const auto& from = slot.scenarios[s];
            to.spawned += from.spawned;
            to.completed += from.completed;
            to.stopped += from.stopped;
            to.tasks += from.tasks;
            to.exit_timeout += from.exit_timeout;
            to.exit_error += from.exit_error;
            to.exit_closing += from.exit_closing;
            to.exit_rollback += from.exit_rollback;
            to.exit_stop_user += from.exit_stop_user;
            to.task_retries += from.task_retries;
            to.dynamic_requested += from.dynamic_requested;
            to.dynamic_started += from.dynamic_started;
            to.dynamic_refused += from.dynamic_refused;
            to.dynamic_ended += from.dynamic_ended;
            to.arrivals_started += from.arrivals_started;
            to.arrivals_dropped += from.arrivals_dropped;
        }
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

}  // namespace ntx::scheduler
