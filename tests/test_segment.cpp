// Segment arithmetic (segment/segment.hpp): for every N up to 64 and loads from small to large, the N
// instances together start every user, arrival and pool item of the unsegmented test exactly once, and
// each instance's share is within one of its exact fraction.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include "dsl/script.hpp"
#include "resource/pair_pool.hpp"
#include "segment/segment.hpp"
#include "support/temp_res_dir.hpp"

using namespace ntx;
using segment::Segment;

namespace {

constexpr uint32_t kMaxN = 64;
const std::vector<uint64_t> kTotals{0, 1, 2, 3, 5, 17, 63, 64, 65, 100, 127, 128, 129, 1000, 4097, 123457, 10'000'019};
const std::vector<uint32_t> kShards{1, 2, 3, 8};

// The ordinals below `total` one shard of one instance starts, as the scheduler walks its stripe.
std::vector<uint64_t> walk(const segment::Stripe& st, uint64_t total) {
    std::vector<uint64_t> out;
    for (uint64_t k = st.first; k < total; k += st.step) out.push_back(k);
    return out;
}

}  // namespace

TEST_CASE("--segment parses I/N and refuses what is not one", "[segment]") {
    Segment s;
    std::string error;
    REQUIRE(segment::parse("0/1", s, error));
    CHECK((s.index == 0 && s.count == 1));
    REQUIRE(segment::parse("3/4", s, error));
    CHECK((s.index == 3 && s.count == 4));
    CHECK(segment::to_string(s) == "3/4");
    for (const char* bad : {"4/4", "1/0", "a/b", "", "/", "1/", "/4", "-1/4", "1/4/5", "1.0/4", " 1/4", "1/4 ", "0/99999999999"}) {
        INFO(bad);
        error.clear();
        CHECK_FALSE(segment::parse(bad, s, error));
        CHECK(error.find("--segment") != std::string::npos);
    }
    segment::parse("4/4", s, error);
    CHECK(error.find("numbered 0 to 3") != std::string::npos);
    segment::parse("1/0", s, error);
    CHECK(error.find("N is 0") != std::string::npos);
    segment::parse("a/b", s, error);
    CHECK(error.find("expected I/N") != std::string::npos);
}

TEST_CASE("shares of a count add up to it, each within one of total/N", "[segment]") {
    for (uint32_t n = 1; n <= kMaxN; ++n)
        for (uint64_t total : kTotals) {
            uint64_t sum = 0;
            for (uint32_t i = 0; i < n; ++i) {
                uint64_t share = segment::share(total, Segment{i, n});
                double exact = static_cast<double>(total) / n;
                INFO("N=" << n << " I=" << i << " total=" << total << " share=" << share);
                REQUIRE(std::abs(static_cast<double>(share) - exact) < 1.0);
                sum += share;
            }
            REQUIRE(sum == total);
        }
}

TEST_CASE("closed model: every user ordinal is started by exactly one shard of one instance", "[segment]") {
    for (uint32_t n = 1; n <= kMaxN; ++n)
        for (uint32_t shards : kShards)
            for (uint64_t total : kTotals) {
                INFO("N=" << n << " shards=" << shards << " users=" << total);
                uint64_t sum = 0;
                for (uint32_t i = 0; i < n; ++i) {
                    uint64_t instance = 0;
                    for (uint32_t j = 0; j < shards; ++j) {
                        auto st = segment::stripe(Segment{i, n}, j, shards);
                        instance += st.count_below(total);
                    }
                    REQUIRE(instance == segment::share(total, Segment{i, n}));
                    sum += instance;
                }
                REQUIRE(sum == total);
                if (total > 5000) continue;
                // Small enough to list: each ordinal exactly once, owned by the instance k mod N.
                std::vector<int> seen(total, 0);
                for (uint32_t i = 0; i < n; ++i)
                    for (uint32_t j = 0; j < shards; ++j) {
                        auto st = segment::stripe(Segment{i, n}, j, shards);
                        for (uint64_t k : walk(st, total)) {
                            REQUIRE(k % n == i);
                            REQUIRE(st.owns(k));
                            ++seen[k];
                        }
                    }
                REQUIRE(std::all_of(seen.begin(), seen.end(), [](int c) { return c == 1; }));
            }
}

TEST_CASE("open model: the union of the N arrival schedules is the unsegmented schedule", "[segment]") {
    struct Load {
        double rate, rate_end;
        uint64_t duration_ms;
    };
    // From one arrival every two seconds to 20,000/s, constant and ramping (up and down).
    const std::vector<Load> loads{{0.5, 0.5, 10'000}, {1, 1, 7'000},     {7.3, 7.3, 3'000},  {100, 100, 2'500},
                                  {20'000, 20'000, 1'000}, {0, 500, 4'000}, {900, 10, 3'000}, {3, 3000, 2'000}};
    for (const auto& load : loads) {
        dsl::ScenarioSpec spec;
        spec.model = dsl::Model::open;
        spec.arrival_rate = load.rate;
        spec.arrival_rate_end = load.rate_end;
        spec.duration_ms = load.duration_ms;
        std::vector<double> whole;
        for (uint64_t k = 0;; ++k) {
            double t = spec.arrival_time_ms(k);
            if (t >= static_cast<double>(spec.duration_ms)) break;
            whole.push_back(t);
        }
        REQUIRE(!whole.empty());
        for (uint32_t n = 1; n <= kMaxN; ++n)
            for (uint32_t shards : {1u, 3u}) {
                INFO("rate=" << load.rate << ".." << load.rate_end << " N=" << n << " shards=" << shards);
                std::vector<double> merged;
                for (uint32_t i = 0; i < n; ++i) {
                    size_t before = merged.size();
                    // as Shard::schedule_arrival walks it: until the first arrival past the window
                    for (uint32_t j = 0; j < shards; ++j) {
                        auto st = segment::stripe(Segment{i, n}, j, shards);
                        for (uint64_t k = st.first;; k += st.step) {
                            double t = spec.arrival_time_ms(k);
                            if (t >= static_cast<double>(spec.duration_ms)) break;
                            merged.push_back(t);
                        }
                    }
                    double exact = static_cast<double>(whole.size()) / n;
                    REQUIRE(std::abs(static_cast<double>(merged.size() - before) - exact) < 1.0);
                }
                std::sort(merged.begin(), merged.end());
                REQUIRE(merged == whole);  // the same instants, none lost, none doubled
            }
    }
}

TEST_CASE("profile targets: the instances' shares of a target add up to it at every instant", "[segment]") {
    dsl::ProfileSpec profile;
    profile.start = 0;
    profile.stages = {{2'000, 100}, {500, 250}, {1'000, 250}, {2'000, 0}};
    for (uint32_t n = 1; n <= kMaxN; ++n)
        for (uint64_t t = 0; t < profile.total_ms(); t += 20) {
            const auto target = static_cast<uint64_t>(profile.target_at(t));
            uint64_t sum = 0;
            for (uint32_t i = 0; i < n; ++i) sum += segment::share(target, Segment{i, n});
            REQUIRE(sum == target);
        }
}

TEST_CASE("rates divide without loss", "[segment]") {
    for (uint32_t n = 1; n <= kMaxN; ++n)
        for (double rate : {0.0, 0.5, 1.0, 3.0, 100.0, 12345.678, 1e6}) {
            double sum = 0;
            for (uint32_t i = 0; i < n; ++i) sum += segment::share(rate, Segment{i, n});
            REQUIRE(sum == Approx(rate).epsilon(1e-12));
        }
}

TEST_CASE("task ids made global stay unique across instances", "[segment]") {
    for (uint32_t n = 1; n <= kMaxN; n += 7) {
        std::set<uint64_t> ids;
        for (uint32_t i = 0; i < n; ++i)
            for (uint64_t local = 1; local <= 500; ++local) REQUIRE(ids.insert(segment::global_id(local, Segment{i, n})).second);
    }
}

TEST_CASE("pool items are partitioned among the instances", "[segment]") {
    for (uint32_t n = 1; n <= kMaxN; ++n)
        for (uint64_t items : {uint64_t{1}, uint64_t{2}, uint64_t{63}, uint64_t{64}, uint64_t{65}, uint64_t{1000}}) {
            std::vector<int> seen(items, 0);
            for (uint32_t i = 0; i < n; ++i) {
                auto mine = segment::items(items, Segment{i, n});
                REQUIRE(mine.size() == segment::share(items, Segment{i, n}));
                for (uint64_t k : mine) ++seen[k];
            }
            REQUIRE(std::all_of(seen.begin(), seen.end(), [](int c) { return c == 1; }));
        }
}

TEST_CASE("a pool loads only its segment's items; one smaller than N is refused with the numbers", "[segment]") {
    test::TempResDir dir;
    std::string csv;
    for (int i = 0; i < 10; ++i) csv += "127.0.0.1," + std::to_string(20000 + i) + "\n";
    dir.write("p.csv", csv);
    dsl::PoolSpec spec;
    spec.name = "ports";
    spec.manifest = dir.path() / "p.csv";
    spec.fields = {"ip", "port"};
    spec.loc = {"script.yaml", 7, 5};
    std::set<std::string> keys;
    for (uint32_t i = 0; i < 4; ++i) {
        spec.segment = {i, 4};
        std::vector<Diagnostic> d;
        auto pool = resource::PairPool::load(spec, d);
        REQUIRE(d.empty());
        REQUIRE(pool->size() == segment::share(uint64_t{10}, spec.segment));
        for (uint32_t k = 0; k < pool->size(); ++k) REQUIRE(keys.insert(std::string(pool->value(k, 1))).second);
    }
    CHECK(keys.size() == 10);
    spec.segment = {0, 11};
    std::vector<Diagnostic> d;
    auto pool = resource::PairPool::load(spec, d);
    REQUIRE(d.size() == 1);
    CHECK(d[0].line == 7);
    CHECK(d[0].message.find("10 items cannot be partitioned among 11 segments") != std::string::npos);
}

TEST_CASE("segment::apply divides max-users and the dynamic-task limits, and refuses what cannot be divided", "[segment]") {
    dsl::Script script;
    dsl::ScenarioSpec open;
    open.name = "arrivals";
    open.model = dsl::Model::open;
    open.max_users = 10;
    open.loc = {"script.yaml", 12, 3};
    script.scenarios.push_back(open);
    script.pools.emplace_back();
    script.config.dynamic_max_concurrent = 7;
    script.config.dynamic_rate = 30;
    uint64_t users = 0, dynamic = 0;
    for (uint32_t i = 0; i < 3; ++i) {
        std::vector<Diagnostic> d;
        dsl::Script mine = segment::apply(script, Segment{i, 3}, d);
        REQUIRE(d.empty());
        CHECK(mine.segment == Segment{i, 3});
        CHECK(mine.pools[0].segment == Segment{i, 3});
        CHECK(mine.config.dynamic_rate == Approx(10));
        users += mine.scenarios[0].max_users;
        dynamic += mine.config.dynamic_max_concurrent;
    }
    CHECK(users == 10);
    CHECK(dynamic == 7);
    std::vector<Diagnostic> d;
    segment::apply(script, Segment{0, 11}, d);
    REQUIRE(d.size() == 2);
    CHECK(d[0].file == "script.yaml");
    CHECK(d[0].line == 12);
    CHECK(d[0].message.find("max-users 10 cannot be divided among 11 segments") != std::string::npos);
    CHECK(d[1].message.find("max-concurrent 7") != std::string::npos);
    // The whole test is left as it is.
    d.clear();
    dsl::Script whole = segment::apply(script, Segment{0, 1}, d);
    CHECK(d.empty());
    CHECK(whole.scenarios[0].max_users == 10);
}
