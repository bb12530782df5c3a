#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include "dsl/script.hpp"
#include "report/report_writer.hpp"
#include "resource/manifest.hpp"
#include "resource/pair_pool.hpp"
#include "resource/source_files.hpp"
#include "support/dsl_load.hpp"
#include "support/temp_res_dir.hpp"

using namespace ntx;
using ntx::test::dump;
using ntx::test::TempResDir;
using resource::PairPool;

namespace {

dsl::PoolSpec spec_for(const TempResDir& dir, const std::string& file, const std::string& format = "csv") {
    dsl::PoolSpec s;
    s.name = "pool";
    s.manifest = dir.path() / file;
    s.format = format;
    s.fields = {"ip", "port"};
    s.manifest_loc = {"script.yaml", 9, 17};
    return s;
}

dsl::PoolSpec spec_of(dsl::Guard guard, dsl::LeaseStrategy strategy) {
    dsl::PoolSpec s;
    s.name = "pool";
    s.fields = {"ip", "port"};
    s.guard = guard;
    s.strategy = strategy;
    return s;
}

std::vector<std::vector<std::string>> items(int n) {
    std::vector<std::vector<std::string>> out;
    for (int i = 0; i < n; ++i) out.push_back({"127.0.0.1", std::to_string(20000 + i)});
    return out;
}

}  // namespace

TEST_CASE("a CSV manifest loads, with an optional header row and comments", "[resource]") {
    TempResDir dir;
    dir.write("p.csv", "ip,port\n# a comment\n127.0.0.1,20000\n 127.0.0.2 , 20001\n\"127.0.0.3\",20002\n");
    std::vector<Diagnostic> d;
    auto pool = PairPool::load(spec_for(dir, "p.csv"), d);
    REQUIRE(d.empty());
    REQUIRE(pool->size() == 3);
    CHECK(pool->value(1, pool->field_index("ip")) == "127.0.0.2");
    CHECK(pool->value(2, pool->field_index("ip")) == "127.0.0.3");
    CHECK(pool->value(2, pool->field_index("port")) == "20002");
    CHECK(pool->field_index("nope") == -1);
}

TEST_CASE("bad manifest rows are reported at file:line:col, all of them", "[resource]") {
    TempResDir dir;
    dir.write("p.csv", "127.0.0.1,20000\n127.0.0.1\n127.0.0.1,20002,extra\n,20003\n127.0.0.1,\xff\xfe\n\"127.0.0.1,1\n");
    std::vector<Diagnostic> d;
    PairPool::load(spec_for(dir, "p.csv"), d);
    INFO(dump(d));
    REQUIRE(d.size() == 5);
    CHECK(d[0].line == 5);  // bad UTF-8 is found first, in a pass over the whole file
    CHECK(d[0].column == 11);
    CHECK(d[0].message == "not valid UTF-8 text");
    CHECK(d[0].file.find("p.csv") != std::string::npos);
    CHECK(d[1].line == 2);
    CHECK(d[1].message.find("expected 2 fields (ip,port), found 1") != std::string::npos);
    CHECK(d[2].line == 3);
    CHECK(d[2].column == 17);
    CHECK(d[3].line == 4);
    CHECK(d[3].column == 1);
    CHECK(d[3].message.find("empty field 'ip'") != std::string::npos);
    CHECK(d[4].line == 6);
    CHECK(d[4].message == "unterminated quote");
}

TEST_CASE("a missing manifest is reported where the script names it", "[resource]") {
    TempResDir dir;
    std::vector<Diagnostic> d;
    PairPool::load(spec_for(dir, "nope.csv"), d);
    REQUIRE(d.size() == 1);
    CHECK(d[0].file == "script.yaml");
    CHECK(d[0].line == 9);
    CHECK(d[0].column == 17);
    CHECK(d[0].message.find("nope.csv") != std::string::npos);
    CHECK(d[0].message.find("no such file") != std::string::npos);
}

TEST_CASE("a YAML manifest loads as a list of maps; a corrupted one fails at its line", "[resource]") {
    TempResDir dir;
    dir.write("p.yaml", "items:\n  - {ip: 127.0.0.1, port: 1}\n  - {ip: 127.0.0.2, port: 2}\n");
    std::vector<Diagnostic> d;
    auto pool = PairPool::load(spec_for(dir, "p.yaml", "yaml"), d);
    REQUIRE(d.empty());
    CHECK(pool->size() == 2);

    dir.write("bad.yaml", "items:\n  - {ip: 127.0.0.1, port: 1}\n  - {ip: 127.0.0.2, port: [\n");
    PairPool::load(spec_for(dir, "bad.yaml", "yaml"), d);
    REQUIRE(d.size() == 1);
    CHECK(d[0].file.find("bad.yaml") != std::string::npos);
    CHECK(d[0].line >= 3);

    d.clear();
    dir.write("hole.yaml", "- {ip: 127.0.0.1, port: 1}\n- {ip: 127.0.0.2}\n- {ip: '', port: 3}\n");
    PairPool::load(spec_for(dir, "hole.yaml", "yaml"), d);
    INFO(dump(d));
    REQUIRE(d.size() == 2);
    CHECK(d[0].line == 2);
    CHECK(d[0].message.find("no scalar field 'port'") != std::string::npos);
    CHECK(d[1].line == 3);
    CHECK(d[1].message.find("no non-empty field 'ip'") != std::string::npos);
}

TEST_CASE("invalid UTF-8 is found at its byte", "[resource]") {
    CHECK(resource::invalid_utf8_at("plain") == std::string_view::npos);
    CHECK(resource::invalid_utf8_at("h\xc3\xa9llo \xe4\xb8\xad") == std::string_view::npos);
    CHECK(resource::invalid_utf8_at("ab\xc3") == 2);             // truncated
    CHECK(resource::invalid_utf8_at("ab\xc0\xaf") == 2);         // overlong
    CHECK(resource::invalid_utf8_at("\xed\xa0\x80") == 0);       // a surrogate
    CHECK(resource::invalid_utf8_at("x\xf4\x90\x80\x80") == 1);  // past U+10FFFF
}

TEST_CASE("an exclusive pool never hands one item to two users, and runs dry", "[resource]") {
    TempResDir dir;
    std::string csv;
    for (int i = 0; i < 100; ++i) csv += "127.0.0.1," + std::to_string(20000 + i) + "\n";
    dir.write("p.csv", csv);
    std::vector<Diagnostic> d;
    auto pool = PairPool::load(spec_for(dir, "p.csv"), d);
    REQUIRE(d.empty());
    // Two threads race for all items: together they get each exactly once.
    std::vector<uint32_t> a, b;
    std::thread t1([&] { while (auto g = pool->acquire(1)) a.push_back(g->item); });
    std::thread t2([&] { while (auto g = pool->acquire(2)) b.push_back(g->item); });
    t1.join();
    t2.join();
    std::set<uint32_t> all(a.begin(), a.end());
    all.insert(b.begin(), b.end());
    CHECK(a.size() + b.size() == 100);
    CHECK(all.size() == 100);
    CHECK(pool->leases_held() == 100);
    CHECK_FALSE(pool->acquire(3));
    pool->release(a.empty() ? b[0] : a[0], a.empty() ? 2 : 1);
    CHECK(pool->acquire(3));
    CHECK(pool->peak_leases() == 100);
}

TEST_CASE("round-robin: an exclusive pool hands out the longest idle item; a shared one rotates", "[resource]") {
    auto ex = PairPool::of_items(spec_of(dsl::Guard::exclusive, dsl::LeaseStrategy::round_robin), items(3));
    CHECK(ex->acquire(1)->item == 0);
    CHECK(ex->acquire(2)->item == 1);
    ex->release(0, 1);
    CHECK(ex->acquire(3)->item == 2);  // 2 was idle longer than 0
    CHECK(ex->acquire(4)->item == 0);

    auto sh = PairPool::of_items(spec_of(dsl::Guard::shared, dsl::LeaseStrategy::round_robin), items(2));
    CHECK(sh->acquire(1)->item == 0);
    CHECK(sh->acquire(2)->item == 1);
    sh->release(1, 2);  // a release does not move an item in the rotation
    CHECK(sh->acquire(3)->item == 0);
    CHECK(sh->acquire(4)->item == 1);
    CHECK(sh->stats().peak_held == 3);
}

TEST_CASE("least-used: the item with the fewest leases (exclusive) or holders (shared) goes first", "[resource]") {
    auto ex = PairPool::of_items(spec_of(dsl::Guard::exclusive, dsl::LeaseStrategy::least_used), items(3));
    // Item 0 is leased and released three times, item 1 once: 2 (never used), then 1, then 0.
    for (int i = 0; i < 3; ++i) {
        auto g = ex->acquire(1);
        REQUIRE(g->item == static_cast<uint32_t>(i == 0 ? 0 : i == 1 ? 1 : 2));
        ex->release(g->item, 1);
    }
    // uses: 0 -> 1, 1 -> 1, 2 -> 1: the tie goes to the longest idle (0)
    auto g = ex->acquire(2);
    CHECK(g->item == 0);
    ex->release(0, 2);  // uses: 0 -> 2
    CHECK(ex->acquire(3)->item == 1);
    CHECK(ex->acquire(4)->item == 2);
    CHECK(ex->acquire(5)->item == 0);
    CHECK_FALSE(ex->acquire(6));

    auto sh = PairPool::of_items(spec_of(dsl::Guard::shared, dsl::LeaseStrategy::least_used), items(3));
    CHECK(sh->acquire(1)->item == 0);
    CHECK(sh->acquire(2)->item == 1);
    CHECK(sh->acquire(3)->item == 2);
    sh->release(1, 2);  // holders: 0 -> 1, 1 -> 0, 2 -> 1
    CHECK(sh->acquire(4)->item == 1);
    CHECK(sh->acquire(5)->item == 0);  // one holder each: the fewest uses (0 and 2 have 1), then the index
}

TEST_CASE("a lease's ttl expires at its holder's task boundary; auto-renew keeps it", "[resource]") {
    // The pool's clock is moved by its origin: no sleeping.
    auto spec = spec_of(dsl::Guard::exclusive, dsl::LeaseStrategy::round_robin);
    spec.ttl_ms = 1'000;
    auto pool = PairPool::of_items(spec, items(2));
    const auto t0 = std::chrono::steady_clock::now();
    pool->set_clock_origin(t0);
    auto g = pool->acquire(7);
    REQUIRE(g);
    CHECK(g->expires_ms >= 1'000);
    CHECK(g->expires_ms < 1'500);
    uint64_t expires = g->expires_ms;
    CHECK(pool->refresh(g->item, 7, expires));  // not due yet: kept
    CHECK(pool->leases_held() == 1);
    pool->set_clock_origin(t0 - std::chrono::seconds(2));  // two seconds later
    CHECK_FALSE(pool->refresh(g->item, 7, expires));      // given back: the holder must acquire again
    CHECK(pool->leases_held() == 0);
    CHECK(pool->stats().expired == 1);
    CHECK(pool->stats().released == 1);

    spec.auto_renew = true;
    auto renewing = PairPool::of_items(spec, items(1));
    renewing->set_clock_origin(t0);
    auto r = renewing->acquire(8);
    uint64_t exp = r->expires_ms;
    renewing->set_clock_origin(t0 - std::chrono::seconds(5));
    CHECK(renewing->refresh(r->item, 8, exp));
    CHECK(exp >= 6'000);  // now (~5000) + ttl
    CHECK(renewing->leases_held() == 1);
    CHECK(renewing->stats().renewed == 1);
    CHECK(renewing->stats().expired == 0);

    auto forever = PairPool::of_items(spec_of(dsl::Guard::exclusive, dsl::LeaseStrategy::round_robin), items(1));
    auto f = forever->acquire(9);
    CHECK(f->expires_ms == 0);
    forever->set_clock_origin(t0 - std::chrono::hours(10));
    uint64_t never = 0;
    CHECK(forever->refresh(f->item, 9, never));
}

TEST_CASE("a down item is never handed out, its holder gives it back, and it returns when it recovers", "[resource]") {
    auto spec = spec_of(dsl::Guard::exclusive, dsl::LeaseStrategy::round_robin);
    spec.health.set = true;
    auto pool = PairPool::of_items(spec, items(3));
    CHECK(pool->set_health(1, false));
    CHECK_FALSE(pool->set_health(1, false));  // no change
    CHECK(pool->acquire(1)->item == 0);
    CHECK(pool->acquire(2)->item == 2);
    CHECK_FALSE(pool->acquire(3));  // 1 is down
    CHECK(pool->set_health(1, true));
    CHECK(pool->acquire(3)->item == 1);
    // Item 0 goes down while held: its holder gives it back at its boundary; it stays out.
    pool->set_health(0, false);
    uint64_t never = 0;
    CHECK_FALSE(pool->refresh(0, 1, never));
    CHECK(pool->stats().evicted == 1);
    CHECK_FALSE(pool->acquire(4));
    pool->set_health(0, true);
    CHECK(pool->acquire(4)->item == 0);
    auto st = pool->stats();
    CHECK(st.downs == 2);
    CHECK(st.recoveries == 2);
    CHECK(st.down_now == 0);

    // on-failure: ignore: recorded, still handed out.
    spec.health.on_failure = dsl::OnProbeFailure::ignore;
    auto lax = PairPool::of_items(spec, items(1));
    lax->set_health(0, false);
    CHECK(lax->acquire(1));
    CHECK(lax->stats().down_now == 1);
}

TEST_CASE("the lease trail keeps every acquire and release in order; closing returns leaks", "[resource]") {
    auto pool = PairPool::of_items(spec_of(dsl::Guard::exclusive, dsl::LeaseStrategy::round_robin), items(2));
    pool->keep_trail(true);
    auto a = pool->acquire(11);
    auto b = pool->acquire(12);
    pool->release(a->item, 11);
    pool->set_health(0, false);
    auto events = pool->drain_trail();
    REQUIRE(events.size() == 4);
    using K = resource::LeaseEvent::Kind;
    CHECK((events[0].kind == K::acquire && events[0].user == 11 && events[0].item == 0 && events[0].seq == 1));
    CHECK((events[1].kind == K::acquire && events[1].user == 12 && events[1].item == 1));
    CHECK((events[2].kind == K::release && events[2].user == 11 && events[2].reason == resource::ReleaseReason::end));
    CHECK((events[3].kind == K::down && events[3].item == 0));
    for (size_t i = 1; i < events.size(); ++i) CHECK(events[i].t_us >= events[i - 1].t_us);
    CHECK(pool->drain_trail().empty());
    // 12 never released: the closing sweep returns it and says so.
    CHECK(pool->release_all() == 1);
    CHECK(pool->leases_held() == 0);
    auto closing = pool->drain_trail();
    REQUIRE(closing.size() == 1);
    CHECK((closing[0].user == 12 && closing[0].reason == resource::ReleaseReason::closing));
    CHECK(pool->release_all() == 0);
    (void)b;
}

TEST_CASE("a leak fails the run and names its pool", "[resource]") {
    Report r;
    CHECK(report::lease_leaks(r).empty());
    r.resources.pools.push_back({});
    r.resources.pools.back().name = "ok-pool";
    r.resources.pools.push_back({});
    r.resources.pools.back().name = "ip-port-pool";
    r.resources.pools.back().held_at_end = 2;
    r.resources.leases_leaked = 2;
    CHECK(report::lease_leaks(r) == "2 resource leases still held at the end of the run: 'ip-port-pool' (2)");
    CHECK(report::to_json(r).find("\"leases_leaked\":2") != std::string::npos);
}

TEST_CASE("concurrent users, health flips and trail drains keep an exclusive pool exclusive", "[resource][concurrency]") {
    auto spec = spec_of(dsl::Guard::exclusive, dsl::LeaseStrategy::least_used);
    spec.health.set = true;
    spec.ttl_ms = 1;
    auto pool = PairPool::of_items(spec, items(8));
    pool->keep_trail(true);
    std::vector<std::atomic<uint64_t>> owner(8);
    std::atomic<bool> violated{false};
    std::atomic<int> running{4};
    std::vector<std::thread> users;
    for (uint64_t t = 1; t <= 4; ++t)
        users.emplace_back([&, t] {
            for (int i = 0; i < 5'000; ++i) {
                auto g = pool->acquire(t);
                if (!g) continue;
                uint64_t none = 0;
                if (!owner[g->item].compare_exchange_strong(none, t)) violated = true;
                owner[g->item].store(0);  // before the item can go back to the pool
                uint64_t exp = g->expires_ms;
                if (pool->refresh(g->item, t, exp)) pool->release(g->item, t);
            }
            --running;
        });
    std::thread prober([&] {
        for (uint32_t i = 0; running > 0; i = (i + 1) % 8) {
            pool->set_health(i, false);
            pool->set_health(i, true);
        }
    });
    std::thread drainer([&] {
        size_t n = 0;
        while (running > 0) n += pool->drain_trail().size();
        (void)n;
    });
    for (auto& t : users) t.join();
    prober.join();
    drainer.join();
    CHECK_FALSE(violated);
    auto st = pool->stats();
    CHECK(st.held == 0);
    CHECK(st.acquired == st.released);
    CHECK(st.acquired > 0);
}

TEST_CASE("resources: leasing, health-check and kv_store keys are validated at planning", "[resource][dsl]") {
    TempResDir dir;
    dir.write("pairs.csv", "127.0.0.1,1\n");
    dir.write("names.csv", "host\n");
    dir.write("kv.yaml", "a: 1\nb: two\n");
    dir.write("script.yaml", R"(components:
  - {name: http, version: "0.2.1", entry: http}
resources:
  pairs:
    type: pair_pool
    provider: {leasing: {auto-renew: yes, wait-timeout: soon}}
    config: {manifest: ./pairs.csv, parser: {fields: [ip, port]}}
    health-check: {interval: 1s, timeout: 2s, probe: icmp, on-failure: panic}
  names:
    type: pair_pool
    config: {manifest: ./names.csv, parser: {fields: [name]}}
    health-check: {interval: 1s}
  kv:
    type: kv_store
    config: {manifest: ./kv.yaml}
  dup:
    type: kv_store
    config: {items: {x: 1, x: 2}}
workflows:
  w: {steps: [{ref: get}]}
actions:
  get: {component: http, call: get, with: {url: "http://{{resource.kv.a}}/{{resource.kv.b}}/{{resource.kv.c}}"}}
load:
  scenarios:
    - {name: s, workflow: w, user-count: 1, user: {inherit: [pairs]}}
)");
    std::vector<Diagnostic> d;
    auto script = dsl::load_res_dir(dir.path(), ntx::resource::file_reader(), d);
    INFO(dump(d));
    auto has = [&](int line, const std::string& text) {
        return std::any_of(d.begin(), d.end(), [&](const Diagnostic& x) { return x.line == line && x.message.find(text) != std::string::npos; });
    };
    CHECK(has(6, "auto-renew must be true or false, found 'yes'"));
    CHECK(has(6, "wait-timeout must be a duration"));
    CHECK(has(8, "health-check.timeout must be more than 0 and at most the interval"));
    CHECK(has(8, "unknown probe 'icmp'"));
    CHECK(has(8, "unknown on-failure 'panic'"));
    CHECK(has(12, "the tcp probe connects to each item's ip (or host) and port"));
    CHECK(has(22, "no kv_store resource 'kv' with key 'c'"));
    CHECK(std::none_of(d.begin(), d.end(), [](const Diagnostic& x) { return x.message.find("key 'a'") != std::string::npos; }));
    REQUIRE(script.kv_stores.size() >= 1);
    CHECK(script.kv_stores[0].name == "kv");
    CHECK(script.kv_stores[0].entries == std::vector<std::pair<std::string, std::string>>{{"a", "1"}, {"b", "two"}});
}

TEST_CASE("a kv_store key read by a template is a constant, resolved once", "[resource][dsl]") {
    TempResDir dir;
    dir.write("script.yaml", R"(components:
  - {name: http, version: "0.2.1", entry: http}
resources:
  settings:
    type: kv_store
    config: {items: {host: 127.0.0.1, path: /asset}}
workflows:
  w: {steps: [{ref: get}]}
actions:
  get: {component: http, call: get, with: {url: "http://{{resource.settings.host}}{{resource.settings.path}}"}}
load:
  scenarios:
    - {name: s, workflow: w, user-count: 1}
)");
    std::vector<Diagnostic> d;
    auto script = dsl::load_res_dir(dir.path(), ntx::resource::file_reader(), d);
    INFO(dump(d));
    REQUIRE(d.empty());
    auto host = std::find(script.variables.begin(), script.variables.end(), "resource.settings.host");
    REQUIRE(host != script.variables.end());
    auto slot = static_cast<size_t>(host - script.variables.begin());
    REQUIRE(script.constants[slot]);
    CHECK((*script.constants[slot])[0].second == "127.0.0.1");
    // Only the keys templates read take a slot.
    CHECK(std::count_if(script.variables.begin(), script.variables.end(),
                        [](const std::string& v) { return v.rfind("resource.", 0) == 0; }) == 2);
}
