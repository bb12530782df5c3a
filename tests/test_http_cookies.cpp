// The http plugin's cookie jar (RFC 6265) through the fake host: what a response sets is sent back
// on the next request that matches its domain, path and Secure flag, until it expires; bad
// Set-Cookie headers are ignored (never a failed action); the jar is per user and per task unless
// kept, bounded, settable from params and readable as cookies.<name> result fields.
#include "support/plugin_harness.hpp"

#include <catch2/catch.hpp>

#include <string>

using ntx::test::FakeHost;
using ntx::test::Params;

namespace {

const char *const kPluginPath = NTX_TEST_PLUGIN_DIR "/ntx_http.so";

struct Harness : ntx::test::PluginHarness {
    explicit Harness(const std::string &config = "{}") : PluginHarness(kPluginPath, config) { host.task_id = 7; }

    // User 1's GET of `url` on its kept-alive connection (or a new one), answered with `response`;
    // returns the request the plugin sent for it.
    std::string exchange(const std::string &url, const std::string &response, Params extra = {},
                         FakeHost::ActionId *out = nullptr) {
        Params p{{"url", url}};
        p.insert(p.end(), extra.begin(), extra.end());
        const std::size_t before = host.socket_count();
        const std::size_t sent_before = before == 0 ? 0 : host.last_socket().sent.size();
        const auto id = host.run(1, "get", std::move(p));
        REQUIRE(host.run_status(id) == NTX_OK);
        const bool fresh = host.socket_count() != before;
        if (fresh) REQUIRE(host.connect(host.last_socket().id));
        const std::string sent = host.last_socket().sent.substr(fresh ? 0 : sent_before);
        REQUIRE(host.deliver(host.last_socket().id, response));
        REQUIRE(host.ended(id));
        if (out) *out = id;
        return sent;
    }
};

std::string ok_with(const std::string &headers) {
    return "HTTP/1.1 200 OK\r\n" + headers + "Content-Length: 2\r\n\r\nok";
}

std::string cookie_line(const std::string &request) {
    const auto at = request.find("\r\nCookie: ");
    if (at == std::string::npos) return {};
    const auto end = request.find("\r\n", at + 2);
    return request.substr(at + 10, end - at - 10);
}

}  // namespace

TEST_CASE("a cookie the server sets is sent back, and read as cookies.<name>", "[http][cookies]") {
    Harness h;
    FakeHost::ActionId login = 0;
    const std::string first = h.exchange("http://shop.test/login", ok_with("Set-Cookie: sid=abc123; Path=/; HttpOnly; SameSite=Lax\r\n"
                                                                          "Set-Cookie: theme=dark\r\n"),
                                         {}, &login);
    CHECK(cookie_line(first).empty());
    CHECK(h.host.outcome(login).ok);
    CHECK(h.host.outcome(login).field("cookies.sid") == "abc123");
    CHECK(h.host.outcome(login).field("cookies.theme") == "dark");

    const std::string second = h.exchange("http://shop.test/cart", ok_with(""));
    CHECK(cookie_line(second) == "sid=abc123; theme=dark");
    // The Cookie header goes in the head, before its end; the request stays well-formed.
    CHECK(second.find("Cookie: sid=abc123; theme=dark\r\n\r\n") != std::string::npos);
}

TEST_CASE("domain, path, host-only and Secure decide which requests get a cookie", "[http][cookies]") {
    Harness h;
    h.exchange("http://www.shop.test/app/login",
               ok_with("Set-Cookie: wide=1; Domain=.shop.test; Path=/\r\n"
                       "Set-Cookie: host=2\r\n"                      // host-only, default path /app
                       "Set-Cookie: deep=3; Path=/app/admin\r\n"
                       "Set-Cookie: sec=4; Secure; Path=/\r\n"));
    // The same host and the default path: all but the deeper path and the Secure one.
    CHECK(cookie_line(h.exchange("http://www.shop.test/app/x", ok_with(""))) == "host=2; wide=1");
    CHECK(cookie_line(h.exchange("http://www.shop.test/app/admin/y", ok_with(""))) == "deep=3; host=2; wide=1");
    // /application is not under /app.
    CHECK(cookie_line(h.exchange("http://www.shop.test/application", ok_with(""))) == "wide=1");
    // Another host of the domain: the domain cookie only (host=2 is host-only).
    CHECK(cookie_line(h.exchange("http://api.shop.test/app/x", ok_with(""))) == "wide=1");
    // Another site: nothing.
    CHECK(cookie_line(h.exchange("http://other.test/", ok_with(""))).empty());
}

TEST_CASE("a Secure cookie goes over https only", "[http][cookies]") {
    Harness h(R"({"tls-verify": false})");
    h.exchange("http://h.test/", ok_with("Set-Cookie: s=1; Secure\r\nSet-Cookie: p=2\r\n"));
    CHECK(cookie_line(h.exchange("http://h.test/x", ok_with(""))) == "p=2");
    CHECK(cookie_line(h.exchange("https://h.test/x", ok_with(""))) == "s=1; p=2");
}

TEST_CASE("Max-Age and Expires end a cookie; Max-Age wins; an expired one deletes", "[http][cookies]") {
    Harness h;
    h.exchange("http://h.test/", ok_with("Set-Cookie: a=1; Max-Age=3600\r\n"
                                         "Set-Cookie: b=2; Expires=Wed, 09 Jun 2021 10:18:14 GMT\r\n"   // past
                                         "Set-Cookie: c=3; Expires=Wed, 09 Jun 2021 10:18:14 GMT; Max-Age=60\r\n"
                                         "Set-Cookie: d=4; Expires=Fri, 01 Jan 2100 00:00:00 GMT\r\n"
                                         "Set-Cookie: e=5; Max-Age=junk\r\n"));  // a bad Max-Age is ignored
    CHECK(cookie_line(h.exchange("http://h.test/", ok_with(""))) == "a=1; c=3; d=4; e=5");
    // The server logs out: Max-Age=0 deletes, so does a past Expires.
    FakeHost::ActionId id = 0;
    h.exchange("http://h.test/", ok_with("Set-Cookie: a=; Max-Age=0\r\nSet-Cookie: d=x; Expires=Thu, 01 Jan 1970 00:00:01 GMT\r\n"),
               {}, &id);
    CHECK_FALSE(h.host.outcome(id).has("cookies.a"));
    CHECK(cookie_line(h.exchange("http://h.test/", ok_with(""))) == "c=3; e=5");
}

TEST_CASE("bad Set-Cookie headers are ignored and the action still succeeds", "[http][cookies]") {
    Harness h;
    FakeHost::ActionId id = 0;
    h.exchange("http://www.h.test/",
               ok_with("Set-Cookie: novalue\r\n"                     // no '='
                       "Set-Cookie: =v\r\n"                          // empty name
                       "Set-Cookie: bad name=v\r\n"                  // a space in the name
                       "Set-Cookie: q=\"a\"b\"\r\n"                  // a quote inside the value
                       "Set-Cookie: evil=1; Domain=attacker.test\r\n"  // another site
                       "Set-Cookie: tld=1; Domain=test\r\n"          // a top-level domain
                       "Set-Cookie: good=1\r\n"),
               {}, &id);
    CHECK(h.host.outcome(id).ok);
    CHECK(cookie_line(h.exchange("http://www.h.test/", ok_with(""))) == "good=1");
}

TEST_CASE("the jar is per task unless kept, per user, and off with cookies: false", "[http][cookies]") {
    Harness h;
    h.exchange("http://h.test/", ok_with("Set-Cookie: sid=1\r\n"));
    SECTION("a new task starts without cookies") {
        h.host.task_id = 8;
        CHECK(cookie_line(h.exchange("http://h.test/", ok_with(""))).empty());
    }
    SECTION("keep-cookies keeps them across tasks") {
        h.host.task_id = 8;
        CHECK(cookie_line(h.exchange("http://h.test/", ok_with(""), {{"keep-cookies", "true"}})) == "sid=1");
    }
    SECTION("cookies: false neither sends nor takes") {
        const std::string sent = h.exchange("http://h.test/", ok_with("Set-Cookie: other=2\r\n"), {{"cookies", "false"}});
        CHECK(cookie_line(sent).empty());
        CHECK(cookie_line(h.exchange("http://h.test/", ok_with(""))) == "sid=1");
    }
    SECTION("another user has a jar of its own") {
        const auto id = h.host.run(2, "get", {{"url", "http://h.test/"}});
        REQUIRE(h.host.connect(h.host.last_socket().id));
        CHECK(cookie_line(h.host.last_socket().sent).empty());
        REQUIRE(h.host.deliver(h.host.last_socket().id, ok_with("")));
        CHECK(h.host.outcome(id).ok);
    }
    SECTION("a script's own Cookie header replaces the jar's") {
        CHECK(cookie_line(h.exchange("http://h.test/", ok_with(""), {{"headers.Cookie", "mine=1"}})) == "mine=1");
    }
}

TEST_CASE("the component turns the jar off; cookies.<name> params set cookies", "[http][cookies]") {
    SECTION("cookies: false in the config") {
        Harness h(R"({"cookies": false})");
        h.exchange("http://h.test/", ok_with("Set-Cookie: sid=1\r\n"));
        CHECK(cookie_line(h.exchange("http://h.test/", ok_with(""))).empty());
        // An action turns it back on.
        CHECK(cookie_line(h.exchange("http://h.test/", ok_with(""), {{"cookies", "true"}, {"cookies.x", "9"}})) == "x=9");
    }
    SECTION("set, then replaced by the server") {
        Harness h;
        CHECK(cookie_line(h.exchange("http://h.test/a", ok_with("Set-Cookie: sid=new; Path=/\r\n"), {{"cookies.sid", "old"}})) ==
              "sid=old");
        CHECK(cookie_line(h.exchange("http://h.test/a", ok_with(""))) == "sid=new");
    }
}

TEST_CASE("a jar stays within max-cookies and drops the oldest", "[http][cookies]") {
    Harness h(R"({"max-cookies": 3, "max-cookie-bytes": 64})");
    h.exchange("http://h.test/", ok_with("Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nSet-Cookie: c=3\r\nSet-Cookie: d=4\r\n"
                                         "Set-Cookie: big=" + std::string(80, 'x') + "\r\n"));
    CHECK(cookie_line(h.exchange("http://h.test/", ok_with(""))) == "b=2; c=3; d=4");
    // Many responses later the jar is still three cookies.
    for (int i = 0; i < 50; ++i) h.exchange("http://h.test/", ok_with("Set-Cookie: n" + std::to_string(i) + "=v\r\n"));
    CHECK(cookie_line(h.exchange("http://h.test/", ok_with(""))) == "n47=v; n48=v; n49=v");
}

TEST_CASE("cookie params are checked at planning", "[http][cookies][validate]") {
    FakeHost host(kPluginPath);
    REQUIRE(host.load() == NTX_OK);
    const auto v = host.validate("get", {{"url", "http://h/"}, {"cookies", "maybe"}, {"cookies.bad name", "x"},
                                         {"cookies.sid", "a b"}, {"cookies.ok", "{{login.cookies.sid}}"},
                                         {"keep-cookies", "true"}, {"cokies.sid", "x"}});
    REQUIRE(v.problems.size() == 4);
    CHECK(v.problems[0].index == 1);
    CHECK(v.problems[1].index == 2);
    CHECK(v.problems[2].index == 3);
    CHECK(v.problems[3].index == 6);
    CHECK(v.problems[3].hint == "did you mean 'cookies.sid'?");
}
