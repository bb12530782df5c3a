#include <catch2/catch.hpp>

#include <set>
#include <thread>

#include "resource/pair_pool.hpp"
#include "support/temp_res_dir.hpp"

using namespace ntx;
using ntx::test::TempResDir;

namespace {

dsl::PoolSpec spec_for(const TempResDir& dir, const std::string& file, const std::string& format = "csv") {
    dsl::PoolSpec s;
    s.name = "pool";
    s.manifest = dir.path() / file;
    s.format = format;
    s.fields = {"ip", "port"};
    return s;
}

}  // namespace

TEST_CASE("a CSV manifest loads, with an optional header row and comments", "[resource]") {
    TempResDir dir;
    dir.write("p.csv", "ip,port\n# a comment\n127.0.0.1,20000\n 127.0.0.2 , 20001\n\"127.0.0.3\",20002\n");
    std::vector<Diagnostic> d;
    auto pool = resource::PairPool::load(spec_for(dir, "p.csv"), d);
    REQUIRE(d.empty());
    REQUIRE(pool->size() == 3);
    CHECK(pool->value(1, pool->field_index("ip")) == "127.0.0.2");
    CHECK(pool->value(2, pool->field_index("ip")) == "127.0.0.3");
    CHECK(pool->value(2, pool->field_index("port")) == "20002");
    CHECK(pool->field_index("nope") == -1);
}

TEST_CASE("bad manifest rows are reported at file:line:col", "[resource]") {
    TempResDir dir;
    dir.write("p.csv", "127.0.0.1,20000\n127.0.0.1\n127.0.0.1,20002,extra\n,20003\n");
    std::vector<Diagnostic> d;
    resource::PairPool::load(spec_for(dir, "p.csv"), d);
    REQUIRE(d.size() == 3);
    CHECK(d[0].line == 2);
    CHECK(d[0].message.find("expected 2 fields (ip,port), found 1") != std::string::npos);
    CHECK(d[1].line == 3);
    CHECK(d[1].column == 17);
    CHECK(d[2].line == 4);
    CHECK(d[2].message.find("empty field 'ip'") != std::string::npos);
}

TEST_CASE("a YAML manifest loads as a list of maps", "[resource]") {
    TempResDir dir;
    dir.write("p.yaml", "items:\n  - {ip: 127.0.0.1, port: 1}\n  - {ip: 127.0.0.2, port: 2}\n");
    std::vector<Diagnostic> d;
    auto pool = resource::PairPool::load(spec_for(dir, "p.yaml", "yaml"), d);
    REQUIRE(d.empty());
    CHECK(pool->size() == 2);
}

TEST_CASE("an exclusive pool never hands one item to two users, and runs dry", "[resource]") {
    TempResDir dir;
    std::string csv;
    for (int i = 0; i < 100; ++i) csv += "127.0.0.1," + std::to_string(20000 + i) + "\n";
    dir.write("p.csv", csv);
    std::vector<Diagnostic> d;
    auto pool = resource::PairPool::load(spec_for(dir, "p.csv"), d);
    REQUIRE(d.empty());
    // Two threads race for all items: together they get each exactly once.
    std::vector<uint32_t> a, b;
    std::thread t1([&] { while (auto i = pool->acquire()) a.push_back(*i); });
    std::thread t2([&] { while (auto i = pool->acquire()) b.push_back(*i); });
    t1.join();
    t2.join();
    std::set<uint32_t> all(a.begin(), a.end());
    all.insert(b.begin(), b.end());
    CHECK(a.size() + b.size() == 100);
    CHECK(all.size() == 100);
    CHECK(pool->leases_held() == 100);
    CHECK_FALSE(pool->acquire());
    pool->release(a.empty() ? b[0] : a[0]);
    CHECK(pool->acquire());
    CHECK(pool->peak_leases() == 100);
}

TEST_CASE("a shared pool hands items round-robin and never runs dry", "[resource]") {
    TempResDir dir;
    dir.write("p.csv", "a,1\nb,2\n");
    std::vector<Diagnostic> d;
    auto s = spec_for(dir, "p.csv");
    s.guard = dsl::Guard::shared;
    auto pool = resource::PairPool::load(s, d);
    CHECK(*pool->acquire() == 0);
    CHECK(*pool->acquire() == 1);
    CHECK(*pool->acquire() == 0);
}

TEST_CASE("capacity.size larger than the manifest is an error", "[resource]") {
    TempResDir dir;
    dir.write("p.csv", "a,1\nb,2\n");
    std::vector<Diagnostic> d;
    auto s = spec_for(dir, "p.csv");
    s.capacity = 3;
    resource::PairPool::load(s, d);
    REQUIRE(d.size() == 1);
    CHECK(d[0].message.find("capacity.size is 3 but the manifest has 2 items") != std::string::npos);
}
