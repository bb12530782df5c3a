// The engine's per-action path and the scheduler's tick, with real objects: a script loaded from a
// res_dir, ProtocolFrame, Scheduler, Shard and its loop (driven from the benchmark thread, which is
// the only thread that touches it).
//
// BM_DispatchAcrossAbi: one action of a user's workflow, end to end on the engine side: the posted
//   continuation runs (Shard::on_action_end), the next step is chosen, `with` is rendered, the action
//   timer is armed, run_action crosses into ntx_bench_noop.so, which calls action_complete back across
//   the ABI; the outcome is counted (histogram) and the next continuation posted. No I/O.
// BM_SchedulerTick100kUsers: one tick of a shard holding 100,000 online users parked in a one-hour
//   think under a workflow timeout (each in the deadline wheel): the call model, the deadline sweep,
//   user reclamation and re-arming the tick timer. It must not grow with the users.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <string>
#include <thread>
#include <vector>

#include "alloc_counter.hpp"
#include "dsl/script.hpp"
#include "frame/protocol_frame.hpp"
#include "plugin/plugin_loader.hpp"
#include "resource/source_files.hpp"
#include "scheduler/scheduler.hpp"
#include "scheduler/shard.hpp"

namespace ntx::scheduler {
// Reaches the shard's private tick (declared a friend in shard.hpp for this benchmark).
struct ShardProbe {
    static void tick(Shard& s) { s.tick(); }
    static size_t users(const Shard& s) { return s.users_.size(); }
    static void dispatch(Shard& s, User& u, uint32_t action) { s.dispatch(u, action); }
};
}  // namespace ntx::scheduler

using namespace ntx;

namespace {

class TempDir {
public:
    TempDir() {
        std::random_device rd;
        path_ = std::filesystem::temp_directory_path() / ("ntx-bench-" + std::to_string(rd()) + std::to_string(rd()));
        std::filesystem::create_directories(path_ / "resource");
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    const std::filesystem::path& path() const { return path_; }
    void write(const std::string& name, const std::string& text) const { std::ofstream(path_ / name) << text; }

private:
    std::filesystem::path path_;
};

// A planned run on one loop: the script, the frame with its plugins initialised, the scheduler.
struct Rig {
    TempDir dir;
    dsl::Script script;
    std::vector<std::unique_ptr<resource::PairPool>> pools;
    std::unique_ptr<frame::ProtocolFrame> frame;
    std::unique_ptr<scheduler::Scheduler> sched;
    std::string error;

    explicit Rig(const std::string& script_yaml, const char* plugin = NTX_BENCH_NOOP_PLUGIN) {
        dir.write("script.yaml", script_yaml);
        dir.write("config.yaml", "tick: 20ms\nthreads: 1\nlog:\n  level: warn\n");
        std::vector<Diagnostic> diagnostics;
        script = dsl::load_res_dir(dir.path(), ntx::resource::file_reader(), diagnostics);
        if (!diagnostics.empty()) {
            error = diagnostics.front().to_string();
            return;
        }
        auto log = std::make_shared<spdlog::logger>("bench", std::make_shared<spdlog::sinks::null_sink_mt>());
        frame = std::make_unique<frame::ProtocolFrame>(script, log);
        plugin::PluginLoader loader({});
        for (size_t i = 0; i < script.components.size(); ++i) {
            if (script.components[i].builtin) continue;
            auto p = loader.load(plugin, frame->host_api(), error);
            if (!p) return;
            frame->components()[i].plugin = std::move(p);
        }
        frame->init_all(1);
        sched = std::make_unique<scheduler::Scheduler>(script, pools, *frame, 1);
        frame->attach_loops({&sched->shard(0).loop()}, {&sched->shard(0)}, sched->started());
    }
    // Whether planning succeeded; when not, marks the benchmark skipped with the first problem.
    bool ready(benchmark::State& state) const {
        if (!error.empty()) state.SkipWithError(error.c_str());
        return error.empty();
    }
    scheduler::Shard& shard() { return sched->shard(0); }

    ~Rig() {
        if (sched) {
            sched->shard(0).loop().close_all();
            frame->detach_loops();
        }
        sched.reset();
        if (frame) frame->release_all();
    }
};

// The script head of both benchmarks: the C plugin bench_noop_plugin.c as component `noop`.
const std::string kNoopComponent = R"(version: "1.0"
components:
  - name: noop
    version: "1.0.0"
    kind: native
    entry: noop
)";

const std::string kNoopScript = kNoopComponent + R"(workflows:
  one:
    steps:
      - ref: call
actions:
  call:
    component: noop
    call: noop
    with:
      target: "user {{env.user_id}}"
      payload: "fixed"
load:
  scenarios:
    - name: s
      workflow: one
      user-count: 1
      task-duration: 1h
)";

void BM_DispatchAcrossAbi(benchmark::State& state, const char* plugin) {
    Rig rig(kNoopScript, plugin);
    if (!rig.ready(state)) return;
    scheduler::Shard& shard = rig.shard();
    scheduler::User u(shard, 1, 0, rig.script.variables.size(), rig.script.components.size());
    u.workflow = &rig.script.workflows[0];
    u.enter(scheduler::UserState::running);
    u.user_deadline_ms = 3'600'000;
    u.task_id = 1;
    // The user x task's workbook entry, as the scheduler opens it when a task starts: every action's
    // end writes its evidence there.
    u.wb = shard.ledger().open(u.user_id, u.task_id, 0, 0, workbook::State::executing_running_action);
    scheduler::ActionStats& st = shard.action_stats(0, 0);
    auto& io = shard.loop().io();
    scheduler::ShardProbe::dispatch(shard, u, 0);  // the first action; every later one starts from the continuation
    for (int i = 0; i < 1000; ++i) io.run_one();  // warm: buffers grown, handler memory recycled
    const uint64_t ok_before = st.ok;
    const uint64_t before = ntx::bench::allocations();
    for (auto _ : state) {
        const uint64_t ok = st.ok;
        while (st.ok == ok) io.run_one();  // the continuation and whatever timer handler is due
    }
    ntx::bench::report_allocations(state, before);
    if (st.ok - ok_before < static_cast<uint64_t>(state.iterations())) state.SkipWithError("actions were lost");
    // Let the last action end and its handlers run before the user goes.
    u.enter(scheduler::UserState::leaving);
    rig.frame->close_slot(u.slot);  // its deadline timer stops
    io.poll();
}
BENCHMARK_CAPTURE(BM_DispatchAcrossAbi, native, NTX_BENCH_NOOP_PLUGIN);
#if defined(NTX_BENCH_NOOP_WASM)
// The same protocol as a wasm guest (bench_noop_plugin.wat): interpreted, and compiled by wasm2c.
BENCHMARK_CAPTURE(BM_DispatchAcrossAbi, wasm_interp, NTX_BENCH_NOOP_WASM);
BENCHMARK_CAPTURE(BM_DispatchAcrossAbi, wasm_aot, NTX_BENCH_NOOP_WASM_AOT);
#endif

const std::string kIdleScript = kNoopComponent + R"(workflows:
  park:
    timeout: 2h
    steps:
      - think: 1h
      - ref: call
actions:
  call:
    component: noop
    call: noop
load:
  scenarios:
    - name: idle
      workflow: park
      user-count: 100000
      spawn-rate: 100000000/s
)";

void BM_SchedulerTick100kUsers(benchmark::State& state) {
    Rig rig(kIdleScript);
    if (!rig.ready(state)) return;
    scheduler::Shard& shard = rig.shard();
    auto& io = shard.loop().io();
    // Spawn every user (all are due within the first millisecond), each parks in its think.
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    for (int i = 0; i < 100 && scheduler::ShardProbe::users(shard) < 100'000; ++i) scheduler::ShardProbe::tick(shard);
    if (scheduler::ShardProbe::users(shard) != 100'000) {
        state.SkipWithError("the 100k users did not all start");
        return;
    }
    io.poll();
    const uint64_t before = ntx::bench::allocations();
    for (auto _ : state) {
        scheduler::ShardProbe::tick(shard);
        io.poll();  // the re-armed tick timer's cancelled wait completes here
    }
    ntx::bench::report_allocations(state, before);
    state.counters["users"] = static_cast<double>(scheduler::ShardProbe::users(shard));
}
BENCHMARK(BM_SchedulerTick100kUsers)->Unit(benchmark::kMicrosecond);

}  // namespace
