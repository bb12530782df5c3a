// ntx merge's parts (libntx/src/merge/): report.json read back is the report written; reports of the
// segments of one test add up (histograms merge, timelines align on wall time, thresholds are judged
// again); what does not belong together is refused with every reason.
#include <catch2/catch.hpp>

#include "merge/merge.hpp"
#include "merge/report_reader.hpp"
#include "metrics/latency_histogram.hpp"
#include "report/report_writer.hpp"

using namespace ntx;

namespace {

// One segment's report: `n` ok gets of `us` microseconds each, started at `t0_ms` on the wall clock.
Report segment_report(uint32_t index, uint32_t count, uint64_t n, uint64_t us, int64_t t0_ms) {
    metrics::LatencyHistogram h;
    for (uint64_t i = 0; i < n; ++i) h.record(us + i);
    Report r;
    r.ntx_version = "0.1.0";
    r.res_dir = "/res";
    r.segment_index = index;
    r.segment_count = count;
    r.script_hash = "sha256:abc";
    r.plugins = {{"http", "http", "0.2.2"}};
    r.started_at_unix_ms = t0_ms;
    r.duration_s = 2;
    ActionReport a;
    a.name = "get";
    a.component = "http";
    a.call = "get";
    a.count = a.ok = n;
    a.status_classes = {{"2xx", n}};
    a.latency = metrics::summarize_with_buckets(h);
    ScenarioReport s;
    s.name = "s";
    s.workflow = "w";
    s.spawned = s.completed = s.tasks = n;
    s.duration_s = 2;
    s.started_per_100ms = {static_cast<uint32_t>(n), 0, 1};
    s.online_per_100ms = {2, 1, 1};
    s.actions = {a};
    s.latency = a.latency;
    s.intervals.resize(2);
    s.intervals[0].ok = n;
    s.intervals[0].p50_ms = 1;
    s.intervals[0].p99_ms = 2;
    s.intervals[0].online = 1;
    s.intervals[1].t_s = 1;
    r.scenarios = {s};
    r.actions = {a};
    r.total_actions = r.total_ok = n;
    r.latency = a.latency;
    r.thresholds = {{"get.count >= 30", "get.count", ">=", 30, static_cast<double>(n), "count", n >= 30, false, "script.yaml", 9},
                    {"errors.rate < 1%", "errors.rate", "<", 0.01, 0, "ratio", true, false, "script.yaml", 10}};
    return r;
}

}  // namespace

TEST_CASE("report.json read back is the report that was written", "[merge]") {
    Report r = segment_report(1, 4, 20, 150, 1'000'000);
    std::string once = report::to_json(r);
    Report back = merge::parse_report(once, "report.json");
    CHECK(report::to_json(back) == once);
    CHECK(back.scenarios[0].actions[0].latency.histogram.buckets == r.scenarios[0].actions[0].latency.histogram.buckets);
    CHECK_THROWS_WITH(merge::parse_report("{}", "x.json"), Catch::Contains("not an ntx report.json"));
    CHECK_THROWS_WITH(merge::parse_report("nope", "x.json"), Catch::Contains("not JSON"));
}

TEST_CASE("segments add up: counts, the histogram of the union, timelines on wall time, thresholds again", "[merge]") {
    std::vector<merge::Input> in;
    // Segment 1 started 200 ms after segment 0: its timeline moves two 100 ms buckets right.
    in.push_back({"seg1", merge::parse_report(report::to_json(segment_report(1, 2, 20, 1000, 1'000'200)), "seg1")});
    in.push_back({"seg0", merge::parse_report(report::to_json(segment_report(0, 2, 20, 100, 1'000'000)), "seg0")});
    std::vector<Diagnostic> problems;
    Report m = merge::merge(in, problems);
    REQUIRE(problems.empty());
    CHECK(m.total_actions == 40);
    CHECK(m.scenarios[0].spawned == 40);
    CHECK(m.actions[0].status_classes == std::vector<std::pair<std::string, uint64_t>>{{"2xx", 40}});
    metrics::LatencyHistogram both;
    for (uint64_t i = 0; i < 20; ++i) both.record(100 + i), both.record(1000 + i);
    CHECK(m.latency.p50_ms == metrics::summarize(both).p50_ms);
    CHECK(m.latency.p99_ms == metrics::summarize(both).p99_ms);
    CHECK(m.scenarios[0].actions[0].latency.histogram.count == 40);
    CHECK(m.scenarios[0].started_per_100ms == std::vector<uint32_t>{20, 0, 21, 0, 1});
    CHECK(m.duration_s == Approx(2.2));
    CHECK(m.started_at_unix_ms == 1'000'000);
    REQUIRE(m.thresholds.size() == 2);
    CHECK(m.thresholds[0].passed);  // 40 >= 30, where each segment's 20 failed
    CHECK(m.thresholds[0].actual == 40);
    CHECK(m.thresholds[1].passed);
    CHECK((m.segment_index == 0 && m.segment_count == 1));
}

TEST_CASE("a merge refuses reports that are not the segments of one test, with every reason", "[merge]") {
    auto seg = [](uint32_t i, uint32_t n) { return segment_report(i, n, 5, 100, 0); };
    std::vector<Diagnostic> problems;
    Report other = seg(1, 3);
    other.script_hash = "sha256:def";
    other.plugins[0].version = "0.2.9";
    merge::merge({{"a", seg(0, 3)}, {"b", other}}, problems);
    REQUIRE(problems.size() == 2);
    CHECK(problems[0].message.find("another script") != std::string::npos);
    CHECK(problems[1].message.find("0.2.9") != std::string::npos);
    problems.clear();
    merge::merge({{"a", seg(0, 3)}, {"b", seg(0, 3)}}, problems);
    REQUIRE(problems.size() == 2);
    CHECK(problems[0].message.find("segment 0/3 appears twice") != std::string::npos);
    CHECK(problems[1].message.find("missing segments: 1/3, 2/3") != std::string::npos);
}
