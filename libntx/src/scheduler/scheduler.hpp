// The scheduler: shards the users of every scenario across one loop per core, starts them by the
// call model, waits for the run to end (or a stop request), and merges the shards' counters.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "dsl/script.hpp"
#include "ntx/progress.hpp"
#include "resource/pair_pool.hpp"
#include "scheduler/shard.hpp"
#include "variables/global_store.hpp"
#include "variables/persister.hpp"

namespace ntx::frame {
class ProtocolFrame;
}
namespace ntx::progress {
class Bus;
}
namespace ntx::workbook {
class Archive;
}

namespace ntx::scheduler {

class LiveStats;

// Scenario-wide counters shared by the shards; touched at user start/end only, never per request.
struct ScenarioShared {
    std::atomic<int64_t> online{0};
    std::atomic<int64_t> peak_online{0};
    std::atomic<uint64_t> end_ms{0};  // run clock when its last user went offline
    std::atomic<int64_t> waiting_resource{0};  // users waiting for a resource lease now
    std::atomic<int64_t> stopping{0};          // online users asked to leave, finishing their action
};

// What the scheduler serves the run with, made by its owner before it and outliving it.
struct SchedulerServices {
    LiveStats* live = nullptr;           // where shards publish their counters for live readers
    progress::Bus* bus = nullptr;        // where shards push workbook changes and plugin progress
    std::filesystem::path persist_base;  // save-as persist: what relative folders resolve against
    workbook::Archive* archive = nullptr;  // where shards hand finished tasks' workbook entries
    workbook::Archive* task_stream = nullptr;  // --out-stream tasks=FILE: every finished task, as written
};

class Scheduler {
public:
    using Services = SchedulerServices;

    Scheduler(const dsl::Script& script, std::vector<std::unique_ptr<resource::PairPool>>& pools,
              frame::ProtocolFrame& frame, unsigned loops, Services services = {});
    ~Scheduler();

    // Runs every scenario to the end. `stop` may be set from any thread (signal) to enter closing early.
    void run(std::atomic<int>& stop);

    // Tests: starts the run as run() does, but on the caller's thread and without the loops' threads.
    // The caller drives the loops (poll()) and the clock (net::RunClock in manual mode) until
    // finished(); no other thread may touch the run meanwhile.
    void begin_manual(std::atomic<int>& stop);
    void poll();      // runs every handler that is ready on every loop (timers due on the run's clock)
    bool finished();  // every shard is done

    // Stops the run from inside (a scenario's exit `fatal`), as one Ctrl-C would; the first reason is
    // kept for the report. Any thread.
    void request_stop(std::string reason);
    std::string stop_reason() const;

    const dsl::Script& script() const { return script_; }
    frame::ProtocolFrame& frame() { return frame_; }
    resource::PairPool& pool(uint32_t i) { return *pools_[i]; }
    uint32_t pool_count() const { return static_cast<uint32_t>(pools_.size()); }
    unsigned shard_count() const { return loops_; }  // known before the shards are made
    Shard& shard(unsigned i) { return *shards_[i]; }
    ScenarioShared& shared(uint32_t scenario) { return shared_[scenario]; }
    const std::atomic<int>* stop_flag() const { return stop_; }

    // Milliseconds since the run started.
    uint64_t now_ms() const {
        return static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(net::RunClock::now() - started_).count());
    }
    std::chrono::steady_clock::time_point started() const { return started_; }

    void shard_done();  // a shard has no user left and none to spawn

    // The one-step workflow a dynamic task of `action` runs (made once, at construction).
    const dsl::WorkflowSpec& dynamic_workflow(uint32_t action) const { return dynamic_workflows_[action]; }
    // Dynamic tasks running in the whole run (touched when one starts or ends, never per request).
    std::atomic<uint64_t>& dynamic_running() { return dynamic_running_; }

    // Workbook entries opened so far, all shards (for live readers: the metrics endpoint).
    std::atomic<uint64_t>& workbook_entries() { return workbook_entries_; }

    // save-as scope global: the run-wide values.
    variables::GlobalStore& globals() { return globals_; }
    // Per variable slot: cleared when a user starts a task (task-local variables and loop items).
    const std::vector<bool>& task_scoped() const { return task_scoped_; }
    // save-as persist: the writer, and the folder relative persist dirs resolve against.
    variables::Persister& persister() { return persister_; }
    const std::filesystem::path& persist_base() const { return services_.persist_base; }

    // Where shards publish their counters for live readers (none: no live readers).
    LiveStats* live_stats() const { return services_.live; }

    // The names workbook entries render with (scenarios, workflows, actions), made once.
    const workbook::Names& workbook_names() const { return names_; }
    // The same names, for what is made before the scheduler (the progress bus).
    static workbook::Names names_of(const dsl::Script& script);
    // Where shards push workbook changes and plugin progress (none: no bus).
    progress::Bus* progress_bus() const { return services_.bus; }
    // The run's process group while the loops run: executing, then monitoring once no shard starts
    // another user (every scenario's spawn schedule, profile or arrival window is over, or a stop was
    // asked) until the last task ends. Any thread.
    RunPhase phase() const { return static_cast<RunPhase>(phase_.load(std::memory_order_relaxed)); }
    // A shard's call model starts no more users (once per shard, on its loop): the last one moves the
    // run to monitoring and publishes the phase event.
    void shard_spawning_done();
    // Where shards hand the workbook entries of finished tasks (none: they are only counted).
    workbook::Archive* workbook_archive() const { return services_.archive; }
    workbook::Archive* task_stream() const { return services_.task_stream; }

private:
    void attach(std::atomic<int>& stop);
    const dsl::Script& script_;
    std::vector<std::unique_ptr<resource::PairPool>>& pools_;
    frame::ProtocolFrame& frame_;
    unsigned loops_;
    std::vector<std::unique_ptr<Shard>> shards_;
    std::unique_ptr<ScenarioShared[]> shared_;
    std::chrono::steady_clock::time_point started_ = net::RunClock::now();
    std::atomic<int>* stop_ = nullptr;
    mutable std::mutex stop_reason_mutex_;
    std::string stop_reason_;
    std::vector<dsl::WorkflowSpec> dynamic_workflows_;
    std::atomic<uint64_t> dynamic_running_{0};
    std::atomic<uint64_t> workbook_entries_{0};
    variables::GlobalStore globals_;
    std::vector<bool> task_scoped_;
    variables::Persister persister_;
    workbook::Names names_;
    Services services_;
    std::atomic<unsigned> spawning_shards_{0};
    std::atomic<uint8_t> phase_{static_cast<uint8_t>(RunPhase::executing)};

    std::mutex mutex_;
    std::condition_variable cv_;
    unsigned shards_running_ = 0;
};

}  // namespace ntx::scheduler
