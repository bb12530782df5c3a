// The status-class breakdown (ABI 1.1 ntx_result_t.status): counted per shard, merged, and written
// to report.json and the end summary.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <cstdio>
#include <string>

#include "report/report_writer.hpp"
#include "scheduler/stats.hpp"

using namespace ntx;

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

    std::FILE* f = std::tmpfile();
    REQUIRE(f);
    report::print_summary(r, f);
    std::rewind(f);
    std::string text(4096, '\0');
    text.resize(std::fread(text.data(), 1, text.size(), f));
    std::fclose(f);
    CHECK(text.find("status 2xx 7, 5xx 2") != std::string::npos);
}
