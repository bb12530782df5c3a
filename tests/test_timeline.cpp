// Bounded series over the run's time (metrics/timeline.hpp) and the one report builder
// (report/report_builder.hpp) the live readers and the final report share.
#include <catch2/catch.hpp>

#include <memory>
#include <numeric>

#include "dsl/script.hpp"
#include "resource/source_files.hpp"
#include "metrics/snapshot.hpp"
#include "metrics/timeline.hpp"
#include "report/report_builder.hpp"
#include "support/temp_res_dir.hpp"

using namespace ntx;

namespace {

uint64_t sum(const std::vector<uint32_t>& v) { return std::accumulate(v.begin(), v.end(), uint64_t{0}); }

}  // namespace

TEST_CASE("a timeline keeps at most kTimelinePoints buckets over 24 hours; sums and peaks are kept", "[timeline]") {
    metrics::Timeline started, online;
    uint64_t total = 0;
    uint32_t peak = 0;
    // A user start every 250 ms of a manual clock for 24 hours; online varies with a peak at 17:00.
    for (uint64_t t = 0; t < 24ull * 3600 * 1000; t += 250) {
        started.add(t, 1, false);
        ++total;
        const uint32_t now_online = static_cast<uint32_t>((t / 1000) % 977) + (t == 17ull * 3600 * 1000 ? 5000 : 0);
        online.add(t, now_online, true);
        peak = std::max(peak, now_online);
        REQUIRE(started.values.size() <= metrics::kTimelinePoints);
        REQUIRE(online.values.size() <= metrics::kTimelinePoints);
    }
    CHECK(sum(started.values) == total);
    CHECK(*std::max_element(online.values.begin(), online.values.end()) == peak);
    // 86,400 s in at most 2,000 buckets: 100 ms doubled until 24 h fit, i.e. 51.2 s.
    CHECK(started.bucket_ms == 51'200);
    CHECK(online.bucket_ms == started.bucket_ms);
    CHECK(started.values.size() == (24ull * 3600 * 1000 - 1) / started.bucket_ms + 1);
    CHECK(online.values[17ull * 3600 * 1000 / online.bucket_ms] == peak);  // the peak stays in its bucket
}

TEST_CASE("timelines of different widths merge at the coarser one, totals exact", "[timeline]") {
    metrics::Timeline a, b;
    for (uint64_t t = 0; t < 1000 * metrics::kTimelineBucketMs * 3; t += 100) a.add(t, 2, false);  // 300 s: 200 ms wide
    for (uint64_t t = 0; t < 10'000; t += 100) b.add(t, 3, false);                                   // 10 s at 100 ms
    REQUIRE(a.bucket_ms == 200);
    REQUIRE(b.bucket_ms == 100);
    const uint64_t total = sum(a.values) + sum(b.values);
    metrics::Timeline m = b;
    m.merge(a, false);
    CHECK(m.bucket_ms == a.bucket_ms);
    CHECK(sum(m.values) == total);
    metrics::Timeline n = a;
    n.merge(b, false);
    CHECK(n.values == m.values);
}

TEST_CASE("intervals are bounded: pairs merge, the width doubles, the totals stay exact", "[timeline]") {
    constexpr size_t cap = 16;
    metrics::IntervalSeries series(1000, cap);
    auto cumulative = std::make_unique<metrics::LatencyHistogram>();
    auto at_begin = std::make_unique<metrics::LatencyHistogram>();
    uint64_t ok = 0, errors = 0, timeouts = 0;
    // 1,000 synthetic one-second intervals; interval i ends i % 7 ok actions of (i + 1) ms each.
    for (uint64_t i = 0; i < 1000; ++i) {
        *at_begin = *cumulative;
        const uint64_t n = i % 7;
        for (uint64_t k = 0; k < n; ++k) cumulative->record((i + 1) * 1000);
        series.add(i * 1000, n, i % 3, i % 5 == 0 ? 1 : 0, i, *cumulative, *at_begin);
        ok += n;
        errors += i % 3;
        timeouts += i % 5 == 0 ? 1 : 0;
        REQUIRE(series.points().size() <= cap);
    }
    uint64_t sok = 0, serr = 0, sto = 0;
    for (const auto& p : series.points()) {
        sok += p.ok;
        serr += p.errors;
        sto += p.timeouts;
    }
    CHECK(sok == ok);
    CHECK(serr == errors);
    CHECK(sto == timeouts);
    // 1,000 s in at most 16 points: 1 s doubled until 1,000 s fit in 16, i.e. 64 s.
    CHECK(series.width_ms() == 64'000);
    const auto& pts = series.points();
    for (size_t i = 0; i < pts.size(); ++i) CHECK(pts[i].t_s == Approx(static_cast<double>(i * 64)));
    CHECK(pts.back().online == 999);  // a gauge: the last interval's
    // The last point grew after the width last doubled: its percentiles are exact (its own values,
    // never those of the point before).
    CHECK(pts.back().p99_ms >= 961.0);
    CHECK(pts.back().p50_ms >= 961.0);
}

TEST_CASE("a series with room for all its intervals is the monitor's intervals as they were", "[timeline]") {
    metrics::IntervalSeries series(1000);
    auto cumulative = std::make_unique<metrics::LatencyHistogram>();
    auto at_begin = std::make_unique<metrics::LatencyHistogram>();
    for (uint64_t i = 0; i < 5; ++i) {
        *at_begin = *cumulative;
        cumulative->record((i + 1) * 10'000);
        series.add(i * 1000, 1, 0, 0, 2, *cumulative, *at_begin);
    }
    REQUIRE(series.points().size() == 5);
    CHECK(series.width_ms() == 1000);
    CHECK(series.points()[3].t_s == Approx(3.0));
    CHECK(series.points()[3].p50_ms == Approx(40.0).epsilon(0.01));
}

TEST_CASE("ScenarioStats::merge adds every counter and keeps the earliest condition error", "[timeline][report]") {
    metrics::ScenarioStats a, b;
    a.spawned = 2;
    a.exit_rollback = 1;
    a.dynamic_started = 3;
    a.condition_errors = 1;
    a.condition_error_first = "late";
    a.condition_error_first_at_ms = 900;
    b.spawned = 5;
    b.exit_stop_user = 2;
    b.dynamic_started = 4;
    b.condition_errors = 2;
    b.condition_error_first = "early";
    b.condition_error_first_at_ms = 100;
    a.started_per_bucket.add(50, 1, false);
    b.started_per_bucket.add(50, 2, false);
    a.merge(b);
    CHECK(a.spawned == 7);
    CHECK(a.exit_rollback == 1);
    CHECK(a.exit_stop_user == 2);
    CHECK(a.dynamic_started == 7);
    CHECK(a.condition_errors == 3);
    CHECK(a.condition_error_first == "early");
    CHECK(a.condition_error_first_at_ms == 100);
    CHECK(a.started_per_bucket.values == std::vector<uint32_t>{3});
    metrics::ScenarioStats live;
    live.copy_counters(a);
    CHECK(live.spawned == 7);
    CHECK(live.condition_error_first == "early");
    CHECK(live.started_per_bucket.values.empty());
}

TEST_CASE("the live and the final report come from one builder: exits and dynamic tasks live too", "[timeline][report]") {
    test::TempResDir dir;
    dir.write("script.yaml", R"(components:
  - {name: http, version: "0.2.1", entry: http}
workflows:
  wf: {steps: [{ref: get}, {ref: put}]}
actions:
  get: {component: http, call: get, with: {url: "http://127.0.0.1:1/"}}
  put: {component: http, call: get, with: {url: "http://127.0.0.1:1/"}}
load: {scenarios: [{name: s, workflow: wf, user-count: 2}]}
)");
    std::vector<Diagnostic> d;
    dsl::Script script = dsl::load_res_dir(dir.path(), resource::file_reader(), d);
    REQUIRE(d.empty());
    metrics::RunSnapshot snap;
    snap.elapsed_s = 2.5;
    snap.actions.resize(script.actions.size());
    snap.scenarios.resize(1);
    snap.gauges.resize(1);
    snap.actions[1].ok = 4;  // put
    snap.actions[1].latency.record(5'000);
    snap.actions[0].errors = 1;
    snap.scenarios[0].exit_closing = 1;
    snap.scenarios[0].exit_rollback = 2;
    snap.scenarios[0].exit_stop_user = 3;
    snap.scenarios[0].dynamic_requested = 4;
    snap.scenarios[0].started_per_bucket.add(0, 2, false);
    snap.gauges[0].peak_online = 2;
    snap.gauges[0].end_ms = 1200;
    Report live = report::build_report(script, snap);
    REQUIRE(live.scenarios.size() == 1);
    const auto& s = live.scenarios[0];
    CHECK(s.exit_closing == 1);
    CHECK(s.exit_rollback == 2);
    CHECK(s.exit_stop_user == 3);
    CHECK(s.dynamic_requested == 4);
    CHECK(s.peak_online == 2);
    CHECK(s.duration_s == Approx(2.5));       // live: the run so far
    CHECK(s.started_per_100ms.empty());      // live: no timelines
    REQUIRE(s.actions.size() == 2);           // in workflow order, each once
    CHECK(s.actions[0].name == "get");
    CHECK(s.actions[1].name == "put");
    CHECK(live.total_actions == 5);
    CHECK(live.total_ok == 4);
    snap.final = true;
    Report final = report::build_report(script, snap);
    CHECK(final.scenarios[0].exit_rollback == 2);
    CHECK(final.scenarios[0].duration_s == Approx(1.2));  // final: until its last user left
    CHECK(final.scenarios[0].started_per_100ms == std::vector<uint32_t>{2});
    CHECK(final.scenarios[0].timeline_bucket_ms == 100);
    CHECK(final.total_actions == live.total_actions);
    CHECK(final.latency.p50_ms == live.latency.p50_ms);
}
