// A shard: one event loop and the users pinned to it. Runs the call model each tick (spawn, stop,
// task deadlines) and each user's workflow, and keeps its own counters (merged at closing).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <vector>

#include "dsl/script.hpp"
#include "net/loop.hpp"
#include "scheduler/stats.hpp"
#include "scheduler/user.hpp"

namespace ntx::frame {
class ProtocolFrame;
}

namespace ntx::scheduler {

class Scheduler;

class Shard {
public:
    Shard(Scheduler& scheduler, uint32_t index);

    uint32_t index() const { return index_; }
    net::Loop& loop() { return loop_; }
    Scheduler& scheduler() { return scheduler_; }

    ActionStats& action_stats(uint32_t scenario, uint32_t action) { return action_stats_[scenario * action_count_ + action]; }
    const std::vector<ActionStats>& all_action_stats() const { return action_stats_; }
    const std::vector<ScenarioStats>& scenario_stats() const { return scenario_stats_; }

    // The first tick; runs on the loop's thread before the loop's io_context runs.
    void begin();
    // Called by ProtocolFrame (posted, never inside a plugin call) when the user's action ended.
    void on_action_end(User& u, Outcome outcome);

private:
    struct ScenarioRun {
        uint64_t next_ordinal;  // next user ordinal of the scenario this shard spawns
        uint64_t active = 0;    // spawned and not offline
        bool spawning_done = false;
        bool stopped = false;
        std::vector<User*> waiting;  // waiting for a resource lease
    };

    void tick();
    void schedule_tick();
    void spawn(uint32_t scenario, uint64_t ordinal);
    bool try_lease(User& u);
    void start_task(User& u);
    void run_step(User& u);
    void end_task(User& u, dsl::Exit exit, bool by_exit);
    void finish(User& u);
    void stop_scenario(uint32_t scenario, bool cancel_in_flight);
    bool all_done() const;

    Scheduler& scheduler_;
    uint32_t index_;
    net::Loop loop_;
    boost::asio::steady_timer tick_timer_;
    std::chrono::steady_clock::time_point next_tick_;
    size_t action_count_;
    std::vector<ActionStats> action_stats_;
    std::vector<ScenarioStats> scenario_stats_;
    std::vector<ScenarioRun> runs_;
    std::vector<std::unique_ptr<User>> users_;
    uint64_t task_counter_ = 0;
    bool done_ = false;
};

}  // namespace ntx::scheduler
