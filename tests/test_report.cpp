// The status-class breakdown (ABI 1.1 ntx_result_t.status): counted per shard, merged, and written
// to report.json and the end summary.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>
#include <string>

#include "report/html_report.hpp"
#include "report/report_writer.hpp"
#include "scheduler/stats.hpp"

using namespace ntx;

namespace {

// The end summary print_summary writes for `r`.
std::string summary_of(const Report& r) {
    std::FILE* f = std::tmpfile();
    REQUIRE(f);
    report::print_summary(r, f);
    std::string text;
    std::rewind(f);
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
    std::fclose(f);
    return text;
}

}  // namespace

TEST_CASE("statuses are counted by class; anything outside 100..599 is in no class", "[report]") {
    scheduler::ActionStats a, b;
    for (uint32_t s : {200u, 204u, 299u, 301u, 404u, 503u, 599u, 0u, 99u, 600u, 1000u}) a.count_status(s);
    CHECK(a.status_classes == std::array<uint64_t, 5>{0, 3, 1, 1, 2});
    b.count_status(101);
    b.count_status(200);
    a.merge(b);
    CHECK(a.status_classes == std::array<uint64_t, 5>{1, 4, 1, 1, 2});
}

TEST_CASE("report.json has status_classes per action, only the classes seen", "[report]") {
    Report r;
    ScenarioReport s;
    s.name = "s";
    ActionReport with, without;
    with.name = "with";
    with.status_classes = {{"2xx", 7}, {"5xx", 2}};
    without.name = "without";
    s.actions = {with, without};
    r.scenarios.push_back(s);
    const boost::json::value v = boost::json::parse(report::to_json(r));
    const auto& actions = v.at("scenarios").at(0).at("actions").as_array();
    CHECK(actions.at(0).at("status_classes") == boost::json::parse(R"({"2xx": 7, "5xx": 2})"));
    CHECK(actions.at(1).at("status_classes").as_object().empty());

    const std::string text = summary_of(r);
    CHECK(text.find("status 2xx 7, 5xx 2") != std::string::npos);
}

TEST_CASE("the first error of each kind: kept once, the earliest over shards wins, long reasons are cut", "[report]") {
    scheduler::ActionStats shard0, shard1;
    int asked = 0;
    auto reason = [&](std::string text) {
        return [&asked, text] {
            ++asked;
            return text;
        };
    };
    shard0.count_error(NTX_E_CONNECT, 500, 3, 1, reason("connect 127.0.0.1:9: refused"));
    shard0.count_error(NTX_E_CONNECT, 600, 5, 1, reason("not kept"));
    shard0.count_error(NTX_E_INVALID, 900, 7, 2, reason(std::string(1000, 'x')));
    CHECK(asked == 2);  // the reason is made only for a kind's first error
    shard1.count_error(NTX_E_CONNECT, 200, 4, 1, reason("connect 127.0.0.1:9: refused (earlier)"));
    CHECK(shard0.errors == 3);

    scheduler::ActionStats merged;
    merged.merge(shard0);
    merged.merge(shard1);
    REQUIRE(merged.errors_by_code.size() == 2);
    const auto& connect = merged.errors_by_code[0];
    CHECK(connect.code == NTX_E_CONNECT);
    CHECK(connect.n == 3);
    CHECK(connect.first_reason == "connect 127.0.0.1:9: refused (earlier)");
    CHECK(connect.first_user == 4);
    CHECK(connect.first_at_ms == 200);
    const auto& invalid = merged.errors_by_code[1];
    CHECK(invalid.first_reason.size() == scheduler::ErrorKind::kMaxReason + 3);
    CHECK(invalid.first_reason.ends_with("..."));

    // A cut never splits a UTF-8 sequence: 399 ASCII bytes, then a 2-byte 'é' across the limit.
    scheduler::ActionStats accented;
    accented.count_error(NTX_E_IO, 1, 1, 1, [] { return std::string(399, 'a') + "\xc3\xa9" + std::string(50, 'b'); });
    CHECK(accented.errors_by_code[0].first_reason == std::string(399, 'a') + "...");

    // Merged the other way round: the same earliest example.
    scheduler::ActionStats reversed;
    reversed.merge(shard1);
    reversed.merge(shard0);
    CHECK(reversed.errors_by_code[0].first_reason == connect.first_reason);
    CHECK(reversed.errors_by_code[0].n == 3);
}

TEST_CASE("report.json and the summary show each kind's first error", "[report]") {
    Report r;
    ScenarioReport s;
    s.name = "s";
    s.condition_errors = 2;
    s.condition_error_example = "[user=4 task=1] condition failed: number('x'): not a number";
    ActionReport a;
    a.name = "fetch";
    a.count = a.errors = 5;
    a.errors_by_kind = {{"invalid", 4}, {"connect", 1}};
    a.error_examples = {{"invalid", "invalid url \"x\": expected http://host[:port]/path", 3, 2, 0.25}};
    s.actions = {a};
    r.scenarios.push_back(s);
    const boost::json::value v = boost::json::parse(report::to_json(r));
    const auto& scen = v.at("scenarios").at(0);
    CHECK(scen.at("condition_error_example").as_string() == s.condition_error_example);
    CHECK(scen.at("actions").at(0).at("error_examples") ==
          boost::json::parse(R"({"invalid": {"reason": "invalid url \"x\": expected http://host[:port]/path",
                                             "user": 3, "task": 2, "at_s": 0.25}})"));

    const std::string text = summary_of(r);
    INFO(text);
    // Long lines wrap at 100 columns onto indented continuation lines: read them joined.
    std::string joined;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\n' && i + 1 < text.size() && text.compare(i + 1, 8, "        ") == 0) {
            joined += ' ';
            while (i + 1 < text.size() && text[i + 1] == ' ') ++i;
        } else {
            joined += text[i];
        }
    }
    CHECK(joined.find("error invalid: 4, the first (user 3, task 2, at 0.25 s): invalid url \"x\": expected "
                      "http://host[:port]/path") != std::string::npos);
    size_t widest = 0;
    for (size_t at = 0, end; at < text.size(); at = end + 1) {
        end = text.find('\n', at);
        if (end == std::string::npos) end = text.size();
        widest = std::max(widest, end - at);
    }
    CHECK(widest <= 100);  // the summary fits 100 columns
    CHECK(text.find("error connect: 1\n") != std::string::npos);  // a kind without an example: its count
    CHECK(text.find("2 conditions or workbook updates could not be evaluated; the first: [user=4 task=1]") !=
          std::string::npos);
}

TEST_CASE("report.html of a 24-hour run stays small: its series are merged to at most 600 points", "[report][html]") {
    Report r;
    r.interval_ms = 64'000;  // a 24-hour run: 1,350 intervals of 64 s
    ScenarioReport s;
    s.name = "soak";
    for (size_t i = 0; i < 1'350; ++i) {
        IntervalStats iv;
        iv.t_s = static_cast<double>(i) * 64;
        iv.ok = 6'400 + i % 7;
        iv.errors = i % 3;
        iv.p50_ms = 1.25;
        iv.p95_ms = 3.5;
        iv.p99_ms = 7.75;
        iv.online = 100;
        if (iv.errors) iv.errors_by_kind = {{"connect", iv.errors}};
        s.intervals.push_back(iv);
    }
    for (int a = 0; a < 5; ++a) {
        ActionReport ar;
        ar.name = "action-" + std::to_string(a);
        ar.intervals = s.intervals;
        for (auto& iv : ar.intervals) iv.online = 0;
        s.actions.push_back(ar);
    }
    r.scenarios.push_back(s);
    const std::string full = report::to_json(r);
    const std::string html = report::to_html(r);
    // The embedded data: 6 series of at most 600 points (1,350 -> 675 at 2:1 is still over: 4:1, 338).
    const auto at = html.find("id=\"ntx-data\">");
    REQUIRE(at != std::string::npos);
    const auto data = boost::json::parse(html.substr(at + 14, html.find("</script>", at) - at - 14));
    CHECK(data.at("interval_ms").as_int64() == 256'000);
    CHECK(data.at("scenarios").at(0).at("intervals").as_array().size() == 338);
    CHECK(data.at("scenarios").at(0).at("actions").at(0).at("intervals").as_array().size() == 338);
    uint64_t ok = 0;
    for (const auto& iv : data.at("scenarios").at(0).at("intervals").as_array()) ok += iv.at("ok").as_int64();
    uint64_t want = 0;
    for (const auto& iv : s.intervals) want += iv.ok;
    CHECK(ok == want);  // merged, not dropped
    // Chart.js (~195 KiB) and the page, well under report.json's own size for this run.
    CHECK(html.size() < 500'000);
    CHECK(html.size() < full.size());
    WARN("report.json " << full.size() << " bytes, report.html " << html.size() << " bytes");
}
