// on-error / on-timeout handlers and monitoring.retry: what compiles, and the errors a user gets.
#include <catch2/catch.hpp>

#include <algorithm>

#include "dsl/script.hpp"
#include "support/dsl_load.hpp"

using namespace ntx;
using namespace ntx::test;

namespace {

std::string script_with(const std::string& workflow_extra, const std::string& top_extra = "",
                        const std::string& action_extra = "") {
    return R"(components:
  - {name: http, version: "0.2.1", entry: http}
workflows:
  wf:
    steps:
      - ref: get
      - ref: post
)" + workflow_extra +
           R"(actions:
  get:
    component: http
    call: get
    with: {url: "http://127.0.0.1:1/a"}
    save-as: asset
)" + action_extra +
           R"(  post:
    component: http
    call: post
    with: {url: "http://127.0.0.1:1/a", body: "{{asset.body}}"}
  undo:
    component: http
    call: delete
    with: {url: "http://127.0.0.1:1/a"}
load:
  scenarios:
    - {name: s, workflow: wf, user-count: 1}
)" + top_extra;
}

}  // namespace

TEST_CASE("a workflow's on-error compiles to retry, steps and a route", "[dsl][handlers]") {
    dsl::Script s = compiled(script_with(R"(    on-error:
      - retry: {max: 2, backoff: 50ms}
      - log: "failed at {{env.task_id}}"
      - ref: undo
      - goto: monitoring.retry
    on-timeout:
      - action: http.delete
        with: {url: "http://127.0.0.1:1/{{asset.status}}"}
      - goto: closing.rollback
)",
                                         "monitoring:\n  retry: {max: 3, backoff: {initial: 20ms, max: 1s}}\n"));
    const auto& h = s.workflows[0].on_error;
    CHECK(h.set);
    CHECK(h.retry_max == 2);
    CHECK(h.retry_backoff_ms == 50);
    REQUIRE(h.steps.size() == 2);
    CHECK(h.steps[0].kind == dsl::Step::Kind::log);
    CHECK(h.steps[1].kind == dsl::Step::Kind::action);
    CHECK(s.actions[h.steps[1].action].name == "undo");
    CHECK(h.route == dsl::Route::task_retry);
    CHECK(s.task_retry.set);
    CHECK(s.task_retry.max == 3);
    CHECK(s.task_retry.backoff_ms == 20);
    CHECK(s.task_retry.backoff_max_ms == 1000);
    const auto& t = s.workflows[0].on_timeout;
    REQUIRE(t.steps.size() == 1);
    CHECK(s.actions[t.steps[0].action].call == "delete");
    CHECK(t.route == dsl::Route::rollback);
}

TEST_CASE("defaults: errors go to error_out, timeouts to timeout_out", "[dsl][handlers]") {
    dsl::Script s = compiled(script_with(""));
    CHECK_FALSE(s.workflows[0].on_error.set);
    CHECK(s.workflows[0].on_error.route == dsl::Route::error_out);
    CHECK(s.workflows[0].on_timeout.route == dsl::Route::timeout_out);
}

TEST_CASE("an action's own on-error and on-timeout", "[dsl][handlers]") {
    dsl::Script s = compiled(script_with("", "", "    on-error: [{goto: next}]\n    on-timeout: [{stop: user}]\n"));
    REQUIRE(s.actions[0].on_error);
    CHECK(s.actions[0].on_error->route == dsl::Route::next);
    REQUIRE(s.actions[0].on_timeout);
    CHECK(s.actions[0].on_timeout->route == dsl::Route::stop_user);
    CHECK_FALSE(s.actions[1].on_error);
}

TEST_CASE("handler mistakes are reported where they are written", "[dsl][handlers]") {
    SECTION("an unknown goto target gets a hint") {
        check_only_error(script_with("    on-error:\n      - goto: error_uot\n"),
                         9, 15, "unknown goto target 'error_uot' in wf.on-error", "did you mean 'error_out'?");
    }
    SECTION("monitoring.retry needs a policy") {
        check_only_error(script_with("    on-error:\n      - goto: monitoring.retry\n"),
                         9, 15, "goto: monitoring.retry needs a retry policy");
    }
    SECTION("an entry after goto can never run") {
        check_only_error(script_with("    on-error:\n      - goto: closing\n      - ref: undo\n"),
                         10, 9, "can never run");
    }
    SECTION("retry comes first") {
        check_only_error(script_with("    on-error:\n      - ref: undo\n      - retry: {max: 1}\n"),
                         10, 9, "retry must be the first entry of wf.on-error");
    }
    SECTION("stop takes user") {
        check_only_error(script_with("    on-error:\n      - stop: scenario\n"),
                         9, 15, "unknown stop target 'scenario'", "stop: user");
    }
    SECTION("an unknown entry key gets a hint") {
        check_only_error(script_with("    on-error:\n      - goot: closing\n"),
                         9, 9, "unknown key 'goot' in an entry of wf.on-error", "did you mean 'goto'?");
    }
    SECTION("a handler step may read what some step of the workflow saves, nothing else") {
        auto d = load(script_with("    on-error:\n      - log: \"{{asset.status}} {{nothing.x}}\"\n"));
        INFO(dump(d));
        // 'nothing' is no variable at all: a template error at the log line.
        REQUIRE(d.size() == 1);
        CHECK(d[0].line == 9);
    }
    SECTION("monitoring keys are checked") {
        auto d = load(script_with("", "monitoring:\n  retyr: {max: 1}\n"));
        INFO(dump(d));
        REQUIRE(d.size() == 1);
        CHECK(d[0].hint == "did you mean 'retry'?");
    }
}
