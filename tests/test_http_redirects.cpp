// The http plugin's redirects, https settings and query params against the fake host: which socket
// each hop uses, what it sends, and how a loop, too many hops or a bad Location end the action.
#include "support/plugin_harness.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <string>
#include <unistd.h>

using ntx::test::FakeHost;
using ntx::test::Params;

namespace {

const char *const kPluginPath = NTX_TEST_PLUGIN_DIR "/ntx_http.so";

std::string redirect(unsigned status, const std::string &location, const std::string &extra = "") {
    return "HTTP/1.1 " + std::to_string(status) + " Moved\r\nLocation: " + location + "\r\n" + extra +
           "Content-Length: 0\r\n\r\n";
}

const std::string kOk = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

// The request line of the last request on a socket.
std::string last_request_line(const ntx::test::SocketRecord &s) {
    const std::size_t start = s.sent.rfind(" HTTP/1.1\r\n");
    REQUIRE(start != std::string::npos);
    const std::size_t line = s.sent.rfind("\r\n\r\n", start);
    const std::size_t from = line == std::string::npos ? 0 : line + 4;
    // Skip a body between the previous head and this request line.
    const std::size_t method = s.sent.find_first_of("GHPD", from);
    return s.sent.substr(method, start - method);
}

struct Harness : ntx::test::PluginHarness {
    explicit Harness(const std::string &config = "{}") : PluginHarness(kPluginPath, config) {}
};

}  // namespace

TEST_CASE("a redirect on the same origin is followed on the kept-alive connection", "[http][redirect]") {
    Harness h;
    const auto id = h.start_connected(1, "get", {{"url", "http://h/a/b?x=1"}, {"follow-redirects", "true"}});
    auto &s = h.host.socket(0);
    REQUIRE(h.host.deliver(s.id, redirect(302, "c")));  // relative: the base's directory
    CHECK_FALSE(h.host.ended(id));
    CHECK(h.host.socket_count() == 1);
    CHECK(last_request_line(s) == "GET /a/c");
    REQUIRE(h.host.deliver(s.id, redirect(301, "?y=2")));
    CHECK(last_request_line(s) == "GET /a/c?y=2");
    REQUIRE(h.host.deliver(s.id, redirect(308, "/z")));
    CHECK(last_request_line(s) == "GET /z");
    REQUIRE(h.host.deliver(s.id, kOk));
    REQUIRE(h.host.ended(id));
    const auto &o = h.host.outcome(id);
    CHECK(o.ok);
    CHECK(o.status == 200);
    CHECK(o.field("redirects") == "3");
    CHECK(o.field("url") == "http://h/z");
    CHECK(o.field("body") == "ok");
    CHECK(h.host.socket_count() == 1);
    CHECK(h.host.open_socket_count() == 1);  // still kept alive for the next action
}

TEST_CASE("redirects are not followed unless asked; the 3xx is the result", "[http][redirect]") {
    Harness h;
    const auto id = h.start_connected(1, "get", {{"url", "http://h/"}});
    REQUIRE(h.host.deliver(h.host.socket(0).id, redirect(302, "/x")));
    REQUIRE(h.host.ended(id));
    CHECK(h.host.outcome(id).ok);
    CHECK(h.host.outcome(id).status == 302);
    CHECK(h.host.outcome(id).field("redirects") == "0");
}

TEST_CASE("the component config turns following on; an action can turn it off", "[http][redirect]") {
    Harness h(R"({"follow-redirects": true, "max-redirects": 1})");
    const auto a = h.start_connected(1, "get", {{"url", "http://h/"}});
    REQUIRE(h.host.deliver(h.host.socket(0).id, redirect(302, "/x")));
    CHECK_FALSE(h.host.ended(a));
    REQUIRE(h.host.deliver(h.host.socket(0).id, redirect(302, "/y")));
    REQUIRE(h.host.ended(a));
    CHECK(h.host.outcome(a).code == NTX_E_LIMIT);
    CHECK(h.host.outcome(a).reason.find("more than 1 redirects") != std::string::npos);
    CHECK(h.host.outcome(a).status == 0);

    const auto b = h.start_connected(2, "get", {{"url", "http://h/"}, {"follow-redirects", "false"}});
    REQUIRE(h.host.deliver(h.host.last_socket().id, redirect(302, "/x")));
    REQUIRE(h.host.ended(b));
    CHECK(h.host.outcome(b).ok);
}

TEST_CASE("too many redirects fail with NTX_E_LIMIT after exactly max-redirects hops", "[http][redirect]") {
    Harness h;
    const auto id = h.start_connected(1, "get", {{"url", "http://h/0"}, {"follow-redirects", "true"}, {"max-redirects", "3"}});
    auto &s = h.host.socket(0);
    for (int hop = 1; hop <= 3; ++hop) {
        REQUIRE(h.host.deliver(s.id, redirect(302, "/" + std::to_string(hop))));
        REQUIRE_FALSE(h.host.ended(id));
        CHECK(last_request_line(s) == "GET /" + std::to_string(hop));
    }
    REQUIRE(h.host.deliver(s.id, redirect(302, "/4")));
    REQUIRE(h.host.ended(id));
    CHECK(h.host.outcome(id).code == NTX_E_LIMIT);
    CHECK(h.host.open_socket_count() == 0);
}

TEST_CASE("a redirect loop fails at the first repeated URL", "[http][redirect]") {
    Harness h;
    const auto id = h.start_connected(1, "get", {{"url", "http://h/a"}, {"follow-redirects", "true"}, {"max-redirects", "50"}});
    auto &s = h.host.socket(0);
    REQUIRE(h.host.deliver(s.id, redirect(302, "/b")));
    REQUIRE_FALSE(h.host.ended(id));
    REQUIRE(h.host.deliver(s.id, redirect(302, "http://h/a")));
    REQUIRE(h.host.ended(id));
    CHECK(h.host.outcome(id).code == NTX_E_LIMIT);
    CHECK(h.host.outcome(id).reason.find("redirect loop at http://h/a") != std::string::npos);
}

TEST_CASE("303 and a POST's 301/302 continue as GET without a body; 307 repeats the POST", "[http][redirect]") {
    Harness h;
    const Params post{{"url", "http://h/p"}, {"body", "data!"}, {"headers.Content-Type", "text/plain"},
                      {"follow-redirects", "true"}};
    const auto a = h.start_connected(1, "post", post);
    auto &s = h.host.socket(0);
    REQUIRE(h.host.deliver(s.id, redirect(303, "/seen")));
    const std::string after = s.sent.substr(s.sent.rfind("GET /seen"));
    CHECK(after.find("Content-Length") == std::string::npos);
    CHECK(after.find("Content-Type") == std::string::npos);
    REQUIRE(h.host.deliver(s.id, kOk));
    CHECK(h.host.outcome(a).ok);

    const auto b = h.start_connected(2, "post", post);
    auto &t = h.host.last_socket();
    REQUIRE(h.host.deliver(t.id, redirect(307, "/again")));
    const std::string again = t.sent.substr(t.sent.rfind("POST /again"));
    CHECK(again.find("Content-Length: 5\r\n") != std::string::npos);
    CHECK(again.find("Content-Type: text/plain\r\n") != std::string::npos);
    CHECK(again.substr(again.size() - 5) == "data!");
    REQUIRE(h.host.deliver(t.id, kOk));
    CHECK(h.host.outcome(b).ok);
}

TEST_CASE("a redirect to another origin opens a new connection and drops credentials", "[http][redirect]") {
    Harness h;
    // Only what keep-on-redirect names follows to another origin: X-Api-Key stays behind (issue 23).
    const auto id = h.start_connected(1, "get",
                                      {{"url", "http://h/"}, {"headers.Authorization", "Bearer t"},
                                       {"headers.X-Keep", "1"}, {"headers.X-Api-Key", "k"},
                                       {"keep-on-redirect", " x-keep ,Accept"}, {"follow-redirects", "true"}});
    REQUIRE(h.host.deliver(h.host.socket(0).id, redirect(301, "https://other:8443/secure")));
    REQUIRE(h.host.socket_count() == 2);
    auto &s = h.host.socket(1);
    CHECK(s.transport == NTX_TRANSPORT_TLS);
    CHECK(s.host == "other");
    CHECK(s.port == 8443);
    CHECK(s.tls_server_name == "other");
    REQUIRE(h.host.connect(s.id));
    CHECK(s.sent.find("GET /secure HTTP/1.1\r\nHost: other:8443\r\n") == 0);
    CHECK(s.sent.find("Authorization") == std::string::npos);
    CHECK(s.sent.find("X-Keep: 1\r\n") != std::string::npos);
    CHECK(s.sent.find("X-Api-Key") == std::string::npos);
    CHECK_FALSE(h.host.socket(0).open());  // a user holds one connection: the new origin's
    REQUIRE(h.host.deliver(s.id, kOk));
    CHECK(h.host.outcome(id).ok);
    CHECK(h.host.outcome(id).field("url") == "https://other:8443/secure");
}

TEST_CASE("scheme-relative, fragment and default-port Locations resolve against the current URL", "[http][redirect]") {
    Harness h;
    const auto id = h.start_connected(1, "head", {{"url", "https://h:443/a/b"}, {"follow-redirects", "true"}});
    CHECK(h.host.socket(0).sent.find("HEAD /a/b HTTP/1.1\r\nHost: h\r\n") == 0);  // 443 is https's default
    REQUIRE(h.host.deliver(h.host.socket(0).id, redirect(302, "#top")));  // the same resource again: a loop
    REQUIRE(h.host.ended(id));
    CHECK(h.host.outcome(id).code == NTX_E_LIMIT);

    const auto b = h.start_connected(2, "head", {{"url", "https://h/a/b"}, {"follow-redirects", "true"}});
    REQUIRE(h.host.deliver(h.host.last_socket().id, redirect(301, "//mirror:8443/c d")));  // a space: unusable
    REQUIRE(h.host.ended(b));
    CHECK(h.host.outcome(b).code == NTX_E_PROTOCOL);

    const auto c = h.start_connected(3, "head", {{"url", "https://h/a/b"}, {"follow-redirects", "true"}});
    const std::size_t before = h.host.socket_count();
    REQUIRE(h.host.deliver(h.host.last_socket().id, redirect(301, "//mirror:8443/c")));
    REQUIRE(h.host.socket_count() == before + 1);
    auto &s = h.host.last_socket();
    CHECK(s.transport == NTX_TRANSPORT_TLS);  // the scheme stays https
    CHECK(s.host == "mirror");
    CHECK(s.port == 8443);
    REQUIRE(h.host.connect(s.id));
    CHECK(s.sent.find("HEAD /c HTTP/1.1\r\nHost: mirror:8443\r\n") == 0);  // HEAD stays HEAD
    REQUIRE(h.host.deliver(s.id, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"));  // no body after HEAD
    REQUIRE(h.host.ended(c));
    CHECK(h.host.outcome(c).ok);
    CHECK(h.host.outcome(c).field("url") == "https://mirror:8443/c");
}

TEST_CASE("a redirect that closes its connection is followed on a new one", "[http][redirect]") {
    Harness h;
    const auto id = h.start_connected(1, "get", {{"url", "http://h/"}, {"follow-redirects", "true"}});
    REQUIRE(h.host.deliver(h.host.socket(0).id, redirect(302, "/next", "Connection: close\r\n")));
    CHECK_FALSE(h.host.socket(0).open());
    REQUIRE(h.host.socket_count() == 2);
    REQUIRE(h.host.connect(h.host.socket(1).id));
    CHECK(h.host.socket(1).sent.find("GET /next ") == 0);
    REQUIRE(h.host.deliver(h.host.socket(1).id, kOk));
    CHECK(h.host.outcome(id).ok);
}

TEST_CASE("an unusable Location fails with NTX_E_PROTOCOL; a 3xx without one completes", "[http][redirect]") {
    Harness h(R"({"follow-redirects": true})");
    const auto a = h.start_connected(1, "get", {{"url", "http://h/"}});
    REQUIRE(h.host.deliver(h.host.last_socket().id, redirect(302, "ftp://files/x")));
    REQUIRE(h.host.ended(a));
    CHECK(h.host.outcome(a).code == NTX_E_PROTOCOL);

    const auto b = h.start_connected(2, "get", {{"url", "http://h/"}});
    REQUIRE(h.host.deliver(h.host.last_socket().id, "HTTP/1.1 304 Not Modified\r\n\r\n"));
    REQUIRE(h.host.ended(b));
    CHECK(h.host.outcome(b).ok);
    CHECK(h.host.outcome(b).status == 304);
}

TEST_CASE("without NTX_ACTION_WANTS_RESULT redirects are still followed and the status still reported", "[http][redirect]") {
    Harness h;
    h.host.action_flags = 0;
    const auto id = h.start_connected(1, "get", {{"url", "http://h/"}, {"follow-redirects", "true"}});
    REQUIRE(h.host.deliver(h.host.socket(0).id, redirect(302, "/x")));
    REQUIRE(h.host.deliver(h.host.socket(0).id, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"));
    REQUIRE(h.host.ended(id));
    CHECK(h.host.outcome(id).code == NTX_E_STATUS);
    CHECK(h.host.outcome(id).status == 404);
    CHECK(h.host.outcome(id).fields.empty());
}

// ---- https settings --------------------------------------------------------------------------------

TEST_CASE("an https URL opens a TLS socket that verifies by default", "[http][tls]") {
    Harness h;
    const auto id = h.start_connected(1, "get", {{"url", "https://secure.test/x"}});
    auto &s = h.host.socket(0);
    CHECK(s.transport == NTX_TRANSPORT_TLS);
    CHECK(s.port == 443);
    CHECK(s.tls_flags == 0u);
    CHECK(s.tls_server_name == "secure.test");
    CHECK(s.tls_ca_file.empty());
    CHECK(s.sent.find("GET /x HTTP/1.1\r\nHost: secure.test\r\n") == 0);
    REQUIRE(h.host.deliver(s.id, kOk));
    CHECK(h.host.outcome(id).ok);
}

TEST_CASE("tls-verify, ca-file and tls-server-name reach the socket; they key connection reuse", "[http][tls]") {
    const std::string ca = "/tmp/ntx-test-ca-" + std::to_string(::getpid()) + ".pem";
    std::ofstream(ca) << "not read by the fake host\n";
    {
        Harness h(R"({"ca-file": ")" + ca + R"("})");
        const auto a = h.start_connected(1, "get", {{"url", "https://127.0.0.1:8443/"}});
        CHECK(h.host.socket(0).tls_ca_file == ca);
        CHECK(h.host.socket(0).tls_server_name == "127.0.0.1");
        REQUIRE(h.host.deliver(h.host.socket(0).id, kOk));
        CHECK(h.host.outcome(a).ok);

        // Same settings: the kept-alive connection serves the next action.
        const auto b = h.host.run(1, "get", {{"url", "https://127.0.0.1:8443/"}});
        CHECK(h.host.socket_count() == 1);
        REQUIRE(h.host.deliver(h.host.socket(0).id, kOk));
        CHECK(h.host.outcome(b).ok);

        // Verification off: another connection, never the verified one.
        const auto c = h.start_connected(1, "get", {{"url", "https://127.0.0.1:8443/"}, {"tls-verify", "false"}});
        CHECK(h.host.socket_count() == 2);
        CHECK_FALSE(h.host.socket(0).open());
        CHECK(h.host.socket(1).tls_flags == NTX_TLS_NO_VERIFY);
        REQUIRE(h.host.deliver(h.host.socket(1).id, kOk));
        CHECK(h.host.outcome(c).ok);

        // Another name to check: another connection again.
        const auto d = h.start_connected(1, "get", {{"url", "https://127.0.0.1:8443/"}, {"tls-server-name", "localhost"}});
        CHECK(h.host.socket(2).tls_server_name == "localhost");
        CHECK(h.host.socket(2).tls_flags == 0u);
        CHECK(h.host.socket(2).sent.find("Host: 127.0.0.1:8443\r\n") != std::string::npos);
        REQUIRE(h.host.deliver(h.host.socket(2).id, kOk));
        CHECK(h.host.outcome(d).ok);

        // http on the same host and port is not the TLS connection.
        h.start_connected(1, "get", {{"url", "http://127.0.0.1:8443/"}});
        CHECK(h.host.socket(3).transport == NTX_TRANSPORT_TCP);
    }
    std::remove(ca.c_str());
}

TEST_CASE("an unreadable ca-file in the config is refused at init", "[http][tls][config]") {
    FakeHost host{kPluginPath};
    REQUIRE(host.load() == NTX_OK);
    CHECK(host.init(R"({"ca-file": "/nonexistent/ca.pem"})") == NTX_E_INVALID);
    FakeHost other{kPluginPath};
    REQUIRE(other.load() == NTX_OK);
    CHECK(other.init(R"({"tls-verify": "perhaps"})") == NTX_E_INVALID);
}

TEST_CASE("a TLS failure ends the action with NTX_E_TLS and the host's reason", "[http][tls]") {
    Harness h;
    const auto id = h.host.run(1, "get", {{"url", "https://h/"}});
    REQUIRE(h.host.fail_socket(h.host.socket(0).id, NTX_E_TLS, "TLS: certificate verify failed: self-signed certificate"));
    REQUIRE(h.host.ended(id));
    CHECK(h.host.outcome(id).code == NTX_E_TLS);
    CHECK(h.host.outcome(id).reason.find("self-signed certificate") != std::string::npos);
    CHECK(h.host.outcome(id).status == 0);
}

// ---- query params and the connection policy ----------------------------------------------------------

TEST_CASE("query params are percent-encoded and appended to the URL's query", "[http][request]") {
    Harness h;
    h.start_connected(1, "get", {{"url", "http://h/p"}, {"query.a", "1"}, {"query.b", "x y&z=é"}});
    CHECK(h.host.socket(0).sent.find("GET /p?a=1&b=x%20y%26z%3D%C3%A9 HTTP/1.1\r\n") == 0);
    h.start_connected(2, "get", {{"url", "http://h/p?z=0"}, {"query.q", "~ok-_."}});
    CHECK(h.host.last_socket().sent.find("GET /p?z=0&q=~ok-_. HTTP/1.1\r\n") == 0);
}

TEST_CASE("keep-alive false in the config opens a connection per action; an action may keep it", "[http][keepalive]") {
    Harness h(R"({"keep-alive": false})");
    const auto a = h.start_connected(1, "get", {{"url", "http://h/"}});
    CHECK(h.host.socket(0).sent.find("Connection: close\r\n") != std::string::npos);
    REQUIRE(h.host.deliver(h.host.socket(0).id, kOk));
    CHECK(h.host.outcome(a).ok);
    CHECK_FALSE(h.host.socket(0).open());
    const auto b = h.start_connected(1, "get", {{"url", "http://h/"}, {"keep-alive", "true"}});
    CHECK(h.host.socket(1).sent.find("Connection: keep-alive\r\n") != std::string::npos);
    REQUIRE(h.host.deliver(h.host.socket(1).id, kOk));
    CHECK(h.host.outcome(b).ok);
    CHECK(h.host.socket(1).open());
}
