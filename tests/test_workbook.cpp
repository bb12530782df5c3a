// The workbook ledger (sparse defaults, expose aliases, dirty tracking, section paths), its DSL
// (`workbook:`, `update-workbook`, `{{workbook.*}}`, `progress:`) and the progress bus's batching.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <boost/json.hpp>
#include <thread>

#include "dsl/script.hpp"
#include "ntx/host.hpp"
#include "progress/bus.hpp"
#include "support/dsl_load.hpp"
#include "workbook/workbook.hpp"

using namespace ntx;
using namespace ntx::test;
namespace wb = ntx::workbook;

namespace {

wb::Names names() {
    wb::Names n;
    n.program = "prog";
    n.scenarios = {"s"};
    n.workflows = {"wf"};
    n.actions = {"get", "post"};
    return n;
}

std::string value(const wb::Schema& schema, const wb::Entry& e, uint32_t id) {
    std::string out;
    wb::append_value(schema, names(), e, id, out);
    return out;
}

}  // namespace

TEST_CASE("the schema knows the builtins by section path and by alias", "[workbook]") {
    wb::Schema s;
    CHECK(s.find("timeline.phase") == uint32_t{wb::f_state});
    CHECK(s.find("state") == uint32_t{wb::f_state});
    CHECK(s.find("governance.scope_trace") == uint32_t{wb::f_scope_trace});
    CHECK(s.find("scope_trace") == uint32_t{wb::f_scope_trace});
    CHECK(s.find("evidence.response_ms") == uint32_t{wb::f_response_ms});
    CHECK(s.find("user_id") == uint32_t{wb::f_user_id});
    CHECK_FALSE(s.find("telemetry.counters.success"));
    auto id = s.add_field("telemetry.counters.success", "0");
    REQUIRE(id);
    CHECK_FALSE(s.add_field("telemetry.counters.success", "1"));  // declared once
    CHECK(s.add_alias("success", *id));
    CHECK(s.find("success") == *id);
    CHECK_FALSE(s.add_alias("state", *id));               // an alias of another field
    CHECK_FALSE(s.add_alias("telemetry.counters.success", *id));  // a field path is not an alias
    // save-as scope workbook: registers.<name>, aliased by its name.
    auto reg = s.add_register("asset");
    CHECK(s.field(reg).path == "registers.asset");
    CHECK(s.find("asset") == reg);
    CHECK(s.add_register("asset") == reg);
}

TEST_CASE("ledger entries are sparse: defaults take no memory and read back", "[workbook]") {
    wb::Schema s;
    auto success = *s.add_field("telemetry.counters.success", "0");
    auto note = *s.add_field("registers.note", "");
    wb::Ledger l;
    uint32_t i = l.open(7, 3, 0, 100, wb::State::executing_running_action);
    CHECK(l.at(i).fields.empty());
    CHECK(value(s, l.at(i), success) == "0");
    l.set_field(i, success, "0", s);  // the default: nothing stored
    CHECK(l.at(i).fields.empty());
    l.set_field(i, success, "5", s);
    REQUIRE(l.at(i).fields.size() == 1);
    CHECK(value(s, l.at(i), success) == "5");
    CHECK(value(s, l.at(i), note).empty());
    // Back to the default: dropped at the next flush.
    l.set_field(i, success, "0", s);
    CHECK(value(s, l.at(i), success) == "0");
    l.clear_dirty(s);
    CHECK(l.at(i).fields.empty());
    // The builtins render from the entry's compact fields.
    l.set_action(i, 1, wb::State::executing_running_action);
    l.set_evidence(i, wb::LastEvent::ok, 1500);
    CHECK(value(s, l.at(i), wb::f_state) == "executing.running_action");
    CHECK(value(s, l.at(i), wb::f_current_action) == "post");
    CHECK(value(s, l.at(i), wb::f_owner) == "s/wf");
    CHECK(value(s, l.at(i), wb::f_scope_trace) == "prog/s/wf/task-3");
    CHECK(value(s, l.at(i), wb::f_last_event) == "ok");
    CHECK(value(s, l.at(i), wb::f_response_ms) == "1.500");
    CHECK(value(s, l.at(i), wb::f_timeout_at).empty());
    l.set_timeout_at(i, 5100);
    CHECK(value(s, l.at(i), wb::f_timeout_at) == "5100");
    CHECK(sizeof(wb::Entry) <= 80);
}

TEST_CASE("dirty tracking lists each changed entry once until cleared", "[workbook]") {
    wb::Schema s;
    auto f = *s.add_field("telemetry.n", "");
    wb::Ledger l;
    uint32_t a = l.open(1, 1, 0, 0, wb::State::executing_running_action);
    uint32_t b = l.open(2, 2, 0, 0, wb::State::executing_running_action);
    CHECK(l.dirty() == std::vector<uint32_t>{a, b});
    CHECK((l.at(a).dirty & wb::d_opened));
    l.clear_dirty(s);
    CHECK(l.dirty().empty());
    CHECK(l.at(a).dirty == 0);
    l.set_state(b, wb::State::executing_thinking);
    l.set_state(b, wb::State::executing_running_action);
    l.set_field(b, f, "x", s);
    l.set_state(a, wb::State::executing_running_action);  // unchanged: not dirty
    CHECK(l.dirty() == std::vector<uint32_t>{b});
    CHECK(l.at(b).dirty == (wb::d_state | wb::d_fields));
    REQUIRE(l.at(b).fields.size() == 1);
    CHECK(l.at(b).fields[0].dirty);
    l.clear_dirty(s);
    CHECK_FALSE(l.at(b).fields[0].dirty);
    CHECK(l.at(b).fields[0].value == "x");
}

TEST_CASE("state names are phase.substate and round-trip", "[workbook]") {
    for (size_t k = 0; k < wb::kStates; ++k) {
        auto st = static_cast<wb::State>(k);
        auto name = wb::state_name(st);
        CHECK(name.find('.') != std::string_view::npos);
        CHECK(wb::state_from_name(name) == st);
    }
    CHECK(wb::is_final(wb::State::closing_timeout));
    CHECK_FALSE(wb::is_final(wb::State::monitoring_retry));
    CHECK(wb::state_phase(wb::State::closing_error) == 4);
}

TEST_CASE("a snapshot line holds the builtins and every section field", "[workbook]") {
    wb::Schema s;
    auto success = *s.add_field("telemetry.counters.success", "0");
    s.add_field("registers.note", "none");
    wb::Ledger l;
    uint32_t i = l.open(9, 4, 0, 10, wb::State::executing_running_action);
    l.set_field(i, success, "2", s);
    l.set_state(i, wb::State::closing_error);
    auto v = boost::json::parse(wb::entry_json(s, names(), l.at(i))).as_object();
    CHECK(v.at("user_id").to_number<uint64_t>() == 9);
    CHECK(v.at("task_id").to_number<uint64_t>() == 4);
    CHECK(v.at("state").as_string() == "closing.error");
    CHECK(v.at("owner").as_string() == "s/wf");
    CHECK(v.at("scope_trace").as_array().size() == 4);
    CHECK(v.at("sections").at("telemetry").at("counters.success").as_string() == "2");
    CHECK(v.at("sections").at("registers").at("note").as_string() == "none");
    CHECK(v.at("evidence").at("last_event").is_null());
}

// ---- the DSL ---------------------------------------------------------------------------------------

namespace {

const char* kScript = R"(version: "1.0"
components:
  - name: http
    version: "0.2.1"
    entry: http
workbook:
  telemetry:
    defaults:
      counters: {success: 0, failure: 0}
  registers:
    fields: [note]
  expose:
    success: telemetry.counters.success
progress:
  batching: {max-batch-size: 50, flush-interval: 250ms, priority-threshold: 4}
  poller:
    priorities: {executing: 1, closing: 5}
workflows:
  wf:
    steps:
      - ref: get
      - update-workbook:
          telemetry.counters.success: "{{workbook.success + 1}}"
          registers.note: "user {{workbook.user_id}} in {{workbook.state}}"
      - ref: post
actions:
  get:
    component: http
    call: get
    with:
      url: "http://127.0.0.1:1/"
  post:
    component: http
    call: post
    with:
      url: "http://127.0.0.1:1/"
      headers:
        X-Success: "{{workbook.telemetry.counters.success}}"
        X-State: "{{workbook.state}}"
load:
  scenarios:
    - name: s
      workflow: wf
      user-count: 1
)";

}  // namespace

TEST_CASE("workbook:, update-workbook and {{workbook.*}} compile", "[workbook][dsl]") {
    dsl::Script s = compiled(kScript);
    auto success = s.workbook.find("telemetry.counters.success");
    REQUIRE(success);
    CHECK(s.workbook.find("success") == success);
    CHECK(s.workbook.field(*success).default_value == "0");
    CHECK(s.workbook.find("telemetry.counters.failure"));
    auto note = s.workbook.find("registers.note");
    REQUIRE(note);
    CHECK(s.workbook.field(*note).default_value.empty());
    const auto& steps = s.workflows[0].steps;
    REQUIRE(steps.size() == 3);
    REQUIRE(steps[1].kind == dsl::Step::Kind::update_workbook);
    REQUIRE(steps[1].updates.size() == 2);
    CHECK(steps[1].updates[0].first == *success);
    CHECK(steps[1].updates[1].first == *note);
    // {{workbook.x}} compiles to a workbook part naming the field's id.
    const auto& with = s.actions[1].with;
    auto it = std::find_if(with.begin(), with.end(), [](auto& kv) { return kv.first == "headers.X-Success"; });
    REQUIRE(it != with.end());
    REQUIRE(it->second.parts().size() == 1);
    CHECK(it->second.parts()[0].kind == dsl::TemplatePart::Kind::workbook);
    CHECK(it->second.parts()[0].slot == *success);
    // progress:
    CHECK(s.progress.max_batch_size == 50);
    CHECK(s.progress.flush_interval_ms == 250);
    CHECK(s.progress.priority_threshold == 4);
    CHECK(s.progress.priorities[4] == 5);
    CHECK(s.progress.priorities[2] == 1);
}

TEST_CASE("workbook DSL errors carry file:line:col and hints, all at once", "[workbook][dsl]") {
    SECTION("an unknown section") {
        auto d = load(replaced(kScript, "  registers:\n", "  registrs:\n"));
        INFO(dump(d));
        CHECK(has(d, 10, 3, "unknown key 'registrs' in workbook", "did you mean 'registers'?"));
    }
    SECTION("an unknown key in a section") {
        auto d = load(replaced(kScript, "    fields: [note]", "    field: [note]"));
        INFO(dump(d));
        CHECK(has(d, 11, 5, "unknown key 'field' in workbook.registers", "did you mean 'fields'?"));
    }
    SECTION("expose names a missing path") {
        auto d = load(replaced(kScript, "success: telemetry.counters.success", "success: telemetry.counter.success"));
        INFO(dump(d));
        CHECK(has(d, 13, 14, "no workbook field 'telemetry.counter.success'", "did you mean 'telemetry.counters.success'?"));
    }
    SECTION("update-workbook of an undeclared field, of a builtin, and a template of a missing field") {
        auto text = replaced(kScript, "          registers.note: \"user", "          registers.nots: \"user");
        text = replaced(text, "telemetry.counters.success: \"{{workbook.success + 1}}\"",
                        "state: \"{{workbook.success + 1}}\"");
        text = replaced(text, "X-State: \"{{workbook.state}}\"", "X-State: \"{{workbook.stat}}\"");
        auto d = load(text);
        INFO(dump(d));
        CHECK(has(d, 23, 18, "update-workbook: 'state' is kept by the scheduler"));
        CHECK(has(d, 24, 27, "update-workbook: the workbook has no field or alias 'registers.nots'",
                  "did you mean 'registers.note'?"));
        CHECK(has(d, 39, 19, "the workbook has no field or alias 'stat'"));
        CHECK(d.size() == 3);
    }
    SECTION("a declared builtin, and progress errors") {
        auto text = replaced(kScript, "    fields: [note]", "    fields: [note]\n  timeline:\n    fields: [phase]");
        text = replaced(text, "max-batch-size: 50", "max-batch-size: 0");
        text = replaced(text, "closing: 5", "closng: 5");
        auto d = load(text);
        INFO(dump(d));
        CHECK(has(d, 13, 14, "workbook field 'timeline.phase' is kept by the scheduler"));
        CHECK(has(d, 17, 30, "max-batch-size must be between 1 and 1000000"));
        CHECK(has(d, 19, 32, "unknown process group 'closng'", "did you mean 'closing'?"));
        CHECK(d.size() == 3);
    }
}

// ---- the progress bus ---------------------------------------------------------------------------------

TEST_CASE("a full ring drops and counts, never blocks", "[progress]") {
    progress::Ring ring(16);
    size_t pushed = 0;
    for (int i = 0; i < 40; ++i) {
        if (auto* r = ring.claim()) {
            r->user_id = static_cast<uint64_t>(i);
            ring.commit();
            ++pushed;
        }
    }
    CHECK(pushed == 16);
    CHECK(ring.dropped() == 24);
    std::vector<uint64_t> seen;
    CHECK(ring.drain([&](const progress::Record& r) { seen.push_back(r.user_id); }) == 16);
    CHECK(seen.front() == 0);
    CHECK(seen.back() == 15);
    REQUIRE(ring.claim());  // room again
}

TEST_CASE("the bus delivers in order, in batches of at most max-batch-size", "[progress]") {
    wb::Schema schema;
    auto n = names();
    progress::ProgressConfig cfg;
    cfg.max_batch_size = 7;
    cfg.flush_interval_ms = 50;
    cfg.queue_size = 1024;
    std::vector<size_t> sizes;
    std::vector<uint64_t> order;
    progress::Bus bus(cfg, schema, n, 2, {[&](std::span<const ProgressEvent> batch) {
                          sizes.push_back(batch.size());
                          for (const auto& ev : batch) order.push_back(ev.task_id);
                      }});
    REQUIRE(bus.active());
    bus.start(std::chrono::steady_clock::now());
    // Two producers, each on its own thread (as shards are), 300 records each.
    auto produce = [&](unsigned shard) {
        for (uint64_t k = 1; k <= 300; ++k) {
            progress::Record* r;
            while (!(r = bus.ring(shard).claim())) std::this_thread::yield();  // the test wants none dropped
            r->kind = progress::Record::Kind::entry;
            r->user_id = shard + 1;
            r->task_id = shard * 1000 + k;
            r->dirty = wb::d_state;
            r->state = wb::State::executing_running_action;
            r->field_count = 0;
            bus.ring(shard).commit();
        }
    };
    std::thread a(produce, 0), b(produce, 1);
    a.join();
    b.join();
    bus.finish();
    CHECK(bus.stats().events == 600);
    CHECK(bus.stats().dropped == 0);
    CHECK(*std::max_element(sizes.begin(), sizes.end()) <= 7);
    // Per producer, the order it pushed.
    uint64_t last0 = 0, last1 = 1000;
    for (uint64_t t : order) {
        if (t < 1000) {
            CHECK(t == last0 + 1);
            last0 = t;
        } else {
            CHECK(t == last1 + 1);
            last1 = t;
        }
    }
    CHECK(last0 == 300);
    CHECK(last1 == 1300);
}

TEST_CASE("an event at the priority threshold is delivered without waiting for the flush interval", "[progress]") {
    wb::Schema schema;
    auto n = names();
    progress::ProgressConfig cfg;
    cfg.flush_interval_ms = 60'000;  // never, within this test
    cfg.priority_threshold = 5;
    cfg.priorities = {1, 1, 1, 1, 5};
    std::mutex m;
    std::condition_variable cv;
    std::vector<std::string> kinds;
    progress::Bus bus(cfg, schema, n, 1, {[&](std::span<const ProgressEvent> batch) {
                          std::lock_guard lock(m);
                          for (const auto& ev : batch) kinds.push_back(ev.kind + ":" + std::to_string(ev.priority));
                          cv.notify_all();
                      }});
    bus.start(std::chrono::steady_clock::now());
    ProgressEvent low;
    low.kind = "phase";
    low.phase = RunPhase::executing;
    bus.publish(low);
    ProgressEvent high;
    high.kind = "phase";
    high.phase = RunPhase::closing;
    bus.publish(high);
    {
        std::unique_lock lock(m);
        // Delivered well before the 60 s flush interval (the wait's bound only keeps a broken bus from hanging).
        REQUIRE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return kinds.size() == 2; }));
        CHECK(kinds == std::vector<std::string>{"phase:1", "phase:5"});
    }
    bus.finish();
}

// ---- a C++ subscriber through RunOptions::progress_subscribers, on a real run -------------------------

TEST_CASE("RunOptions::progress_subscribers sees the run's phases, every entry's states and plugin progress",
          "[progress][workbook]") {
    TempResDir dir;
    dir.write("script.yaml", std::string(R"(
components:
  - {name: probe, version: "1.0.0", entry: )") + NTX_TEST_BROKEN_PLUGIN_DIR + R"(/ntx_probe.so}
workbook:
  registers: {fields: [seen]}
progress:
  batching: {max-batch-size: 10, flush-interval: 20ms}
workflows:
  w:
    steps:
      - {ref: nap}
      - update-workbook: {registers.seen: "{{workbook.current_action}}@{{workbook.state}}"}
      - {think: 10ms}
actions:
  nap: {component: probe, call: sleep, with: {ms: "20", progress: "0.25"}}
load:
  scenarios: [{name: s, workflow: w, user-count: 12}]
)");
    std::vector<ProgressEvent> events;  // called on the bus's thread, one call at a time
    size_t biggest = 0;
    RunOptions options;
    options.quiet = true;
    options.threads = 2;
    options.keep_workbook = true;  // and the ledger itself, to query after the run: every entry
    options.workbook_retention.keep = WorkbookRetention::Keep::all;
    options.progress_subscribers.push_back([&](std::span<const ProgressEvent> batch) {
        biggest = std::max(biggest, batch.size());
        events.insert(events.end(), batch.begin(), batch.end());
    });
    Host host;
    Report report = host.start(dir.path().string(), options);
    // initiating and planning come first, straight from the planning thread; the bus carries the rest.
    REQUIRE(events.size() >= 4);
    CHECK(biggest <= 10);
    for (size_t i = 0; i < 3; ++i) CHECK(events[i].kind == "phase");
    CHECK(events[0].phase == RunPhase::initiating);
    CHECK(events[1].phase == RunPhase::planning);
    CHECK(events[2].phase == RunPhase::executing);
    CHECK(events.back().kind == "phase");
    CHECK(events.back().phase == RunPhase::closing);
    std::map<uint64_t, std::vector<std::string>> states;  // user -> states in order
    std::map<uint64_t, std::string> seen;
    size_t plugin = 0;
    for (const auto& ev : events) {
        if (ev.kind == "plugin") {
            ++plugin;
            CHECK(ev.progress == Approx(0.25));
            CHECK(ev.scope == ProgressScope::action);
            continue;
        }
        if (ev.kind != "task.state" && ev.kind != "workbook.field") continue;
        for (const auto& [k, v] : ev.fields) {
            if (k == "state") states[ev.user_id].push_back(v);
            if (k == "registers.seen") seen[ev.user_id] = v;
        }
    }
    CHECK(plugin == 12);
    REQUIRE(states.size() == 12);
    for (const auto& [user, seq] : states) {
        INFO("user " << user);
        CHECK(seq.back() == "closing.done");
        CHECK(std::count_if(seq.begin(), seq.end(), [](const std::string& s) { return s.starts_with("closing."); }) == 1);
        CHECK(seen[user] == "nap@executing.running_action");
    }
    CHECK(report.workbook.entries == 12);
    CHECK(report.workbook.by_state == std::vector<std::pair<std::string, uint64_t>>{{"closing.done", 12}});
    CHECK(report.workbook.stream_events == events.size() - 2);  // what the bus delivered
    CHECK(report.workbook.stream_dropped == 0);

    // RunOptions::keep_workbook: the same entries, as values, ordered by user and task.
    const auto& rows = report.workbook.rows;
    REQUIRE(rows.size() == 12);
    for (size_t i = 0; i < rows.size(); ++i) {
        const WorkbookEntry& e = rows[i];
        INFO("user " << e.user_id);
        if (i) CHECK(rows[i - 1].user_id < e.user_id);
        CHECK(e.state == "closing.done");
        CHECK(e.scenario == "s");
        CHECK(e.current_action == "nap");
        CHECK(e.last_event == "ok");
        CHECK(e.response_ms >= 15.0);  // a 20 ms nap
        CHECK(e.scope_trace.size() == 4);
        REQUIRE(e.field("registers.seen"));
        CHECK(*e.field("registers.seen") == seen[e.user_id]);
        CHECK(report.workbook.of_user(e.user_id).size() == 1);
    }
}
