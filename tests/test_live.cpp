#include <catch2/catch.hpp>

#include <string>

#include "dsl/script.hpp"
#include "live/prometheus.hpp"
#include "report/latency_histogram.hpp"
#include "resource/source_files.hpp"
#include "support/temp_res_dir.hpp"

using namespace ntx;

TEST_CASE("a histogram minus an earlier copy of itself holds the interval's values", "[live][histogram]") {
    auto earlier = std::make_unique<report::LatencyHistogram>();
    for (int i = 0; i < 1000; ++i) earlier->record(1'000);  // 1 ms
    auto later = std::make_unique<report::LatencyHistogram>(*earlier);
    for (int i = 0; i < 100; ++i) later->record(50'000);  // 50 ms, in the interval
    later->subtract(*earlier);
    CHECK(later->count() == 100);
    CHECK(later->sum_us() == 100 * 50'000);
    // Within the histogram's 1/128 relative error, never the 1 ms values from before the interval.
    CHECK(later->quantile_us(0.5) >= 50'000);
    CHECK(later->quantile_us(0.5) <= 50'000 + 50'000 / 128 + 1);
    CHECK(later->min_us() >= 49'600);
    later->subtract(*later);
    CHECK(later->count() == 0);
    CHECK(later->quantile_us(0.99) == 0);
}

TEST_CASE("cumulative bucket counts for Prometheus' le buckets", "[live][histogram]") {
    auto h = std::make_unique<report::LatencyHistogram>();
    for (uint64_t us : {100u, 900u, 5'000u, 20'000u, 20'000u, 2'000'000u}) h->record(us);
    CHECK(h->count_at_or_below(1'000) == 2);
    CHECK(h->count_at_or_below(10'000) == 3);
    CHECK(h->count_at_or_below(25'000) == 5);
    CHECK(h->count_at_or_below(1'000'000) == 5);
    CHECK(h->count_at_or_below(10'000'000) == 6);
}

TEST_CASE("Prometheus text: labelled counters and histograms, escaped label values", "[live][prometheus]") {
    test::TempResDir dir;
    dir.write("script.yaml", R"(components:
  - {name: http, version: "0.2.1", entry: http}
workflows:
  wf: {steps: [{ref: get}]}
actions:
  get: {component: http, call: get, with: {url: "http://127.0.0.1:1/"}}
load: {scenarios: [{name: "a \"quoted\" \\ name", workflow: wf, user-count: 2}]}
)");
    std::vector<Diagnostic> d;
    dsl::Script script = dsl::load_res_dir(dir.path(), ntx::resource::file_reader(), d);
    REQUIRE(d.empty());
    metrics::RunSnapshot c;
    c.actions.resize(1);
    c.scenarios.resize(1);
    c.actions[0].ok = 3;
    c.actions[0].errors = 2;
    for (uint64_t us : {2'000u, 3'000u, 400'000u}) c.actions[0].latency.record(us);
    c.scenarios[0].spawned = 2;
    c.scenarios[0].completed = 1;
    c.scenarios[0].exit_rollback = 4;
    c.scenarios[0].dynamic_refused = 5;
    c.elapsed_s = 1.5;
    c.gauges.resize(1);
    c.gauges[0].online = 1;
    c.gauges[0].peak_online = 2;
    c.pools.push_back({"ip-port-pool", 10, 3});
    c.actions[0].count_status(200);
    c.actions[0].count_error(NTX_E_CONNECT, 10, 1, 1, [] { return std::string("refused"); });
    c.actions[0].errors = 2;
    std::string text = live::prometheus_text(script, c, {"r-1", 0, "executing"});
    INFO(text);
    const std::string labels = R"(run_id="r-1",scenario="a \"quoted\" \\ name")";
    CHECK(text.find("ntx_users{" + labels + ",state=\"online\"} 1\n") != std::string::npos);
    CHECK(text.find("ntx_users{" + labels + ",state=\"offline\"} 1\n") != std::string::npos);
    const std::string action = labels + R"(,action="get")";
    // No constant label on the series: phase only in ntx_run_phase, workflow only in ntx_scenario_info.
    auto only_in = [&](const std::string& needle, const std::string& family) {
        for (size_t at = 0, end; at < text.size(); at = end + 1) {
            end = text.find('\n', at);
            if (end == std::string::npos) end = text.size();
            const std::string line = text.substr(at, end - at);
            if (line.find(needle) != std::string::npos && line[0] != '#' && line.rfind(family + "{", 0) != 0) return false;
        }
        return true;
    };
    CHECK(only_in("phase=", "ntx_run_phase"));
    CHECK(only_in("workflow=", "ntx_scenario_info"));
    CHECK(only_in("component=", "ntx_action_info"));
    CHECK(text.find("ntx_scenario_info{" + labels + ",workflow=\"wf\",model=\"closed\"} 1\n") != std::string::npos);
    CHECK(text.find("ntx_action_info{" + action + R"(,component="http",call="get"} 1)") != std::string::npos);
    CHECK(text.find("ntx_action_errors_total{" + action + ",error_kind=\"connect\"} 1\n") != std::string::npos);
    CHECK(text.find("ntx_action_status_total{" + action + ",status_class=\"2xx\"} 1\n") != std::string::npos);
    CHECK(text.find("ntx_build_info{run_id=\"r-1\",version=\"") != std::string::npos);
    CHECK(text.find("ntx_action_duration_seconds_bucket{" + action + ",expected_response=\"true\",le=\"5e-05\"} 0\n") !=
          std::string::npos);
    CHECK(text.find("ntx_actions_total{" + action + ",outcome=\"ok\"} 3\n") != std::string::npos);
    CHECK(text.find("ntx_actions_total{" + action + ",outcome=\"error\"} 2\n") != std::string::npos);
    const std::string ok = action + R"(,expected_response="true")";
    CHECK(text.find("ntx_action_duration_seconds_bucket{" + ok + ",le=\"0.005\"} 2\n") != std::string::npos);
    CHECK(text.find("ntx_action_duration_seconds_bucket{" + ok + ",le=\"0.5\"} 3\n") != std::string::npos);
    CHECK(text.find("ntx_action_duration_seconds_bucket{" + ok + ",le=\"+Inf\"} 3\n") != std::string::npos);
    CHECK(text.find("ntx_action_duration_seconds_sum{" + ok + "} 0.405000\n") != std::string::npos);
    // The failed ones apart (none recorded here).
    CHECK(text.find("ntx_action_duration_seconds_count{" + action + ",expected_response=\"false\"} 0\n") != std::string::npos);
    CHECK(text.find("# TYPE ntx_action_duration_seconds histogram\n") != std::string::npos);
    CHECK(text.find("ntx_run_phase{run_id=\"r-1\",phase=\"executing\"} 1\n") != std::string::npos);
    // Every exit and the dynamic tasks, as the report has them.
    CHECK(text.find("ntx_task_exits_total{" + labels + ",exit=\"rollback\"} 4\n") != std::string::npos);
    CHECK(text.find("ntx_task_exits_total{" + labels + ",exit=\"closing\"} 0\n") != std::string::npos);
    CHECK(text.find("ntx_dynamic_tasks_total{" + labels + ",state=\"refused\"} 5\n") != std::string::npos);
    CHECK(text.find("ntx_leases_held{run_id=\"r-1\",pool=\"ip-port-pool\"} 3\n") != std::string::npos);
    CHECK(text.find("ntx_pool_items{run_id=\"r-1\",pool=\"ip-port-pool\"} 10\n") != std::string::npos);
}
