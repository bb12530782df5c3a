#include "scheduler/live_stats.hpp"

#include "scheduler/scheduler.hpp"
#include "scheduler/shard.hpp"

namespace ntx::scheduler {

LiveStats::LiveStats(unsigned shards, uint64_t period_ms)
    : slots_(new Slot[shards]), shards_(shards), period_ms_(period_ms) {}

LiveStats::~LiveStats() = default;

namespace {

// The scenario counters live readers see (not the 100 ms timelines, which grow with the run).
template <class Op>
void each_counter(ScenarioStats& to, const ScenarioStats& from, Op op) {
    op(to.spawned, from.spawned);
    op(to.completed, from.completed);
    op(to.stopped, from.stopped);
    op(to.tasks, from.tasks);
    op(to.exit_timeout, from.exit_timeout);
    op(to.exit_error, from.exit_error);
    op(to.exit_closing, from.exit_closing);
    op(to.exit_rollback, from.exit_rollback);
    op(to.exit_stop_user, from.exit_stop_user);
    op(to.task_retries, from.task_retries);
    op(to.dynamic_requested, from.dynamic_requested);
    op(to.dynamic_started, from.dynamic_started);
    op(to.dynamic_refused, from.dynamic_refused);
    op(to.dynamic_ended, from.dynamic_ended);
    op(to.arrivals_started, from.arrivals_started);
    op(to.arrivals_dropped, from.arrivals_dropped);
}

// Whether `a` counted anything since `b` was copied from it (a latency is only recorded with an ok).
bool changed(const ActionStats& a, const ActionStats& b) {
    return a.ok != b.ok || a.errors != b.errors || a.timeouts != b.timeouts || a.cancelled != b.cancelled ||
           a.retries != b.retries || a.throttled != b.throttled || a.dynamic != b.dynamic ||
           a.bytes_sent != b.bytes_sent || a.bytes_received != b.bytes_received;
}

}  // namespace

void LiveStats::publish(const Shard& shard, uint64_t now_ms, bool force) {
    Slot& slot = slots_[shard.index()];
    if (!force && now_ms < slot.next_ms) return;
    slot.next_ms = now_ms + period_ms_;
    const auto& actions = shard.all_action_stats();
    const auto& scenarios = shard.scenario_stats();
    std::lock_guard lock(slot.mutex);
    // Only the actions that counted something since the last copy are copied again (a histogram is
    // 26 KiB); after the first copy nothing here allocates unless an error list grew.
    if (slot.actions.size() != actions.size()) slot.actions = actions;
    else
        for (size_t i = 0; i < actions.size(); ++i)
            if (changed(actions[i], slot.actions[i])) slot.actions[i] = actions[i];
    slot.scenarios.resize(scenarios.size());
    for (size_t s = 0; s < scenarios.size(); ++s)
        each_counter(slot.scenarios[s], scenarios[s], [](uint64_t& to, uint64_t from) { to = from; });
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
        for (size_t s = 0; s < slot.scenarios.size() && s < into.scenarios.size(); ++s)
            each_counter(into.scenarios[s], slot.scenarios[s], [](uint64_t& to, uint64_t from) { to += from; });
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
