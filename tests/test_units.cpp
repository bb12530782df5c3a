#include <catch2/catch.hpp>

#include "dsl/units.hpp"
#include "plugin/semver.hpp"

using namespace ntx;

TEST_CASE("durations parse in every unit the DSL documents", "[dsl][units]") {
    CHECK(dsl::parse_duration_ms("500ms") == 500u);
    CHECK(dsl::parse_duration_ms("5s") == 5000u);
    CHECK(dsl::parse_duration_ms("2m") == 120000u);
    CHECK(dsl::parse_duration_ms("1h") == 3600000u);
    CHECK(dsl::parse_duration_ms("1.5s") == 1500u);
    CHECK(dsl::parse_duration_ms("3") == 3000u);  // bare number: seconds
    CHECK_FALSE(dsl::parse_duration_ms("5 parsecs"));
    CHECK_FALSE(dsl::parse_duration_ms("fast"));
    CHECK_FALSE(dsl::parse_duration_ms(""));
}

TEST_CASE("rates parse per second, minute and hour", "[dsl][units]") {
    CHECK(dsl::parse_rate_per_s("200/s") == Approx(200));
    CHECK(dsl::parse_rate_per_s("50 req/s") == Approx(50));
    CHECK(dsl::parse_rate_per_s("10/m") == Approx(10.0 / 60));
    CHECK(dsl::parse_rate_per_s("36/h") == Approx(0.01));
    CHECK_FALSE(dsl::parse_rate_per_s("200"));
    CHECK_FALSE(dsl::parse_rate_per_s("200/fortnight"));
}

TEST_CASE("semver parsing and the caret compatibility rule", "[plugin][semver]") {
    auto v = [](const char* s) { return *plugin::parse_semver(s); };
    CHECK_FALSE(plugin::parse_semver("1.2"));
    CHECK_FALSE(plugin::parse_semver("1.2.x"));
    CHECK(plugin::parse_semver("1.2.3-rc1")->prerelease);
    CHECK(plugin::semver_compatible(v("1.2.0"), v("1.2.0")));
    CHECK(plugin::semver_compatible(v("1.2.0"), v("1.9.1")));
    CHECK_FALSE(plugin::semver_compatible(v("1.2.0"), v("1.1.9")));  // older than required
    CHECK_FALSE(plugin::semver_compatible(v("1.2.0"), v("2.0.0")));  // another major
    CHECK(plugin::semver_compatible(v("0.2.1"), v("0.2.5")));
    CHECK_FALSE(plugin::semver_compatible(v("0.2.1"), v("0.3.0")));  // 0.x: minor breaks
    CHECK_FALSE(plugin::semver_compatible(v("0.2.1"), v("0.2.0")));
}

TEST_CASE("byte rates: units and windows", "[dsl][units]") {
    using ntx::dsl::parse_byte_rate;
    auto r = parse_byte_rate("512KiB/s", 20);
    REQUIRE(r);
    CHECK(r->bytes == Approx(512 * 1024));
    CHECK(r->per_ms == 1000);
    r = parse_byte_rate("1.5 MB/tick", 20);
    REQUIRE(r);
    CHECK(r->bytes == Approx(1.5e6));
    CHECK(r->per_ms == 20);
    r = parse_byte_rate("100/ms", 20);
    REQUIRE(r);
    CHECK(r->bytes == Approx(100));
    CHECK(r->per_ms == 1);
    CHECK_FALSE(parse_byte_rate("10 parsecs/s", 20));
    CHECK_FALSE(parse_byte_rate("10KiB", 20));
    CHECK_FALSE(parse_byte_rate("10KiB/fortnight", 20));
}
