// The scheduler on a manual clock: a whole run driven on the test's thread (Scheduler::begin_manual,
// the loops polled between clock advances), with a real in-process protocol behind the C ABI. No
// wall clock: every count below is exact for the times the test sets.
#include <catch2/catch.hpp>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <memory>
#include <vector>

#include "frame/protocol_frame.hpp"
#include "net/run_clock.hpp"
#include "ntx/protocol.hpp"
#include "plugin/plugin_loader.hpp"
#include "scheduler/scheduler.hpp"
#include "support/dsl_load.hpp"

using namespace ntx;
using namespace std::chrono_literals;

namespace {

// calls: ok (ends at once), fail (a refused connection, at once), hang (never ends by itself), nap
// (ends after `ms` on a host timer: the loop's plugin timers run on the run's clock too).
class TestProtocol final : public ntx::Protocol {
public:
    TestProtocol() : Protocol("tp", "1.0.0", {"ok", "fail", "hang", "nap"}) {}
    void run_action(ntx::Action& a) override {
        ++started;
        if (a.call() == "ok") a.complete();
        else if (a.call() == "fail") a.fail(NTX_E_CONNECT, "connection refused");
        else if (a.call() == "nap") {
            auto* p = new ntx::PendingAction(a.pending());
            ntx_timer_t timer = 0;
            const auto& run = a.run();
            const uint64_t ms = std::stoull(std::string(a.param("ms")));
            run.api->timer_schedule(run.host, a.ctx().loop, ms, [](void* ud, ntx_timer_t) {
                std::unique_ptr<ntx::PendingAction> pending(static_cast<ntx::PendingAction*>(ud));
                pending->complete();
            }, p, &timer);
        } else {
            hanging.push_back(a.pending());
        }
    }
    void on_cancel(const ntx::RunContext&, ntx_action_t* action, void**, ntx_status_t, std::string_view) override {
        ++cancelled;
        std::erase_if(hanging, [&](const ntx::PendingAction& p) { return p.handle() == action; });
    }
    int started = 0, cancelled = 0;
    std::vector<ntx::PendingAction> hanging;
};

constexpr const char* kHead = R"(components:
  - {name: tp, version: "1.0.0", entry: tp}
actions:
  ok: {component: tp, call: ok}
  fail: {component: tp, call: fail}
  hang: {component: tp, call: hang}
  slow: {component: tp, call: hang, timeout: 50ms}
  nap: {component: tp, call: nap, with: {ms: "30"}}
)";

// The run's clock in manual mode while it lives (also when a REQUIRE throws out of a constructor).
struct ManualClock {
    ManualClock() { net::RunClock::set_manual(std::chrono::steady_clock::time_point(1h)); }
    ~ManualClock() { net::RunClock::use_steady(); }
};

// A planned run on one loop, on the manual clock from t = 0.
struct ManualRun {
    explicit ManualRun(const std::string& script_body, const std::string& config = "tick: 20ms\n",
                       const std::vector<std::pair<std::string, std::string>>& files = {}) {
        test::TempResDir dir;
        dir.write("script.yaml", std::string(kHead) + script_body);
        dir.write("config.yaml", config);
        for (const auto& [name, text] : files) dir.write(name, text);
        auto d = test::load(dir, &script);
        for (const auto& spec : script.pools) pools.push_back(resource::PairPool::load(spec, d));
        INFO(test::dump(d));
        REQUIRE(d.empty());
        auto log = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
        frame = std::make_unique<frame::ProtocolFrame>(script, log);
        std::string error;
        frame->components()[0].plugin =
            plugin::PluginLoader::load_in_process("tp", protocol.entry(), &protocol, frame->host_api(), error);
        REQUIRE(error.empty());
        frame->init_all(1);
        sched = std::make_unique<scheduler::Scheduler>(script, pools, *frame, 1);
        sched->begin_manual(stop);
        sched->poll();
    }
    ~ManualRun() {
        sched.reset();
        frame->release_all();
    }
    // Moves the clock on by `d` in steps of 1 ms, running what falls due at each.
    void advance(std::chrono::milliseconds d) {
        for (auto i = 0ms; i < d; i += 1ms) {
            net::RunClock::advance(1ms);
            sched->poll();
        }
    }
    const scheduler::ScenarioStats& scenario(uint32_t s = 0) { return sched->shard(0).scenario_stats()[s]; }
    const scheduler::ActionStats& action(uint32_t scenario, const std::string& name) {
        for (uint32_t a = 0; a < script.actions.size(); ++a)
            if (script.actions[a].name == name) return sched->shard(0).action_stats(scenario, a);
        FAIL("no action " << name);
        return sched->shard(0).action_stats(0, 0);
    }

    ManualClock clock;  // first: the last to go
    TestProtocol protocol;
    dsl::Script script;
    std::vector<std::unique_ptr<resource::PairPool>> pools;
    std::unique_ptr<frame::ProtocolFrame> frame;
    std::unique_ptr<scheduler::Scheduler> sched;
    std::atomic<int> stop{0};
};

}  // namespace

TEST_CASE("A failed task paces its user: one task per tick against a dead target") {
    ManualRun run(R"(workflows:
  dead: {steps: [{ref: fail}]}
load:
  scenarios:
    - {name: s, workflow: dead, user-count: 3, task-duration: 1s}
)");
    run.advance(1000ms);
    // The first task at t = 0, then one per tick (every 20 ms) until task-duration ends: 50 each.
    CHECK(run.scenario().tasks == 3 * 50);
    CHECK(run.scenario().exit_error == run.scenario().tasks);
    CHECK(run.action(0, "fail").errors == run.scenario().tasks);
    run.advance(100ms);
    CHECK(run.sched->finished());
    CHECK(run.scenario().completed == 3);
}

TEST_CASE("pacing.after-failure: a duration waits that long after each failed task") {
    ManualRun run(R"(workflows:
  dead: {steps: [{ref: fail}]}
load:
  scenarios:
    - {name: s, workflow: dead, user-count: 2, task-duration: 1s, pacing: {after-failure: 100ms}}
)");
    run.advance(1000ms);
    CHECK(run.scenario().tasks == 2 * 10);  // t = 0, 100, ..., 900 ms
}

TEST_CASE("A task that succeeds is not paced") {
    ManualRun run(R"(workflows:
  w: {steps: [{think: 10ms}, {ref: ok}]}
load:
  scenarios:
    - {name: s, workflow: w, user-count: 1, task-duration: 100ms}
)");
    run.advance(200ms);
    CHECK(run.scenario().tasks == 10);  // one every 10 ms: no wait for a tick between them
    CHECK(run.action(0, "ok").ok == 10);
    CHECK(run.sched->finished());
}

TEST_CASE("A fatal exit stops the shard's other users at their next step, before the next tick") {
    ManualRun run(R"(workflows:
  busy: {steps: [{think: 10ms}, {ref: ok}]}
  doomed: {steps: [{think: 15ms}, {ref: fail}]}
load:
  scenarios:
    - {name: busy, workflow: busy, user-count: 5, task-duration: 60s}
    - {name: doomed, workflow: doomed, user-count: 1, task-duration: 60s, exits: {error-out: fatal}}
)");
    run.advance(14ms);
    CHECK(run.action(0, "ok").ok == 5);  // each busy user's first action at t = 10 ms
    CHECK(run.stop.load() == 0);
    run.advance(2ms);  // t = 16: the doomed task failed at 15 ms
    CHECK(run.stop.load() == 1);
    CHECK(run.sched->stop_reason().find("its exit is fatal") != std::string::npos);
    run.advance(10ms);  // the busy users wake at t = 20 ms: none starts its action
    CHECK(run.action(0, "ok").ok == 5);
    CHECK(run.action(1, "fail").errors == 1);
    CHECK(run.scenario(1).tasks == 1);
    run.advance(20ms);  // the shard finds itself done at its next tick (40 ms)
    CHECK(run.sched->finished());
    CHECK(run.scenario(0).stopped == 5);
}

TEST_CASE("A stop lets in-flight actions finish within the grace period, then cancels them") {
    ManualRun run(R"(workflows:
  w: {steps: [{ref: hang}]}
load:
  scenarios:
    - {name: s, workflow: w, user-count: 4, task-duration: 60s}
)", "tick: 20ms\ngrace-period: 200ms\n");
    run.advance(50ms);
    CHECK(run.protocol.hanging.size() == 4);
    run.stop = 1;
    run.advance(200ms);  // seen at the tick at 60 ms: the grace period ends at 260 ms
    CHECK(run.protocol.cancelled == 0);
    CHECK_FALSE(run.sched->finished());
    run.advance(40ms);
    CHECK(run.protocol.cancelled == 4);
    CHECK(run.action(0, "hang").cancelled == 4);
    CHECK(run.sched->finished());
    CHECK(run.scenario().stopped == 4);
    CHECK(run.protocol.started == 4);
}

TEST_CASE("An action's deadline fires on the run's clock, and its on-timeout handler routes the task") {
    ManualRun run(R"(workflows:
  w:
    steps: [{ref: slow}]
    on-timeout: [{goto: closing}]
load:
  scenarios:
    - {name: s, workflow: w, user-count: 1, task-duration: 60s}
)");
    run.advance(49ms);
    CHECK(run.action(0, "slow").timeouts == 0);
    run.advance(2ms);
    CHECK(run.action(0, "slow").timeouts == 1);
    CHECK(run.protocol.cancelled == 1);
    run.advance(1ms);
    CHECK(run.scenario().exit_closing == 1);  // goto closing: the user leaves
    run.advance(20ms);
    CHECK(run.sched->finished());
}

TEST_CASE("A workflow's timeout is checked on ticks and ends the task through timeout_out") {
    ManualRun run(R"(workflows:
  w:
    timeout: 100ms
    steps: [{ref: hang}]
load:
  scenarios:
    - {name: s, workflow: w, user-count: 1}
)");
    run.advance(99ms);
    CHECK(run.action(0, "hang").timeouts == 0);
    run.advance(21ms);  // the first tick at or after 100 ms
    CHECK(run.action(0, "hang").timeouts == 1);
    CHECK(run.scenario().exit_timeout == 1);
    CHECK(run.sched->finished());
}

TEST_CASE("A handler retries the step with backoff, then its route decides") {
    ManualRun run(R"(workflows:
  w:
    steps: [{ref: fail}]
    on-error: [{retry: {max: 2, backoff: 100ms}}, {goto: closing}]
load:
  scenarios:
    - {name: s, workflow: w, user-count: 1, task-duration: 60s}
)");
    run.advance(10ms);
    CHECK(run.action(0, "fail").errors == 1);
    run.advance(400ms);  // two retries, each after at most 100 ms, 200 ms (jittered from half of it)
    CHECK(run.action(0, "fail").errors == 3);
    CHECK(run.action(0, "fail").retries == 2);
    CHECK(run.scenario().exit_closing == 1);
    CHECK(run.scenario().tasks == 1);
    CHECK(run.sched->finished());
}

TEST_CASE("A parallel step waits for all its branches; a failed branch fails the step") {
    ManualRun run(R"(workflows:
  w:
    steps:
      - parallel:
          - steps: [{think: 30ms}, {ref: ok}]
          - ref: fail
      - ref: ok
load:
  scenarios:
    - {name: s, workflow: w, user-count: 1}
)");
    run.advance(20ms);
    CHECK(run.action(0, "fail").errors == 1);
    CHECK(run.action(0, "ok").ok == 0);
    CHECK_FALSE(run.sched->finished());  // the other branch still thinks
    run.advance(20ms);
    CHECK(run.action(0, "ok").ok == 1);      // the branch's action; the step after it never runs
    CHECK(run.scenario().exit_error == 1);
    CHECK(run.sched->finished());
}

TEST_CASE("A late completion of an action the host already ended is refused (a stale token)") {
    ManualRun run(R"(workflows:
  w:
    steps: [{ref: slow}, {ref: slow}]
load:
  scenarios:
    - {name: s, workflow: w, user-count: 1, task-duration: 60s}
    )");
    run.advance(10ms);
    REQUIRE(run.protocol.hanging.size() == 1);
    ntx::PendingAction first = run.protocol.hanging.front();
    run.advance(45ms);  // timed out at 50 ms (the plugin forgot it in on_cancel)
    CHECK(run.action(0, "slow").timeouts == 1);
    CHECK(first.complete() == NTX_E_STATE);
    CHECK(run.action(0, "slow").ok == 0);
}

namespace {
const char* kPool = R"(resources:
  slots:
    type: pair_pool
    config:
      manifest: ./slots.csv
      parser: {format: csv, fields: [ip, port]}
    capacity: {size: 1, guard: exclusive}
workflows:
  w: {steps: [{think: 50ms}, {ref: ok}]}
)";
}  // namespace

TEST_CASE("An exclusive item goes to the waiting users one after another, at ticks") {
    ManualRun run(std::string(kPool) + R"(load:
  scenarios:
    - {name: s, workflow: w, user-count: 3, user: {inherit: [slots]}}
)", "tick: 20ms\n", {{"slots.csv", "ip,port\n127.0.0.1,1\n"}});
    run.advance(55ms);  // the first user's task ended at 50 ms and gave the item back
    CHECK(run.scenario().tasks == 1);
    CHECK(run.scenario().completed == 1);
    run.advance(10ms);  // the tick at 60 ms leases it to the oldest waiting user
    CHECK(run.scenario().tasks == 2);
    run.advance(60ms);  // its task ends at 110 ms; the tick at 120 ms hands the item to the last
    CHECK(run.scenario().tasks == 3);
    run.advance(80ms);
    CHECK(run.scenario().completed == 3);
    CHECK(run.sched->finished());
    CHECK(run.pools[0]->leases_held() == 0);
}

TEST_CASE("A user gives up waiting for a lease when its wait limit (the workflow's timeout) passes") {
    ManualRun run(std::string(kPool) + R"(  limited: {timeout: 100ms, steps: [{think: 50ms}, {ref: ok}]}
load:
  scenarios:
    - {name: s, workflow: limited, user-count: 3, user: {inherit: [slots]}}
)", "tick: 20ms\n", {{"slots.csv", "ip,port\n127.0.0.1,1\n"}});
    run.advance(90ms);  // the second user leased the item at 60 ms; the third waits
    CHECK(run.scenario().tasks == 2);
    CHECK(run.scenario().resource_wait_timeouts == 0);
    run.advance(20ms);  // the tick at 100 ms: its wait limit passed
    CHECK(run.scenario().resource_wait_timeouts == 1);
    run.advance(40ms);
    CHECK(run.scenario().completed == 2);
    CHECK(run.scenario().tasks == 2);
    CHECK(run.sched->finished());
    CHECK(run.pools[0]->leases_held() == 0);
}

TEST_CASE("A plugin's host timer runs on the run's clock") {
    ManualRun run(R"(workflows:
  w: {steps: [{ref: nap}, {ref: nap}]}
load:
  scenarios:
    - {name: s, workflow: w, user-count: 2}
)");
    run.advance(29ms);
    CHECK(run.action(0, "nap").ok == 0);
    run.advance(2ms);
    CHECK(run.action(0, "nap").ok == 2);
    run.advance(30ms);
    CHECK(run.action(0, "nap").ok == 4);
    const auto& latency = run.action(0, "nap").latency;  // microseconds, on the manual clock
    CHECK(latency.min_us() == 30'000);
    CHECK(latency.max_us() == 30'000);
}

TEST_CASE("A user's state machine allows only its transitions") {
    using S = scheduler::UserState;
    CHECK(scheduler::can_enter(S::pending, S::running));
    CHECK(scheduler::can_enter(S::pending, S::waiting_resource));
    CHECK(scheduler::can_enter(S::waiting_resource, S::running));
    CHECK(scheduler::can_enter(S::running, S::waiting_resource));  // a lease lost at a task boundary
    CHECK(scheduler::can_enter(S::running, S::leaving));
    CHECK(scheduler::can_enter(S::leaving, S::offline));
    CHECK_FALSE(scheduler::can_enter(S::leaving, S::running));  // a leaving user never starts a task
    CHECK_FALSE(scheduler::can_enter(S::leaving, S::waiting_resource));
    CHECK_FALSE(scheduler::can_enter(S::offline, S::running));
    CHECK_FALSE(scheduler::can_enter(S::offline, S::leaving));
}
