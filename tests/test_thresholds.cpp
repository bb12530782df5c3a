#include <catch2/catch.hpp>

#include <algorithm>

#include "dsl/script.hpp"
#include "report/junit.hpp"
#include "report/thresholds.hpp"
#include "resource/source_files.hpp"
#include "support/dsl_load.hpp"
#include "support/temp_res_dir.hpp"

using namespace ntx;
using ntx::test::dump;
using ntx::test::TempResDir;

namespace {

// Lines 1-19; thresholds start on line 20.
const char* kScript = R"(components:
  - name: http
    version: "0.2.1"
    entry: http
workflows:
  wf:
    steps:
      - ref: probe-get
      - ref: post
actions:
  probe-get:
    component: http
    call: get
    with: {url: "http://127.0.0.1:1/"}
  post:
    component: http
    call: post
    with: {url: "http://127.0.0.1:1/"}
load: {scenarios: [{name: web, workflow: wf, user-count: 2}]}
)";

std::vector<Diagnostic> load(const std::string& thresholds, dsl::Script& script) {
    TempResDir dir;
    dir.write("script.yaml", std::string(kScript) + thresholds);
    std::vector<Diagnostic> d;
    script = dsl::load_res_dir(dir.path(), ntx::resource::file_reader(), d);
    return d;
}

Report sample_report() {
    Report r;
    r.duration_s = 10;
    ActionReport get;
    get.name = "probe-get";
    get.component = "http";
    get.count = 1000;
    get.ok = 990;
    get.errors = 6;
    get.timeouts = 4;
    get.latency.p99_ms = 250;
    get.latency.p50_ms = 20;
    ActionReport post = get;
    post.name = "post";
    post.count = 500;
    post.ok = 500;
    post.errors = post.timeouts = 0;
    post.latency.p99_ms = 400;
    r.actions = {get, post};
    ScenarioReport s;
    s.name = "web";
    s.duration_s = 10;
    s.spawned = 2;
    s.peak_online = 2;
    s.actions = r.actions;
    s.latency.p99_ms = 390;
    r.scenarios = {s};
    r.latency.p99_ms = 390;
    r.total_actions = 1500;
    return r;
}

}  // namespace

TEST_CASE("thresholds compile: metric paths, comparisons and units", "[thresholds]") {
    dsl::Script s;
    auto d = load(R"(thresholds:
  - "http.probe-get.p99 < 300ms"
  - "post.p99 <= 0.5s"
  - "errors.rate < 1%"
  - "actions.count > 1000"
  - "scenario.web.peak-online >= 2"
  - "probe-get.error-rate < 0.02"
  - "actions.throughput > 100/s"
  - threshold: "errors.count == 0"
    abort-on-fail: true
)",
                  s);
    INFO(dump(d));
    REQUIRE(d.empty());
    REQUIRE(s.thresholds.size() == 8);
    using Scope = report::Threshold::Scope;
    CHECK(s.thresholds[0].scope == Scope::action);
    CHECK(s.thresholds[0].target == "probe-get");
    CHECK(s.thresholds[0].metric == "p99");
    CHECK(s.thresholds[0].value == 300);
    CHECK(s.thresholds[1].value == 500);
    CHECK(s.thresholds[2].scope == Scope::total);
    CHECK(s.thresholds[2].value == Approx(0.01));
    CHECK(s.thresholds[3].value == 1000);
    CHECK(s.thresholds[4].scope == Scope::scenario);
    CHECK(s.thresholds[4].target == "web");
    CHECK(s.thresholds[5].value == Approx(0.02));
    CHECK(s.thresholds[6].value == 100);
    CHECK(s.thresholds[7].abort_on_fail);
    CHECK_FALSE(s.thresholds[0].abort_on_fail);
    CHECK(s.thresholds[0].line == 21);
}

TEST_CASE("thresholds in the map form", "[thresholds]") {
    dsl::Script s;
    auto d = load(R"(thresholds:
  http.probe-get.p99: "< 300ms"
  errors.rate: {condition: "< 1%", abort-on-fail: true}
  actions.count: ["> 10", "< 100000"]
)",
                  s);
    INFO(dump(d));
    REQUIRE(d.empty());
    REQUIRE(s.thresholds.size() == 4);
    CHECK(s.thresholds[0].text == "http.probe-get.p99 < 300ms");
    CHECK(s.thresholds[1].abort_on_fail);
    CHECK(s.thresholds[3].op == report::Threshold::Op::lt);
}

TEST_CASE("bad thresholds point at the problem with a hint", "[thresholds]") {
    dsl::Script s;
    auto d = load(R"(thresholds:
  - "http.probe-gte.p99 < 300ms"
  - "probe-get.p98 < 300ms"
  - "errors.rate < 1ms"
  - "actions.count 1000"
  - "scenario.wbe.users > 1"
  - "post.p99 < fast"
  - threshold: "post.p99 < 1s"
    abort-on-fial: true
)",
                  s);
    INFO(dump(d));
    REQUIRE(d.size() == 7);
    auto has = [&](int line, int col, const std::string& text, const std::string& hint = "") {
        return std::any_of(d.begin(), d.end(), [&](const Diagnostic& x) {
            return x.line == line && x.column == col && x.message.find(text) != std::string::npos &&
                   (hint.empty() || x.hint == hint);
        });
    };
    // Columns point inside the quoted expression.
    CHECK(has(21, 6, "unknown action 'http.probe-gte'", "did you mean 'http.probe-get'?"));
    CHECK(has(22, 16, "unknown metric 'p98'", "did you mean 'p90'?"));
    CHECK(has(23, 21, "'ms' does not fit metric 'error-rate'"));
    CHECK(has(24, 6, "has no comparison"));
    CHECK(has(25, 15, "unknown scenario 'wbe'", "did you mean 'web'?"));
    CHECK(has(26, 17, "'fast' is not a value"));
    CHECK(has(28, 5, "unknown key 'abort-on-fial' in a threshold", "did you mean 'abort-on-fail'?"));
}

TEST_CASE("thresholds evaluate against a report", "[thresholds]") {
    dsl::Script s;
    auto d = load(R"(thresholds:
  - "http.probe-get.p99 < 300ms"
  - "post.p99 < 300ms"
  - "errors.rate < 0.5%"
  - "errors.rate <= 1%"
  - "actions.count > 1000"
  - "probe-get.throughput >= 100"
  - "scenario.web.p99 < 390"
  - "errors.count == 10"
)",
                  s);
    INFO(dump(d));
    REQUIRE(d.empty());
    auto results = report::evaluate_thresholds(s.thresholds, sample_report());
    REQUIRE(results.size() == 8);
    CHECK(results[0].passed);
    CHECK(results[0].actual == 250);
    CHECK_FALSE(results[1].passed);
    CHECK(results[1].actual == 400);
    CHECK_FALSE(results[2].passed);  // 10 failed (errors + timeouts) of all 1500 actions: 0.67%
    CHECK(results[2].actual == Approx(10.0 / 1500.0));
    CHECK(results[3].passed);
    CHECK(results[4].passed);
    CHECK(results[5].passed);
    CHECK(results[5].actual == Approx(100.0));
    CHECK_FALSE(results[6].passed);
    CHECK(results[7].passed);
    CHECK(results[2].metric == "errors.rate");
    CHECK(results[0].metric == "probe-get.p99");
    CHECK(results[0].unit == "ms");
}

TEST_CASE("JUnit XML: one case per threshold and per action's error budget, escaped", "[thresholds][junit]") {
    Report r = sample_report();
    r.scenarios[0].name = "web <&> \"x\"";
    ThresholdResult t;
    t.expression = "post.p99 < 300ms";
    t.metric = "post.p99";
    t.op = "<";
    t.limit = 300;
    t.actual = 400;
    t.unit = "ms";
    t.passed = false;
    ThresholdResult budget;
    budget.expression = "probe-get.error-rate < 2%";
    budget.metric = "probe-get.error-rate";
    budget.op = "<";
    budget.limit = 0.02;
    budget.unit = "ratio";
    budget.passed = true;
    r.thresholds = {t, budget};
    std::string xml = report::to_junit(r);
    INFO(xml);
    CHECK(xml.find("<testsuite name=\"thresholds\" tests=\"2\" failures=\"1\"") != std::string::npos);
    // probe-get: 10 of 1000 failed, within its 2% budget; post: none failed.
    CHECK(xml.find("<testsuite name=\"error-budget\" tests=\"2\" failures=\"0\"") != std::string::npos);
    CHECK(xml.find("classname=\"error-budget.web &lt;&amp;&gt; &quot;x&quot;\"") != std::string::npos);
    CHECK(xml.find("name=\"post.p99 &lt; 300ms\"") != std::string::npos);
    CHECK(xml.find("<failure type=\"threshold\"") != std::string::npos);
    r.thresholds = {t};  // no error-rate threshold: probe-get's budget is zero
    xml = report::to_junit(r);
    CHECK(xml.find("<testsuite name=\"error-budget\" tests=\"2\" failures=\"1\"") != std::string::npos);
    CHECK(report::xml_escape(std::string("a\x01") + "b") == "a\xEF\xBF\xBD" "b");
}
