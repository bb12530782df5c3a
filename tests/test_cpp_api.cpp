// The C++ API for harness authors: ScriptBuilder (the same compiled form and the same validator as
// script.yaml), in-process protocols, background runs (Host::launch / ntx::Run).
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <unistd.h>

#include "dsl/script.hpp"
#include "ntx/host.hpp"
#include "ntx/protocol.hpp"
#include "ntx/script_builder.hpp"
#include "resource/source_files.hpp"

namespace fs = std::filesystem;

namespace {

const fs::path kTriPhase = fs::path(NTX_TEST_SOURCE_DIR) / "examples" / "http-tri-phase";

// examples/http-tri-phase/script.yaml, written with the builder.
ntx::BuiltScript tri_phase_in_code() {
    ntx::ScriptBuilder b;
    b.base_dir(kTriPhase.string());
    b.component("http").version("0.2.1").entry("http").capabilities({"get", "post", "delete"}).set("kind", "native");
    b.resource_manager();
    b.pair_pool("ip-port-pool").manifest("./resource.csv", {"ip", "port"}).capacity(1000).ttl("120s");
    const std::string url = "http://{{resource.ip}}:{{resource.port}}/asset";
    b.action("probe-get").component("http").call("get").with("url", url).timeout("2s").save_as("asset");
    b.action("push-post").component("http").call("post").with("url", url).with("body", "{{asset.body}}")
        .with("headers.Content-Type", "application/json").timeout("2s").save_as("result");
    b.action("purge-delete").component("http").call("delete").with("url", url).timeout("2s");
    b.workflow("http_tri_phase").step("probe-get").step("push-post").step("purge-delete").timeout("5s")
        .on_error_goto("error_out");
    b.scenario("http-bulk").workflow("http_tri_phase").users(1000).spawn_rate("200/s").inherit("ip-port-pool");
    b.config("tick", "20ms").config("log.level", "warn");
    return b.build();
}

ntx::dsl::Script compile(const ntx::BuiltScript& s, std::vector<ntx::Diagnostic>& diagnostics) {
    ntx::dsl::SourceTexts texts;
    texts.script_yaml = s.script_yaml();
    texts.config_yaml = s.config_yaml();
    return ntx::dsl::load_res_dir(s.base_dir(), ntx::resource::file_reader(), diagnostics, &texts);
}

// A protocol in the test's own code: `echo` completes at once with the `value` it was given.
class EchoProtocol : public ntx::Protocol {
public:
    explicit EchoProtocol(std::string version = "1.2.0", ntx_status_t init_status = NTX_OK)
        : Protocol("echo", std::move(version), {"say"}), init_status_(init_status) {}
    ntx_status_t init(const ntx::RunContext&) override { return init_status_; }
    void run_action(ntx::Action& action) override {
        calls.fetch_add(1);
        action.complete({{"value", action.param("value")}});
    }
    void release(const ntx::RunContext&) override { releases.fetch_add(1); }
    std::atomic<int> calls{0}, releases{0};

private:
    ntx_status_t init_status_;
};

// `users` users, each saying hello `steps` times (with a think between), through component `echo`.
ntx::BuiltScript echo_script(uint64_t users, int steps, const std::string& think = "0ms",
                             const std::string& task_duration = "") {
    ntx::ScriptBuilder b;
    b.component("talker").version("1.0.0").entry("echo");
    b.action("hello").component("talker").call("say").with("value", "hi {{env.user_id}}");
    auto& wf = b.workflow("chat");
    for (int i = 0; i < steps; ++i) wf.step("hello").think(think);
    auto& sc = b.scenario("chatters").workflow("chat").users(users).spawn_rate("1000/s");
    if (!task_duration.empty()) sc.task_duration(task_duration).max_duration("60s");
    b.config("threads", "1");
    return b.build();
}

ntx::RunOptions quiet() {
    ntx::RunOptions o;
    o.quiet = true;
    return o;
}

}  // namespace

TEST_CASE("ScriptBuilder's tri-phase compiles to the same model as examples/http-tri-phase/script.yaml") {
    std::vector<ntx::Diagnostic> from_code_diags, from_file_diags;
    ntx::BuiltScript built = tri_phase_in_code();
    ntx::dsl::Script code = compile(built, from_code_diags);
    ntx::dsl::Script file = ntx::dsl::load_res_dir(kTriPhase, ntx::resource::file_reader(), from_file_diags);
    REQUIRE(from_code_diags.empty());
    REQUIRE(from_file_diags.empty());

    REQUIRE(code.components.size() == file.components.size());
    for (size_t i = 0; i < code.components.size(); ++i) {
        CHECK(code.components[i].name == file.components[i].name);
        CHECK(code.components[i].entry == file.components[i].entry);
        CHECK(code.components[i].version == file.components[i].version);
        CHECK(code.components[i].builtin == file.components[i].builtin);
        CHECK(code.components[i].declared_capabilities == file.components[i].declared_capabilities);
    }
    REQUIRE(code.pools.size() == 1);
    CHECK(code.pools[0].manifest == file.pools[0].manifest);
    CHECK(code.pools[0].fields == file.pools[0].fields);
    CHECK(code.pools[0].capacity == file.pools[0].capacity);
    CHECK(code.pools[0].ttl_ms == file.pools[0].ttl_ms);
    REQUIRE(code.actions.size() == file.actions.size());
    for (size_t i = 0; i < code.actions.size(); ++i) {
        const auto &a = code.actions[i], &f = file.actions[i];
        CHECK(a.name == f.name);
        CHECK(a.call == f.call);
        CHECK(a.component == f.component);
        CHECK(a.timeout_ms == f.timeout_ms);
        CHECK(a.save_slot == f.save_slot);
        REQUIRE(a.with.size() == f.with.size());
        for (size_t k = 0; k < a.with.size(); ++k) CHECK(a.with[k].first == f.with[k].first);
    }
    REQUIRE(code.workflows.size() == 1);
    CHECK(code.workflows[0].steps.size() == file.workflows[0].steps.size());
    CHECK(code.workflows[0].timeout_ms == file.workflows[0].timeout_ms);
    CHECK(code.workflows[0].on_error.route == file.workflows[0].on_error.route);
    REQUIRE(code.scenarios.size() == 1);
    CHECK(code.scenarios[0].user_count == file.scenarios[0].user_count);
    CHECK(code.scenarios[0].spawn_rate == file.scenarios[0].spawn_rate);
    CHECK(code.scenarios[0].inherit == file.scenarios[0].inherit);
    CHECK(code.config.tick_ms == file.config.tick_ms);
    CHECK(code.config.log_level == file.config.log_level);
    CHECK(code.variables == file.variables);
}

TEST_CASE("ScriptBuilder: the validator's diagnostics point at the builder calls") {
    ntx::ScriptBuilder b;
    b.component("http").version("0.2.1").entry("http");
    b.action("get").component("http").call("get").with("url", "http://127.0.0.1:1/");
    b.workflow("wf").step("get");
    const int typo_line = __LINE__ + 1;
    b.scenario("s").workflow("wf").set("user-cont", "5");  // an unknown key, as in script.yaml
    const int ref_line = __LINE__ + 1;
    b.workflow("other").step("no-such-action");
    b.scenario("t").workflow("other").users(1);
    ntx::Host host;
    try {
        host.validate(b.build());
        FAIL("validate accepted an unknown key");
    } catch (const ntx::InvalidInput& e) {
        bool typo = false, ref = false;
        for (const auto& d : e.diagnostics()) {
            INFO(d.to_string());
            CHECK(d.file == __FILE__);
            if (d.line == typo_line && d.message.find("user-cont") != std::string::npos) {
                typo = true;
                CHECK(d.hint.find("user-count") != std::string::npos);  // the DSL's did-you-mean
                CHECK(d.message.find("[generated script.yaml:") != std::string::npos);
            }
            if (d.line == ref_line && d.message.find("no-such-action") != std::string::npos) ref = true;
        }
        CHECK(typo);
        CHECK(ref);
    }
}

TEST_CASE("ScriptBuilder: what the builder itself can tell is an InvalidInput at build()") {
    ntx::ScriptBuilder b;
    b.action("a").call("get");
    const int twice = __LINE__ + 1;
    b.action("a").call("post");
    const int bad_yaml = __LINE__ + 1;
    b.workflow("wf").step_yaml("{if: [unclosed");
    try {
        (void)b.build();
        FAIL("build accepted a name given twice");
    } catch (const ntx::InvalidInput& e) {
        REQUIRE(e.diagnostics().size() == 2);
        CHECK(e.diagnostics()[0].line == twice);
        CHECK(e.diagnostics()[0].message.find("action 'a' is already defined") != std::string::npos);
        CHECK(e.diagnostics()[1].line == bad_yaml);
        CHECK(e.diagnostics()[1].message.find("does not parse") != std::string::npos);
    }
}

TEST_CASE("BuiltScript::write_to makes a res_dir the parser reads like the builder's text") {
    fs::path dir = fs::temp_directory_path() / ("ntx-builder-" + std::to_string(::getpid()));
    ntx::BuiltScript built = tri_phase_in_code();
    built.write_to(dir.string());
    fs::copy_file(kTriPhase / "resource.csv", dir / "resource.csv", fs::copy_options::overwrite_existing);
    std::vector<ntx::Diagnostic> diags;
    ntx::dsl::Script s = ntx::dsl::load_res_dir(dir, ntx::resource::file_reader(), diags);
    CHECK(diags.empty());
    CHECK(s.actions.size() == 3);
    CHECK(s.config.tick_ms == 20);
    fs::remove_all(dir);
}

TEST_CASE("An in-process protocol runs through the plugin table like a .so") {
    EchoProtocol echo;
    ntx::Host host;
    ntx::register_protocol(host, echo);
    ntx::Report r = host.start(echo_script(20, 3), quiet());
    REQUIRE(r.scenarios.size() == 1);
    CHECK(r.scenarios[0].actions.at(0).ok == 60);
    CHECK(r.scenarios[0].actions.at(0).count == 60);
    CHECK(r.scenarios[0].completed == 20);
    CHECK(echo.calls.load() == 60);
    CHECK(echo.releases.load() == 1);  // init once, release once per run
}

TEST_CASE("An in-process protocol is checked like a plugin: version and capabilities") {
    EchoProtocol wrong_version("2.0.0");
    ntx::Host host;
    ntx::register_protocol(host, wrong_version);
    ntx::ScriptBuilder b;
    b.component("talker").version("1.0.0").entry("echo").capabilities({"say", "shout"});
    b.action("hello").component("talker").call("whisper");
    b.workflow("chat").step("hello");
    b.scenario("s").workflow("chat").users(1);
    try {
        host.validate(b.build());
        FAIL("validate accepted an incompatible in-process protocol");
    } catch (const ntx::InvalidInput& e) {
        std::string all = e.what();
        INFO(all);
        CHECK(all.find("requires version 1.0.0 but plugin <in-process echo> is version 2.0.0") != std::string::npos);
        CHECK(all.find("capability 'shout'") != std::string::npos);
        CHECK(all.find("calls 'whisper'") != std::string::npos);
    }
    CHECK_THROWS_AS(host.register_protocol("a/b", [](const ntx_host_api_t*, ntx_plugin_api_t*) { return NTX_OK; }),
                    std::invalid_argument);
}

TEST_CASE("Host::launch: planning errors are thrown by launch, runtime failures by wait") {
    ntx::Host host;
    ntx::ScriptBuilder bad;
    bad.workflow("wf").step("nothing");
    bad.scenario("s").workflow("wf").users(1);
    CHECK_THROWS_AS(host.launch(bad.build(), quiet()), ntx::InvalidInput);

    EchoProtocol refuses("1.2.0", NTX_E_DENIED);  // init refuses: the run fails once it starts
    ntx::register_protocol(host, refuses);
    ntx::Run run = host.launch(echo_script(1, 1), quiet());
    CHECK_THROWS_AS(run.wait(), ntx::RuntimeFailure);
    ntx::Health h = run.health();
    CHECK(h.state == ntx::RunState::failed);
    CHECK(h.error.find("failed to initialise") != std::string::npos);
    CHECK(run.done());
}

TEST_CASE("Host::launch: a background run can be watched, stopped and waited for; its report is a value") {
    EchoProtocol echo;
    ntx::Host host;
    ntx::register_protocol(host, echo);
    // 5 users saying hello every 20 ms for 60 s: only a stop ends it early.
    ntx::Run run = host.launch(echo_script(5, 1, "20ms", "60s"), quiet());
    while (echo.calls.load() < 50) REQUIRE_FALSE(run.wait_for(std::chrono::milliseconds(5)));
    CHECK(run.health().state == ntx::RunState::running);
    // All 5 users started within the first ticks: the run moved on to monitoring (the bus delivers
    // that phase event within its flush interval, so executing may still be what it last heard).
    const ntx::RunPhase running_phase = run.health().phase;
    CHECK((running_phase == ntx::RunPhase::executing || running_phase == ntx::RunPhase::monitoring));
    auto t0 = std::chrono::steady_clock::now();
    run.stop();
    ntx::Report report = run.wait();
    double stop_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CHECK(stop_s < 5.0);  // users leave after their current action; thinking users at once
    CHECK(report.interrupted);
    CHECK(run.health().state == ntx::RunState::finished);
    CHECK(run.health().phase == ntx::RunPhase::closing);
    CHECK(report.scenarios.at(0).actions.at(0).ok >= 50);
    CHECK(report.scenarios.at(0).actions.at(0).ok == static_cast<uint64_t>(echo.calls.load()));
    ntx::Report again = run.wait();  // every call: the same report
    CHECK(again.total_ok == report.total_ok);
}

TEST_CASE("Destroying a Run that still runs stops it and waits for it") {
    EchoProtocol echo;
    ntx::Host host;
    ntx::register_protocol(host, echo);
    auto t0 = std::chrono::steady_clock::now();
    {
        ntx::Run run = host.launch(echo_script(3, 1, "20ms", "60s"), quiet());
        while (echo.calls.load() < 10) REQUIRE_FALSE(run.wait_for(std::chrono::milliseconds(5)));
    }
    CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < 10.0);
    CHECK(echo.releases.load() == 1);  // the run closed: the protocol was released
}

namespace {

// Ends each action later, from a host timer of `delay` ms (the asynchronous path of the C ABI), and
// drops it when the host ends it first.
class TimerProtocol : public ntx::Protocol {
public:
    TimerProtocol() : Protocol("later", "1.0.0", {"wait"}) {}

    struct Slot {  // per user: the one action in flight
        TimerProtocol* self = nullptr;
        ntx::PendingAction pending;
        ntx_loop_t* loop = nullptr;
        ntx_timer_t timer = 0;
    };

    void run_action(ntx::Action& action) override {
        auto*& slot = reinterpret_cast<Slot*&>(*action.user_slot());
        if (!slot) {
            slot = new Slot;
            slot->self = this;
        }
        slot->pending = action.pending();
        slot->loop = action.ctx().loop;
        uint64_t delay = std::stoull(std::string(action.param("delay")));
        const auto& run = action.run();
        if (run.api->timer_schedule(run.host, slot->loop, delay, &TimerProtocol::fired, slot, &slot->timer) != NTX_OK)
            action.fail(NTX_E_INTERNAL, "timer_schedule failed");
    }
    void on_cancel(const ntx::RunContext& run, ntx_action_t*, void** user_slot, ntx_status_t, std::string_view) override {
        auto* slot = static_cast<Slot*>(*user_slot);
        run.api->timer_cancel(run.host, slot->loop, slot->timer);
        slot->timer = 0;
        cancels.fetch_add(1);
    }
    void user_release(const ntx::RunContext&, uint64_t, void* user_data) override {
        delete static_cast<Slot*>(user_data);
        released_users.fetch_add(1);
    }
    static void fired(void* userdata, ntx_timer_t) {
        auto* slot = static_cast<Slot*>(userdata);
        slot->timer = 0;
        if (slot->pending.complete({{"late", "no"}}) != NTX_OK) slot->self->late.fetch_add(1);
    }
    std::atomic<int> cancels{0}, released_users{0}, late{0};
};

ntx::BuiltScript timer_script(const std::string& delay_ms) {
    ntx::ScriptBuilder b;
    b.component("timers").version("1.0.0").entry("later");
    b.action("wait").component("timers").call("wait").with("delay", delay_ms).timeout("100ms");
    b.workflow("wf").step("wait").step("wait");
    b.scenario("s").workflow("wf").users(10).spawn_rate("1000/s");
    return b.build();
}

}  // namespace

TEST_CASE("An in-process protocol ends actions later through PendingAction and the host's timers") {
    TimerProtocol p;
    ntx::Host host;
    ntx::register_protocol(host, p);
    ntx::Report fast = host.start(timer_script("5"), quiet());
    CHECK(fast.scenarios.at(0).actions.at(0).ok == 20);
    CHECK(p.cancels.load() == 0);
    CHECK(p.released_users.load() == 10);  // each user's slot handed back once

    // 1 s delays under a 100 ms action timeout: the host ends each action first (one timeout per user:
    // the task ends through timeout_out), calls on_cancel, and no late completion reaches it.
    ntx::Report slow = host.start(timer_script("1000"), quiet());
    const auto& a = slow.scenarios.at(0).actions.at(0);
    CHECK(a.timeouts == 10);
    CHECK(a.ok == 0);
    CHECK(p.cancels.load() == 10);
    CHECK(p.late.load() == 0);
    CHECK(p.released_users.load() == 20);
}
