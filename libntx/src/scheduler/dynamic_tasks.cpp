// Dynamic tasks: a plugin's request_task from a live action, checked against config.yaml's limits,
// started on the loop's next turn as a one-action task of a user outside the call model that borrows
// its requester's leases.
#include "scheduler/shard.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "frame/protocol_frame.hpp"
#include "scheduler/scheduler.hpp"
#include "segment/segment.hpp"

namespace ntx::scheduler {

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
    task_id = segment::global_id(++task_counter_ * scheduler_.shard_count() + index_, scheduler_.script().segment);
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
                  (segment::global_id(++dynamic_seq_ * scheduler_.shard_count() + index_, script.segment) &
                   ((uint64_t{1} << 40) - 1));
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
