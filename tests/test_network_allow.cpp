// config.yaml network.allow: the entry syntax (and where a bad entry goes wrong) and which connects
// each policy lets through.
#include <catch2/catch.hpp>

#include "policy/network_allow.hpp"

using ntx::policy::AllowEntry;
using ntx::policy::NetworkAllow;
using ntx::policy::parse_allow_entry;

namespace {

NetworkAllow policy(std::initializer_list<const char*> texts) {
    std::vector<AllowEntry> entries;
    for (const char* t : texts) {
        auto p = parse_allow_entry(t);
        REQUIRE(p.entry);
        entries.push_back(*p.entry);
    }
    return NetworkAllow(std::move(entries));
}

}  // namespace

TEST_CASE("network.allow entries parse: addresses, CIDRs, names, ports") {
    auto cidr = parse_allow_entry("127.0.0.0/8");
    REQUIRE(cidr.entry);
    CHECK(cidr.entry->kind == AllowEntry::Kind::v4);
    CHECK(cidr.entry->prefix == 8);
    CHECK(cidr.entry->ports.empty());

    auto one = parse_allow_entry("10.1.2.3:8000-8100,9000");
    REQUIRE(one.entry);
    CHECK(one.entry->prefix == 32);
    REQUIRE(one.entry->ports.size() == 2);
    CHECK(one.entry->ports[0] == std::pair<uint16_t, uint16_t>{8000, 8100});
    CHECK(one.entry->ports[1] == std::pair<uint16_t, uint16_t>{9000, 9000});

    auto v6 = parse_allow_entry("[::1]:443");
    REQUIRE(v6.entry);
    CHECK(v6.entry->kind == AllowEntry::Kind::v6);
    CHECK(v6.entry->prefix == 128);

    auto bare6 = parse_allow_entry("fd00::/8");
    REQUIRE(bare6.entry);
    CHECK(bare6.entry->kind == AllowEntry::Kind::v6);

    auto name = parse_allow_entry("API.Example.com.:443");
    REQUIRE(name.entry);
    CHECK(name.entry->kind == AllowEntry::Kind::name);
    CHECK(name.entry->name == "api.example.com");

    auto wildcard = parse_allow_entry("*.test.local");
    REQUIRE(wildcard.entry);
    CHECK(wildcard.entry->name == "*.test.local");
}

TEST_CASE("a bad network.allow entry says what is wrong and where") {
    struct Bad {
        const char* text;
        size_t column;
        const char* says;
    };
    for (const Bad& b : {Bad{"127.0.0.1:0", 10, "1..65535"}, Bad{"127.0.0.1:90-80", 10, "ends before it starts"},
                         Bad{"127.0.0.1:", 9, "no port"}, Bad{"10.0.0.0/33", 9, "longer than the address"},
                         Bad{"10.1.0.0/8", 0, "past its prefix"}, Bad{"host name", 4, "no spaces"},
                         Bad{"[::1", 0, "no ']'"}, Bad{"[nope]:80", 1, "not an IPv6 address"},
                         Bad{"bad_/x", 5, "a CIDR prefix is a number"}, Bad{"exa!mple.com", 0, "neither an address"},
                         Bad{"", 0, "empty"}, Bad{"a.b:80,x", 7, "a port is a number"}}) {
        INFO(b.text);
        auto p = parse_allow_entry(b.text);
        CHECK_FALSE(p.entry);
        CHECK(p.column == b.column);
        CHECK(p.error.find(b.says) != std::string::npos);
    }
}

TEST_CASE("network.allow lets through what an entry names, on its ports, and nothing else") {
    NetworkAllow none;
    CHECK_FALSE(none.active());
    CHECK(none.allows("anything", "203.0.113.9", 80));

    NetworkAllow empty(std::vector<AllowEntry>{});
    CHECK(empty.active());
    CHECK_FALSE(empty.allows("127.0.0.1", "127.0.0.1", 80));

    auto p = policy({"127.0.0.1", "10.0.0.0/8:8000-8100", "localhost:9000", "*.svc.local:443", "[::1]:8080"});
    CHECK(p.allows("127.0.0.1", "127.0.0.1", 1));
    CHECK(p.allows("127.0.0.1", "127.0.0.1", 65535));
    CHECK_FALSE(p.allows("127.0.0.2", "127.0.0.2", 80));  // loopback, but not listed
    CHECK(p.allows({}, "10.200.3.4", 8050));
    CHECK_FALSE(p.allows({}, "10.200.3.4", 8101));
    CHECK_FALSE(p.allows({}, "11.0.0.1", 8050));
    // A name entry allows the name on its ports, whatever it resolves to; another name does not.
    CHECK(p.allows_name("LOCALHOST.", 9000));
    CHECK_FALSE(p.allows_name("localhost", 9001));
    CHECK(p.allows("localhost", "192.0.2.1", 9000));
    CHECK_FALSE(p.allows("evil.example", "192.0.2.1", 9000));
    CHECK(p.allows_name("a.b.svc.local", 443));
    CHECK_FALSE(p.allows_name("svc.local", 443));  // the suffix entry is for names under it
    CHECK_FALSE(p.allows_name("a.svc.local", 80));
    CHECK(p.allows({}, "::1", 8080));
    CHECK_FALSE(p.allows({}, "::1", 8081));
    // An IPv4-mapped IPv6 address is its IPv4 address.
    CHECK(p.allows({}, "::ffff:127.0.0.1", 5));
    CHECK_FALSE(p.allows({}, "::ffff:127.0.0.2", 5));
    CHECK_FALSE(p.allows({}, "not an address", 80));
    CHECK(p.describe() == "127.0.0.1, 10.0.0.0/8:8000-8100, localhost:9000, *.svc.local:443, [::1]:8080");
}
