// The workbook's hot path: what the scheduler does to a user's entry at each state change (an action
// starts, ends, a think, an update-workbook of a script field), and the memory of a ledger of 100,000
// entries with the seeds' fields. Target: an update under 100 ns; 100,000 entries under 64 MiB.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "alloc_counter.hpp"
#include "workbook/workbook.hpp"

using namespace ntx;

namespace {

constexpr uint32_t kEntries = 100'000;

// The seeds' fields (seed 001, section 5): the builtins, plus a script field in each section the
// example workbook declares.
workbook::Schema seed_schema() {
    workbook::Schema s;
    s.add_field("telemetry.counters.success", "0");
    s.add_field("telemetry.counters.failure", "0");
    s.add_field("registers.flag", "");
    s.add_field("communications.last_synced_at", "");
    return s;
}

workbook::Ledger filled(const workbook::Schema& schema, uint32_t n) {
    workbook::Ledger l;
    for (uint32_t i = 0; i < n; ++i) l.open(i + 1, i + 1, 0, i, workbook::State::executing_running_action);
    l.clear_dirty(schema);
    return l;
}

// One state change: the action starts (state + current action), as Shard::run_step does.
void BM_WorkbookSetAction(benchmark::State& state) {
    auto schema = seed_schema();
    auto l = filled(schema, kEntries);
    uint32_t i = 0;
    uint32_t action = 0;
    for (auto _ : state) {
        l.set_action(i, action, workbook::State::executing_running_action);
        if (++i == kEntries) {
            i = 0;
            l.clear_dirty(schema);  // as the shard's tick does (outside the timed update, amortised)
        }
        action ^= 1;
    }
    benchmark::DoNotOptimize(l.at(0));
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_WorkbookSetAction);

// An action ends: evidence (outcome and response time), then the next state.
void BM_WorkbookActionEnd(benchmark::State& state) {
    auto schema = seed_schema();
    auto l = filled(schema, kEntries);
    uint32_t i = 0;
    for (auto _ : state) {
        l.set_evidence(i, workbook::LastEvent::ok, 1234);
        l.set_state(i, workbook::State::executing_thinking);
        if (++i == kEntries) {
            i = 0;
            l.clear_dirty(schema);
        }
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_WorkbookActionEnd);

// update-workbook of a script field (a counter's new value, rendered to a short string).
void BM_WorkbookSetField(benchmark::State& state) {
    auto schema = seed_schema();
    auto success = *schema.find("telemetry.counters.success");
    auto l = filled(schema, kEntries);
    uint32_t i = 0;
    const std::string values[2] = {"17", "18"};
    uint32_t v = 0;
    const uint64_t before = ntx::bench::allocations();
    for (auto _ : state) {
        l.set_field(i, success, values[v], schema);
        if (++i == kEntries) {
            i = 0;
            v ^= 1;
            l.clear_dirty(schema);
        }
    }
    ntx::bench::report_allocations(state, before);
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_WorkbookSetField);

// 100,000 entries, each with two script fields set away from their defaults (the rest sparse): the
// ledger's memory, reported as counters (bytes and MiB).
void BM_WorkbookMemory100k(benchmark::State& state) {
    auto schema = seed_schema();
    auto success = *schema.find("telemetry.counters.success");
    auto flag = *schema.find("registers.flag");
    size_t bytes = 0;
    for (auto _ : state) {
        workbook::Ledger l;
        for (uint32_t i = 0; i < kEntries; ++i) {
            uint32_t e = l.open(i + 1, i + 1, 0, i, workbook::State::executing_running_action);
            l.set_action(e, 0, workbook::State::executing_running_action);
            l.set_evidence(e, workbook::LastEvent::ok, 900);
            l.set_field(e, success, "3", schema);
            l.set_field(e, flag, "latency-high", schema);
            l.set_state(e, workbook::State::closing_done);
        }
        l.clear_dirty(schema);
        bytes = l.memory_bytes();
        benchmark::DoNotOptimize(bytes);
    }
    state.counters["bytes"] = static_cast<double>(bytes);
    state.counters["MiB"] = static_cast<double>(bytes) / (1024.0 * 1024.0);
    state.counters["bytes_per_entry"] = static_cast<double>(bytes) / kEntries;
}
BENCHMARK(BM_WorkbookMemory100k)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

#include "progress/bus.hpp"

namespace {

// With a subscriber, each dirty entry costs one ring slot per tick: claim, copy the builtins, commit.
// The consumer side (drain) runs here every 1024 pushes (on the bus's thread in a run).
void BM_ProgressRingPush(benchmark::State& state) {
    progress::Ring ring(16384);
    workbook::Entry e;
    e.user_id = 42;
    e.task_id = 7;
    e.dirty = workbook::d_state | workbook::d_evidence;
    uint32_t n = 0;
    uint64_t drained = 0;
    for (auto _ : state) {
        progress::Record* r = ring.claim();
        r->kind = progress::Record::Kind::entry;
        r->user_id = e.user_id;
        r->task_id = e.task_id;
        r->scenario = e.scenario;
        r->action = e.current_action;
        r->timeout_at_ms = e.timeout_at_ms;
        r->response_us = e.response_us;
        r->retry_left = e.retry_left;
        r->dirty = e.dirty;
        r->state = e.state;
        r->last_event = e.last_event;
        r->field_count = 0;
        ring.commit();
        if (++n == 1024) {
            state.PauseTiming();
            drained += ring.drain([](const progress::Record&) {});
            n = 0;
            state.ResumeTiming();
        }
    }
    benchmark::DoNotOptimize(drained);
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_ProgressRingPush);

}  // namespace
