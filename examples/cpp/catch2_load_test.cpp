// ntx_example_catch2_test: a Catch2 test that puts a small load on a server and asserts on the
// report. The server's address comes from NTX_EXAMPLE_TARGET (host:port), e.g. the bundled target
// server: `ntx-target --ports 18080 &` then `NTX_EXAMPLE_TARGET=127.0.0.1:18080 ntx_example_catch2_test`.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <cstdlib>
#include <ntx/ntx.hpp>
#include <string>

namespace {

std::string target() {
    const char* t = std::getenv("NTX_EXAMPLE_TARGET");
    return t ? t : "127.0.0.1:18080";
}

// 20 users, each GETs /asset 10 times: 200 requests.
ntx::BuiltScript small_load() {
    ntx::ScriptBuilder b;
    b.component("http").version("0.2.1").entry("http");
    b.action("get-asset").component("http").call("get").with("url", "http://" + target() + "/asset").timeout("2s");
    auto& wf = b.workflow("probe");
    for (int i = 0; i < 10; ++i) wf.step("get-asset");
    b.scenario("small-load").workflow("probe").users(20).spawn_rate("100/s").max_duration("30s");
    return b.build();
}

}  // namespace

TEST_CASE("the target serves a small load with p99 under 250 ms and no errors") {
    ntx::Host host;
    ntx::RunOptions options;
    options.quiet = true;
    options.threads = 1;
    ntx::Report report = host.start(small_load(), options);

    REQUIRE(report.scenarios.size() == 1);
    const ntx::ActionReport& get = report.scenarios[0].actions.at(0);
    CHECK(get.count == 200);
    CHECK(get.ok == 200);
    CHECK(get.errors + get.timeouts == 0);
    CHECK(get.latency.p99_ms > 0);
    CHECK(get.latency.p99_ms < 250.0);
}

TEST_CASE("a script mistake is an InvalidInput that points at the builder call") {
    ntx::ScriptBuilder b;
    b.component("http").version("0.2.1").entry("http");
    const int call_line = __LINE__ + 1;
    b.action("get-asset").component("http").call("fetch").with("url", "http://" + target() + "/");  // no such call
    b.workflow("probe").step("get-asset");
    b.scenario("s").workflow("probe").users(1);
    ntx::Host host;
    try {
        host.validate(b.build());
        FAIL("validate accepted a call the plugin does not declare");
    } catch (const ntx::InvalidInput& e) {
        REQUIRE(e.diagnostics().size() == 1);
        const ntx::Diagnostic& d = e.diagnostics()[0];
        CHECK(d.file.find("catch2_load_test.cpp") != std::string::npos);
        CHECK(d.line == call_line);  // the line of .call("fetch") above
        CHECK(d.message.find("'fetch'") != std::string::npos);
    }
}
