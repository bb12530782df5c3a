#include <catch2/catch.hpp>

#include "core/log_mask.hpp"

using ntx::core::Masker;

TEST_CASE("log.mask hides the values of sensitive fields", "[log][mask]") {
    Masker m({"password", "token", "Authorization", "cookie"});
    CHECK(m.mask("login password=hunter2 user=bob") == "login password=*** user=bob");
    CHECK(m.mask("GET /?access_token=abc123&page=2") == "GET /?access_token=***&page=2");
    CHECK(m.mask("Authorization: Bearer eyJ.abc\r\nHost: x") == "Authorization: ***\r\nHost: x");
    CHECK(m.mask(R"({"user": "bob", "Password": "p a s s", "n": 1})") == R"({"user": "bob", "Password": "***", "n": 1})");
    CHECK(m.mask("Set-Cookie: sid=42; Path=/") == "Set-Cookie: ***; Path=/");
    CHECK(m.mask("tokens_used 5, token_count=") == "tokens_used 5, token_count=");  // no separator / no value
    CHECK(m.mask("nothing secret here: 42") == "nothing secret here: 42");
    CHECK(Masker({}).mask("password=x") == "password=x");
}
