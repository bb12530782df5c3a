#include <catch2/catch.hpp>

#include <algorithm>

#include "dsl/script.hpp"
#include "resource/source_files.hpp"
#include "support/dsl_load.hpp"
#include "support/temp_res_dir.hpp"

using namespace ntx;
using namespace ntx::test;

namespace {

const char* kValid = R"(version: "1.0"
components:
  - name: http
    version: "0.2.1"
    entry: http
resources:
  pool:
    type: pair_pool
    config:
      manifest: ./pairs.csv
      parser:
        format: csv
        fields: [ip, port]
workflows:
  wf:
    steps:
      - ref: get
      - ref: post
    timeout: 5s
actions:
  get:
    component: http
    call: get
    with:
      url: "http://{{resource.ip}}:{{resource.port}}/asset"
    save-as: asset
  post:
    component: http
    call: post
    with:
      url: "http://{{resource.ip}}:{{resource.port}}/asset"
      body: "{{asset.body}}"
      headers:
        X-Trace: "{{env.user_id}}"
load:
  scenarios:
    - name: s
      workflow: wf
      user-count: 10
      spawn-rate: 5/s
      user:
        inherit: [pool]
)";

}  // namespace

TEST_CASE("a valid script compiles to indices and templates", "[dsl]") {
    dsl::Script s = compiled(kValid);
    REQUIRE(s.actions.size() == 2);
    REQUIRE(s.workflows[0].steps.size() == 2);
    CHECK(s.workflows[0].steps[0].action == 0);
    CHECK(s.workflows[0].steps[1].action == 1);
    CHECK(s.workflows[0].timeout_ms == 5000);
    CHECK(s.scenarios[0].user_count == 10);
    CHECK(s.scenarios[0].spawn_rate == Approx(5));
    CHECK(s.scenarios[0].inherit == std::vector<uint32_t>{0});
    CHECK(s.variables == std::vector<std::string>{"asset"});
    CHECK(s.actions[0].save_slot == 0u);
    // Nested `with` maps flatten to dotted keys.
    auto& with = s.actions[1].with;
    CHECK(std::any_of(with.begin(), with.end(), [](auto& kv) { return kv.first == "headers.X-Trace"; }));
    CHECK(s.config.tick_ms == 20);
}

TEST_CASE("unknown keys are errors with position and a did-you-mean hint", "[dsl]") {
    auto d = load(replaced(kValid, "spawn-rate", "spawn-rat"));
    INFO(dump(d));
    REQUIRE(d.size() == 1);
    CHECK(has(d, 40, 7, "unknown key 'spawn-rat' in a scenario", "did you mean 'spawn-rate'?"));
    CHECK(d[0].to_string().find("script.yaml:40:7: error: unknown key 'spawn-rat'") != std::string::npos);
}

TEST_CASE("every problem is reported at once, not only the first", "[dsl]") {
    std::string text = replaced(kValid, "- ref: post", "- ref: psot");
    text = replaced(text, "workflow: wf", "workflow: wff");
    auto d = load(replaced(text, "call: get", "cal: get"));
    INFO(dump(d));
    CHECK(has(d, 18, 14, "unknown action 'psot'", "did you mean 'post'?"));
    CHECK(has(d, 38, 17, "unknown workflow 'wff'", "did you mean 'wf'?"));
    CHECK(has(d, 23, 5, "unknown key 'cal' in an action", "did you mean 'call'?"));
    CHECK(has(d, 21, 3, "action 'get' has no 'call'"));
}

TEST_CASE("YAML syntax errors carry line and column", "[dsl]") {
    auto d = load(std::string("version: \"1.0\"\ncomponents: [\n  - a\n"));
    REQUIRE(d.size() == 1);
    CHECK(d[0].line >= 2);
    CHECK(d[0].column >= 1);
}

TEST_CASE("reading a variable no earlier step saved is a planning error", "[dsl]") {
    // Swap the steps: post (reads asset) now runs before get (saves it).
    auto d = load(replaced(kValid, "      - ref: get\n      - ref: post", "      - ref: post\n      - ref: get"));
    INFO(dump(d));
    REQUIRE(d.size() == 1);
    CHECK(d[0].message.find("reads 'asset'") != std::string::npos);
    CHECK(d[0].message.find("no earlier step") != std::string::npos);
}

TEST_CASE("template errors point into the scalar", "[dsl]") {
    check_only_error(replaced(kValid, "{{asset.body}}", "{{assets.body}}"), 32, 14,
                     "no action saves a variable named 'assets'");
}

TEST_CASE("DSL constructs that could not act are errors, never ignored", "[dsl]") {
    // progress.rollback sets the on-failure of health checks: without one it could never act.
    check_only_error(std::string(kValid) + "progress:\n  rollback: last-stable-point\n", 44, 13,
                     "progress.rollback: no resource has a health-check, so nothing could trigger a rollback");
}

TEST_CASE("config.yaml is validated too", "[dsl]") {
    TempResDir dir;
    dir.write("script.yaml", kValid);
    dir.write("config.yaml", "tick: 10ms\nthreads: 3\nlog:\n  levle: info\n");
    dsl::Script s;
    auto d = load(dir, &s);
    REQUIRE(d.size() == 1);
    CHECK(d[0].file.find("config.yaml") != std::string::npos);
    CHECK(has(d, 4, 3, "unknown key 'levle'", "did you mean 'level'?"));
    CHECK(s.config.tick_ms == 10);
    CHECK(s.config.threads == 3);
}

TEST_CASE("a missing res_dir or script.yaml is reported", "[dsl]") {
    std::vector<Diagnostic> d;
    dsl::load_res_dir("/nonexistent/ntx/res", ntx::resource::file_reader(), d);
    REQUIRE(d.size() == 1);
    TempResDir dir;
    d.clear();
    dsl::load_res_dir(dir.path(), ntx::resource::file_reader(), d);
    REQUIRE(d.size() == 1);
    CHECK(d[0].message.find("script.yaml") != std::string::npos);
}

TEST_CASE("profiles compile to stages; ramps get their hold", "[dsl][load]") {
    TempResDir dir;
    std::string text = kValid;
    text.replace(text.find("load:\n"), 6,
                 "load:\n  profiles:\n    ramp: {start-users: 10, end-users: 110, duration: 10s, hold: 5s}\n"
                 "    wave:\n      stages:\n        - {duration: 2s, target: 50}\n        - {duration: 2s, target: 0}\n");
    text.replace(text.find("      user-count: 10\n"), 20, "      profile: ramp\n");
    dir.write("script.yaml", text);
    dsl::Script s = compiled(dir);
    REQUIRE(s.profiles.size() == 2);
    const auto& ramp = s.profiles[0];
    CHECK(ramp.total_ms() == 15000);
    CHECK(ramp.target_at(0) == Approx(10));
    CHECK(ramp.target_at(5000) == Approx(60));
    CHECK(ramp.target_at(12000) == Approx(110));
    CHECK(ramp.target_at(15000) == Approx(0));  // the profile is over
    CHECK(s.profiles[1].target_at(3000) == Approx(25));
    CHECK(s.scenarios[0].profile == 0u);
}

TEST_CASE("the open model: arrival schedule, and keys of the other model are errors", "[dsl][load]") {
    TempResDir dir;
    std::string text = kValid;
    const std::string closed_keys = "      user-count: 10\n      spawn-rate: 5/s\n";
    text.replace(text.find(closed_keys), closed_keys.size(),
                 "      arrival-rate: {from: 100/s, to: 300/s}\n      duration: 10s\n      max-users: 50\n");
    dir.write("script.yaml", text);
    dsl::Script s = compiled(dir);
    const auto& sc = s.scenarios[0];
    CHECK(sc.model == dsl::Model::open);
    CHECK(sc.max_users == 50);
    CHECK(sc.arrivals_before(10000) == Approx(2000));  // mean rate 200/s over 10 s
    CHECK(sc.arrival_time_ms(0) == Approx(0));
    CHECK(sc.arrival_time_ms(100) == Approx(916.08).epsilon(0.001));  // 100t + 10t^2 = 100
    CHECK(sc.arrival_time_ms(2000) == Approx(10000).epsilon(1e-6));

    text = kValid;
    text.replace(text.find("      spawn-rate: 5/s\n"), 21, "      arrival-rate: 5/s\n");
    dir.write("script.yaml", text);
    auto d = load(dir);
    INFO(dump(d));
    CHECK(has(d, 39, 19, "'user-count' belongs to the closed model"));
    CHECK(has(d, 37, 7, "with arrival-rate needs 'duration'"));
}

TEST_CASE("actions take a per-user rate limit and a retry policy", "[dsl]") {
    std::string text = replaced(kValid, "    save-as: asset\n",
                                "    save-as: asset\n    rate-limit: {per-user: 50 req/s}\n    retry: {max: 3, backoff: {initial: 200ms, max: 1s}}\n");
    dsl::Script s = compiled(text);
    CHECK(s.actions[0].rate_per_user == Approx(50));
    CHECK(s.actions[0].retry_max == 3);
    CHECK(s.actions[0].retry_backoff_ms == 200);
    CHECK(s.actions[0].retry_backoff_max_ms == 1000);

    auto d = load(replaced(text, "per-user: 50 req/s", "per-usr: 50 req/s"));
    INFO(dump(d));
    CHECK(std::any_of(d.begin(), d.end(), [](const Diagnostic& x) { return x.hint == "did you mean 'per-user'?"; }));
}

TEST_CASE("think and log steps", "[dsl]") {
    dsl::Script s = compiled(replaced(
        kValid, "      - ref: post\n",
        "      - think: 1.5s\n      - log: \"got {{asset.status}}\"\n        level: warn\n      - ref: post\n"));
    const auto& steps = s.workflows[0].steps;
    REQUIRE(steps.size() == 4);
    CHECK(steps[1].kind == dsl::Step::Kind::think);
    CHECK(steps[1].think_ms == 1500);
    CHECK(steps[2].kind == dsl::Step::Kind::log);
    CHECK(steps[2].level == "warn");
    CHECK(steps[2].message.variables() == std::vector<uint32_t>{0});

    // A log line that reads a variable before it is saved is caught by the variable graph too.
    auto d = load(replaced(kValid, "      - ref: get\n", "      - log: \"{{asset.body}}\"\n      - ref: get\n"));
    REQUIRE(d.size() == 1);
    CHECK(d[0].message.find("the log step (step 1 of workflow 'wf') reads 'asset'") != std::string::npos);
}
