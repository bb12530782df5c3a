#include <catch2/catch.hpp>

#include "core/log_mask.hpp"

using ntx::core::Masker;

TEST_CASE("log.mask hides the values of sensitive fields", "[log][mask]") {
    Masker m({"password", "token", "Authorization", "cookie"});
    CHECK(m.mask("login password=hunter2 user=bob") == "login password=*** user=bob");
    CHECK(m.mask("GET /?access_token=abc123&page=2") == "GET /?access_token=***&page=2");
    CHECK(m.mask("Authorization: Bearer eyJ.abc\r\nHost: x") == "Authorization: ***\r\nHost: x");
    CHECK(m.mask(R"({"user": "bob", "Password": "p a s s", "n": 1})") == R"({"user": "bob", "Password": "***", "n": 1})");
    // A cookie header's value is every pair of it: `; b=2` must not leak past the first.
    CHECK(m.mask("Set-Cookie: sid=42; Path=/") == "Set-Cookie: ***");
    CHECK(m.mask("Cookie: a=1; b=2\r\nHost: x") == "Cookie: ***\r\nHost: x");
    // A scheme word and its credentials are one value; a pair of its own after it is not swallowed.
    CHECK(m.mask("authorization=Bearer S3CRET next") == "authorization=*** next");
    CHECK(m.mask("Proxy-Authorization=Basic dXNlcjpwYXNz") == "Proxy-Authorization=***");
    CHECK(m.mask("password=hunter2 Authorization: Bearer x") == "password=*** Authorization: ***");
    // A pair right after a masked name.
    CHECK(m.mask("cookie session=abc123; other=1") == "cookie session=***; other=1");
    CHECK(m.mask("tokens_used 5, token_count=") == "tokens_used 5, token_count=");  // no separator / no value
    CHECK(m.mask("nothing secret here: 42") == "nothing secret here: 42");
    CHECK(Masker({}).mask("password=x") == "password=x");
}
