// The http plugin (ntx_http.so) against the fake host: request bytes, incremental response parsing,
// keep-alive, limits, errors and the ABI's ending rules.
#include "support/plugin_harness.hpp"

#include <catch2/catch.hpp>

#include <cstddef>
#include <regex>
#include <string>
#include <vector>

using ntx::test::FakeHost;
using ntx::test::Params;

namespace {

const char *const kPluginPath = NTX_TEST_PLUGIN_DIR "/ntx_http.so";

const std::string kOkResponse =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 5\r\n"
    "\r\n"
    "hello";

const std::string kChunkedResponse =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/plain\r\n"
    "Transfer-Encoding: chunked\r\n"
    "\r\n"
    "5\r\nhello\r\n"
    "6;ext=1\r\n world\r\n"
    "0\r\n"
    "\r\n";

// A host with the plugin loaded and initialized.
struct Harness : ntx::test::PluginHarness {
    explicit Harness(const std::string &config = "{}") : PluginHarness(kPluginPath, config) {}

    FakeHost::ActionId get(uint64_t user, const std::string &url, Params extra = {}) {
        Params p{{"url", url}};
        p.insert(p.end(), extra.begin(), extra.end());
        return host.run(user, "get", std::move(p));
    }

    // User 1's GET (of http://h/ unless `params` say otherwise) on a new connection, answered with
    // `response`: it must end ok.
    FakeHost::ActionId first_get_ok(const std::string &response, Params params = {{"url", "http://h/"}}) {
        const auto id = start_connected(1, "get", std::move(params));
        REQUIRE(host.deliver(host.last_socket().id, response));
        REQUIRE(host.outcome(id).ok);
        return id;
    }

    // User 1's GET of http://h/ on a new connection, fed `response` in events of at most `fragment`
    // bytes: it must end, failed with `code`.
    FakeHost::ActionId first_get_fails(const std::string &response, ntx_status_t code,
                                       std::size_t fragment = std::numeric_limits<std::size_t>::max()) {
        const auto id = start_connected(1, "get", {{"url", "http://h/"}});
        REQUIRE(host.deliver(host.last_socket().id, response, fragment));
        REQUIRE(host.ended(id));
        CHECK(host.outcome(id).code == code);
        return id;
    }

    // User 1's `call` on the connection `sock` it keeps alive, answered with a 200: it must end ok.
    void ok_on(ntx_socket_t sock, const std::string &call, Params params) {
        const auto id = host.run(1, call, std::move(params));
        REQUIRE(host.run_status(id) == NTX_OK);
        REQUIRE(host.deliver(sock, kOkResponse));
        REQUIRE(host.outcome(id).ok);
    }

    // User 1's next GET of http://h/ opens a second connection, and a 200 on it ends the action ok.
    void next_get_ok_on_a_new_connection() {
        const auto id = get(1, "http://h/");
        REQUIRE(host.socket_count() == 2);
        REQUIRE(host.connect(host.socket(1).id));
        REQUIRE(host.deliver(host.socket(1).id, kOkResponse));
        CHECK(host.outcome(id).ok);
    }
};

std::string expected_get(const std::string &target, const std::string &host_header, const std::string &connection) {
    return "GET " + target + " HTTP/1.1\r\nHost: " + host_header + "\r\nUser-Agent: ntx/0.1\r\nAccept-Encoding: gzip, deflate, br\r\nConnection: " +
           connection + "\r\n\r\n";
}

}  // namespace

TEST_CASE("entry fills name, version, capabilities and hooks", "[http][abi]") {
    FakeHost host(kPluginPath);
    REQUIRE(host.load() == NTX_OK);
    const ntx_plugin_api_t &p = host.plugin();
    CHECK(p.abi_major == NTX_ABI_MAJOR);
    CHECK(p.abi_minor == NTX_ABI_MINOR);
    REQUIRE(p.name != nullptr);
    CHECK(std::string(p.name) == "http");
    REQUIRE(p.version != nullptr);
    CHECK(std::string(p.version) == "0.2.3");
    REQUIRE(p.capability_count == 6);
    std::vector<std::string> caps(p.capabilities, p.capabilities + p.capability_count);
    CHECK(caps == std::vector<std::string>{"get", "post", "put", "patch", "delete", "head"});
    CHECK(p.init != nullptr);
    CHECK(p.run_action != nullptr);
    CHECK(p.on_error != nullptr);
    CHECK(p.user_release != nullptr);
    CHECK(p.release != nullptr);
}

TEST_CASE("entry refuses a host with another ABI major", "[http][abi]") {
    FakeHost host(kPluginPath);
    host.host_api().abi_major = NTX_ABI_MAJOR + 1;
    CHECK(host.load() == NTX_E_ABI);
    CHECK(host.plugin().name == nullptr);
}

TEST_CASE("entry refuses a plugin table too small for the 1.0 hooks and writes nothing", "[http][abi]") {
    FakeHost host(kPluginPath);
    CHECK(host.load(static_cast<uint32_t>(offsetof(ntx_plugin_api_t, on_error))) == NTX_E_ABI);
    CHECK(host.plugin().name == nullptr);
    CHECK(host.plugin().init == nullptr);
}

TEST_CASE("init rejects a malformed config and accepts unknown keys", "[http][config]") {
    {
        FakeHost host(kPluginPath);
        REQUIRE(host.load() == NTX_OK);
        CHECK(host.init("{\"max-header-bytes\": \"big\"}") == NTX_E_INVALID);
    }
    {
        FakeHost host(kPluginPath);
        REQUIRE(host.load() == NTX_OK);
        CHECK(host.init("{not json") == NTX_E_INVALID);
    }
    {
        FakeHost host(kPluginPath);
        REQUIRE(host.load() == NTX_OK);
        CHECK(host.init("{\"whatever\": [1,2], \"connect-timeout-ms\": 1234}") == NTX_OK);
        host.run(1, "get", {{"url", "http://h/"}});
        REQUIRE(host.socket_count() == 1);
        CHECK(host.socket(0).connect_timeout_ms == 1234);
    }
}

TEST_CASE("GET request bytes are well-formed", "[http][request]") {
    Harness h;
    const auto id = h.get(1, "http://example.test:8080/a/b?x=1&y=2#frag");
    REQUIRE(h.host.run_status(id) == NTX_OK);
    REQUIRE(h.host.socket_count() == 1);
    auto &s = h.host.socket(0);
    CHECK(s.transport == NTX_TRANSPORT_TCP);
    CHECK(s.host == "example.test");
    CHECK(s.port == 8080);
    CHECK(s.connect_timeout_ms == 5000);
    CHECK(s.sent.empty());  // nothing before NTX_SOCKET_CONNECTED

    REQUIRE(h.host.connect(s.id));
    CHECK(s.sent == expected_get("/a/b?x=1&y=2", "example.test:8080", "keep-alive"));
    CHECK(s.send_calls == 1);
    CHECK_FALSE(h.host.ended(id));
}

TEST_CASE("request headers, bodies, user agent and Connection: close", "[http][request]") {
    SECTION("default port, no path, custom headers") {
        Harness h;
        h.start_connected(1, "get", {{"url", "http://example.test"}, {"headers.X-Trace", "abc"}, {"headers.Accept", "*/*"}});
        const std::string &sent = h.host.last_socket().sent;
        CHECK(sent.rfind("GET / HTTP/1.1\r\nHost: example.test\r\n", 0) == 0);
        CHECK(sent.find("X-Trace: abc\r\n") != std::string::npos);
        CHECK(sent.find("Accept: */*\r\n") != std::string::npos);
        CHECK(sent.find("Content-Length") == std::string::npos);
        CHECK(sent.size() >= 4);
        CHECK(sent.substr(sent.size() - 4) == "\r\n\r\n");
    }
    SECTION("POST with a body") {
        Harness h;
        h.start_connected(1, "post", {{"url", "http://h:81/submit"}, {"body", "{\"a\":1}"},
                                      {"headers.Content-Type", "application/json"}});
        CHECK(h.host.last_socket().sent ==
              "POST /submit HTTP/1.1\r\nHost: h:81\r\nUser-Agent: ntx/0.1\r\nContent-Type: application/json\r\n"
              "Content-Length: 7\r\nAccept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\n\r\n{\"a\":1}");
    }
    SECTION("PUT and PATCH without body send Content-Length: 0") {
        Harness h;
        h.start_connected(1, "put", {{"url", "http://h/x"}});
        CHECK(h.host.last_socket().sent.find("PUT /x HTTP/1.1\r\n") == 0);
        CHECK(h.host.last_socket().sent.find("Content-Length: 0\r\n") != std::string::npos);
        h.start_connected(2, "patch", {{"url", "http://h/x"}});
        CHECK(h.host.last_socket().sent.find("PATCH /x HTTP/1.1\r\n") == 0);
        CHECK(h.host.last_socket().sent.find("Content-Length: 0\r\n") != std::string::npos);
        h.start_connected(3, "delete", {{"url", "http://h/x"}});
        CHECK(h.host.last_socket().sent.find("DELETE /x HTTP/1.1\r\n") == 0);
        CHECK(h.host.last_socket().sent.find("Content-Length") == std::string::npos);
    }
    SECTION("keep-alive false and configured user agent") {
        Harness h("{\"user-agent\": \"probe/2\"}");
        h.start_connected(1, "get", {{"url", "http://[::1]:9000/"}, {"keep-alive", "false"}});
        CHECK(h.host.last_socket().host == "::1");
        CHECK(h.host.last_socket().sent ==
              "GET / HTTP/1.1\r\nHost: [::1]:9000\r\nUser-Agent: probe/2\r\nAccept-Encoding: gzip, deflate, br\r\nConnection: close\r\n\r\n");
    }
    SECTION("a Host header from the script replaces the default one") {
        Harness h;
        h.start_connected(1, "get", {{"url", "http://10.0.0.1/"}, {"headers.host", "virtual.test"}});
        CHECK(h.host.last_socket().sent.find("Host: virtual.test\r\n") != std::string::npos);
        CHECK(h.host.last_socket().sent.find("10.0.0.1") == std::string::npos);
    }
}

TEST_CASE("bad parameters fail the action with a reason, through a timer", "[http][request]") {
    Harness h;
    struct Case {
        std::string call;
        Params params;
        ntx_status_t code;
        std::string reason_part;
    };
    const std::vector<Case> cases{
        {"get", {{"url", "https://h/"}, {"tls-verify", "no"}}, NTX_E_INVALID, "tls-verify"},
        {"get", {{"url", "http://h/"}, {"follow-redirects", "1"}}, NTX_E_INVALID, "follow-redirects"},
        {"get", {{"url", "http://h/"}, {"max-redirects", "101"}}, NTX_E_INVALID, "max-redirects"},
        {"get", {{"url", "http://h/"}, {"keep-on-redirect", "X-A,,X-B"}}, NTX_E_INVALID, "keep-on-redirect"},
        {"get", {{"url", "http://h/"}, {"keep-on-redirect", "X A"}}, NTX_E_INVALID, "keep-on-redirect"},
        {"get", {{"url", "http://h/"}, {"query.", "x"}}, NTX_E_INVALID, "query"},
        {"get", {{"url", "https://h/"}, {"tls-server-name", "a b"}}, NTX_E_INVALID, "tls-server-name"},
        {"get", {}, NTX_E_INVALID, "url"},
        {"get", {{"url", "ftp://h/"}}, NTX_E_INVALID, "scheme"},
        {"get", {{"url", "http://h:99999/"}}, NTX_E_INVALID, "port"},
        {"get", {{"url", "http:///path"}}, NTX_E_INVALID, "host"},
        {"get", {{"url", "http://h/a b"}}, NTX_E_INVALID, "percent"},
        {"get", {{"url", "http://h/"}, {"keep-alive", "maybe"}}, NTX_E_INVALID, "keep-alive"},
        {"get", {{"url", "http://h/"}, {"headers.X-Bad", "a\r\nInjected: 1"}}, NTX_E_INVALID, "X-Bad"},
        {"get", {{"url", "http://h/"}, {"headers.Content-Length", "3"}}, NTX_E_INVALID, "Content-Length"},
        {"trace", {{"url", "http://h/"}}, NTX_E_UNSUPPORTED, "trace"},
    };
    uint64_t user = 1;
    for (const Case &c : cases) {
        INFO(c.call << " " << (c.params.empty() ? std::string("-") : c.params.front().second));
        const auto id = h.host.run(user++, c.call, c.params);
        CHECK(h.host.run_status(id) == NTX_OK);
        CHECK_FALSE(h.host.ended(id));  // not inside run_action
        CHECK(h.host.fire_due_timers() == 1);
        REQUIRE(h.host.ended(id));
        CHECK_FALSE(h.host.outcome(id).ok);
        CHECK(h.host.outcome(id).code == c.code);
        CHECK(h.host.outcome(id).reason.find(c.reason_part) != std::string::npos);
    }
    CHECK(h.host.socket_count() == 0);
}

TEST_CASE("a response split at every byte boundary still parses", "[http][parse]") {
    const std::string chunked_body = "hello world";
    for (const auto &[response, body] : {std::pair{kOkResponse, std::string("hello")}, std::pair{kChunkedResponse, chunked_body}}) {
        Harness h;
        // One keep-alive connection carries every attempt.
        for (std::size_t cut = 1; cut < response.size(); ++cut) {
            INFO("cut at " << cut);
            const auto id = h.get(1, "http://h/");
            if (cut == 1) {
                REQUIRE(h.host.connect(h.host.socket(0).id));
            }
            REQUIRE(h.host.socket_count() == 1);
            REQUIRE(h.host.deliver_split(h.host.socket(0).id, response, {cut}));
            REQUIRE(h.host.ended(id));
            CHECK(h.host.outcome(id).ok);
            CHECK(h.host.outcome(id).field("status") == "200");
            CHECK(h.host.outcome(id).field("body") == body);
        }
        // Every cut at once: one byte per event.
        const auto id = h.get(1, "http://h/");
        REQUIRE(h.host.deliver(h.host.socket(0).id, response, 1));
        REQUIRE(h.host.ended(id));
        CHECK(h.host.outcome(id).ok);
        CHECK(h.host.outcome(id).field("body") == body);
        CHECK(h.host.outcome(id).bytes_received == response.size());
        CHECK(h.host.socket(0).open());
    }
}

TEST_CASE("a body delimited by the connection's close", "[http][parse]") {
    Harness h;
    const std::string response = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end";
    for (std::size_t fragment : {std::size_t{1}, std::size_t{7}, response.size()}) {
        INFO("fragment " << fragment);
        const auto id = h.start_connected(1, "get", {{"url", "http://h/"}});
        REQUIRE(h.host.deliver(h.host.last_socket().id, response, fragment));
        CHECK_FALSE(h.host.ended(id));
        REQUIRE(h.host.peer_close(h.host.last_socket().id));
        REQUIRE(h.host.ended(id));
        CHECK(h.host.outcome(id).ok);
        CHECK(h.host.outcome(id).field("body") == "until the end");
    }
}

TEST_CASE("keep-alive reuses the socket for the same host and port", "[http][keepalive]") {
    Harness h;
    const auto a = h.start_connected(1, "get", {{"url", "http://h:8080/one"}});
    const ntx_socket_t sock = h.host.socket(0).id;
    REQUIRE(h.host.deliver(sock, kOkResponse));
    REQUIRE(h.host.outcome(a).ok);
    CHECK(h.host.socket(0).open());

    const auto b = h.get(1, "http://h:8080/two");
    CHECK(h.host.socket_count() == 1);  // no second socket_open
    CHECK(h.host.socket(0).sent ==
          expected_get("/one", "h:8080", "keep-alive") + expected_get("/two", "h:8080", "keep-alive"));
    REQUIRE(h.host.deliver(sock, kChunkedResponse, 3));
    REQUIRE(h.host.outcome(b).ok);
    CHECK(h.host.outcome(b).field("time.connect_ms") == "0.000");

    SECTION("another user gets its own connection") {
        h.get(2, "http://h:8080/three");
        CHECK(h.host.socket_count() == 2);
    }
    SECTION("another port closes the old connection and opens a new one") {
        h.get(1, "http://h:8081/three");
        REQUIRE(h.host.socket_count() == 2);
        CHECK(h.host.socket(0).closed_by_plugin);
        CHECK(h.host.socket(1).port == 8081);
    }
}

TEST_CASE("Connection: close in the response closes the socket; the next action opens a new one", "[http][keepalive]") {
    Harness h;
    h.first_get_ok("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
    CHECK(h.host.socket(0).closed_by_plugin);
    h.next_get_ok_on_a_new_connection();
}

TEST_CASE("bytes trailing a complete response make the connection unusable", "[http][keepalive]") {
    Harness h;
    const auto a = h.first_get_ok(kOkResponse + "HTTP/1.1 200 OK\r\n");
    CHECK(h.host.outcome(a).field("body") == "hello");
    CHECK(h.host.socket(0).closed_by_plugin);
    h.get(1, "http://h/");
    CHECK(h.host.socket_count() == 2);
}

TEST_CASE("keep-alive false opens a connection per action and closes it after the response", "[http][keepalive]") {
    Harness h;
    for (int i = 0; i < 3; ++i) {
        const auto id = h.start_connected(1, "get", {{"url", "http://h/"}, {"keep-alive", "false"}});
        REQUIRE(h.host.deliver(h.host.last_socket().id, kOkResponse));
        REQUIRE(h.host.outcome(id).ok);
        CHECK(h.host.last_socket().closed_by_plugin);
    }
    CHECK(h.host.socket_count() == 3);
    CHECK(h.host.open_socket_count() == 0);
}

TEST_CASE("a stale kept-alive connection is retried once on a new socket", "[http][keepalive]") {
    Harness h;
    h.first_get_ok(kOkResponse);
    const std::string request = expected_get("/", "h", "keep-alive");

    const auto b = h.get(1, "http://h/");
    REQUIRE(h.host.socket_count() == 1);

    SECTION("closed before any byte: transparent retry succeeds") {
        REQUIRE(h.host.peer_close(h.host.socket(0).id));
        CHECK_FALSE(h.host.ended(b));
        REQUIRE(h.host.socket_count() == 2);
        REQUIRE(h.host.connect(h.host.socket(1).id));
        CHECK(h.host.socket(1).sent == request);
        REQUIRE(h.host.deliver(h.host.socket(1).id, kOkResponse, 4));
        REQUIRE(h.host.ended(b));
        CHECK(h.host.outcome(b).ok);
        CHECK(h.host.outcome(b).bytes_sent == 2 * request.size());  // both attempts went on the wire
        CHECK(h.host.outcome(b).bytes_received == kOkResponse.size());
    }
    SECTION("reset before any byte: also retried") {
        REQUIRE(h.host.fail_socket(h.host.socket(0).id, NTX_E_IO));
        REQUIRE(h.host.socket_count() == 2);
        REQUIRE(h.host.connect(h.host.socket(1).id));
        REQUIRE(h.host.deliver(h.host.socket(1).id, kOkResponse));
        CHECK(h.host.outcome(b).ok);
    }
    SECTION("only once: the fresh connection closing too fails the action") {
        REQUIRE(h.host.peer_close(h.host.socket(0).id));
        REQUIRE(h.host.connect(h.host.socket(1).id));
        REQUIRE(h.host.peer_close(h.host.socket(1).id));
        REQUIRE(h.host.ended(b));
        CHECK(h.host.outcome(b).code == NTX_E_CLOSED);
        CHECK(h.host.socket_count() == 2);
    }
    SECTION("no retry once a byte of the response arrived") {
        REQUIRE(h.host.deliver(h.host.socket(0).id, "HTTP/1.1 2"));
        REQUIRE(h.host.peer_close(h.host.socket(0).id));
        REQUIRE(h.host.ended(b));
        CHECK(h.host.outcome(b).code == NTX_E_CLOSED);
        CHECK(h.host.socket_count() == 1);
    }
}

TEST_CASE("the server closing an idle kept-alive connection between actions", "[http][keepalive]") {
    Harness h;
    h.first_get_ok(kOkResponse);

    SECTION("closed") { REQUIRE(h.host.peer_close(h.host.socket(0).id)); }
    SECTION("error") { REQUIRE(h.host.fail_socket(h.host.socket(0).id, NTX_E_IO)); }
    SECTION("unsolicited bytes (408) make it unusable") {
        REQUIRE(h.host.deliver(h.host.socket(0).id, "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n"));
        CHECK(h.host.socket(0).closed_by_plugin);
    }

    h.next_get_ok_on_a_new_connection();
}

TEST_CASE("a header block over max-header-bytes fails with NTX_E_LIMIT", "[http][limits]") {
    Harness h("{\"max-header-bytes\": 128}");
    h.first_get_fails("HTTP/1.1 200 OK\r\nX-Big: " + std::string(300, 'a') + "\r\nContent-Length: 0\r\n\r\n",
                      NTX_E_LIMIT, 16);
    CHECK(h.host.socket(0).closed_by_plugin);

    SECTION("a header block just under the limit passes") {
        const auto ok = h.start_connected(1, "get", {{"url", "http://h/"}});
        REQUIRE(h.host.deliver(h.host.socket(1).id, kOkResponse, 1));
        CHECK(h.host.outcome(ok).ok);
    }
}

TEST_CASE("a body over max-body-bytes fails with NTX_E_LIMIT", "[http][limits]") {
    Harness h("{\"max-body-bytes\": 4}");
    SECTION("content-length") {
        h.first_get_fails(kOkResponse, NTX_E_LIMIT);
        CHECK(h.host.socket(0).closed_by_plugin);
    }
    SECTION("chunked, byte by byte") {
        h.first_get_fails(kChunkedResponse, NTX_E_LIMIT, 1);
    }
    SECTION("within the limit") {
        const auto id = h.start_connected(1, "get", {{"url", "http://h/"}});
        REQUIRE(h.host.deliver(h.host.socket(0).id, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfour"));
        CHECK(h.host.outcome(id).ok);
    }
    SECTION("delimited by the close") {
        h.first_get_fails("HTTP/1.1 200 OK\r\n\r\nfive!", NTX_E_LIMIT, 2);
    }
}

TEST_CASE("a garbage response fails with NTX_E_PROTOCOL", "[http][errors]") {
    Harness h;
    h.first_get_fails("SSH-2.0-OpenSSH_9.2\r\n\r\n", NTX_E_PROTOCOL);
    CHECK(h.host.socket(0).closed_by_plugin);

    const auto bad_chunk = h.start_connected(1, "get", {{"url", "http://h/"}});
    REQUIRE(h.host.deliver(h.host.socket(1).id, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"));
    REQUIRE(h.host.ended(bad_chunk));
    CHECK(h.host.outcome(bad_chunk).code == NTX_E_PROTOCOL);
}

TEST_CASE("a 503 fails with NTX_E_STATUS and a full result", "[http][status]") {
    Harness h;
    const auto id = h.start_connected(1, "get", {{"url", "http://h/"}});
    REQUIRE(h.host.deliver(h.host.socket(0).id,
                           "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\nRetry-After: 1\r\n\r\nbusy"));
    REQUIRE(h.host.ended(id));
    const auto &o = h.host.outcome(id);
    CHECK_FALSE(o.ok);
    CHECK(o.code == NTX_E_STATUS);
    CHECK(o.reason == "HTTP 503");
    REQUIRE(o.has_result);
    CHECK(o.field("status") == "503");
    CHECK(o.field("reason") == "Service Unavailable");
    CHECK(o.field("body") == "busy");
    CHECK(o.field("headers.retry-after") == "1");
    CHECK(h.host.socket(0).open());  // the connection itself is fine
}

TEST_CASE("a 3xx completes (status < 400)", "[http][status]") {
    Harness h;
    const auto id = h.start_connected(1, "get", {{"url", "http://h/"}});
    REQUIRE(h.host.deliver(h.host.socket(0).id, "HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n"));
    REQUIRE(h.host.outcome(id).ok);
    CHECK(h.host.outcome(id).field("headers.location") == "/x");
}

TEST_CASE("HEAD with Content-Length and no body completes", "[http][head]") {
    Harness h;
    const auto id = h.start_connected(1, "head", {{"url", "http://h/big"}});
    CHECK(h.host.socket(0).sent.rfind("HEAD /big HTTP/1.1\r\n", 0) == 0);
    REQUIRE(h.host.deliver(h.host.socket(0).id, "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", 5));
    REQUIRE(h.host.ended(id));
    CHECK(h.host.outcome(id).ok);
    CHECK(h.host.outcome(id).field("headers.content-length") == "1234");
    CHECK(h.host.outcome(id).field("body").empty());

    // The connection is still in sync: the next GET reuses it and parses its body.
    const auto next = h.get(1, "http://h/");
    CHECK(h.host.socket_count() == 1);
    REQUIRE(h.host.deliver(h.host.socket(0).id, kOkResponse));
    CHECK(h.host.outcome(next).field("body") == "hello");
}

TEST_CASE("interim 1xx responses are skipped", "[http][parse]") {
    Harness h;
    const auto id = h.start_connected(1, "post", {{"url", "http://h/"}, {"body", "x"}});
    REQUIRE(h.host.deliver(h.host.socket(0).id, "HTTP/1.1 100 Continue\r\n\r\n" + kOkResponse, 2));
    REQUIRE(h.host.ended(id));
    CHECK(h.host.outcome(id).field("status") == "200");
    CHECK(h.host.outcome(id).field("body") == "hello");
}

TEST_CASE("on_error closes the socket and later events for it are harmless", "[http][cancel]") {
    Harness h;
    SECTION("while waiting for the response") {
        const auto id = h.start_connected(1, "get", {{"url", "http://h/"}});
        REQUIRE(h.host.deliver(h.host.socket(0).id, "HTTP/1.1 200 OK\r\nContent-Le"));
        h.host.cancel(id, NTX_E_TIMEOUT);
        CHECK(h.host.socket(0).closed_by_plugin);
    }
    SECTION("while connecting") {
        const auto id = h.get(1, "http://h/");
        h.host.cancel(id, NTX_E_CANCELLED);
        CHECK(h.host.socket(0).closed_by_plugin);
    }
    // The ABI says no callback follows socket_close; deliver anyway (a racing host).
    h.host.force_events = true;
    const ntx_socket_t old = h.host.socket(0).id;
    CHECK(h.host.connect(old));
    CHECK(h.host.deliver(old, kOkResponse, 3));
    CHECK(h.host.peer_close(old));
    CHECK(h.host.fail_socket(old, NTX_E_IO));
    h.host.force_events = false;
    CHECK(h.host.outcome(0).ended_by_host);  // no second outcome (a violation would be recorded)

    // The user goes on with a fresh connection.
    const auto next = h.start_connected(1, "get", {{"url", "http://h/"}});
    REQUIRE(h.host.deliver(h.host.last_socket().id, kOkResponse));
    CHECK(h.host.outcome(next).ok);
}

TEST_CASE("on_error before a deferred failure fires cancels it", "[http][cancel]") {
    Harness h;
    const auto id = h.host.run(1, "get", {{"url", "https://h/"}});
    h.host.cancel(id, NTX_E_CANCELLED);
    CHECK(h.host.fire_due_timers() == 0);
    CHECK(h.host.pending_timer_count() == 0);
}

TEST_CASE("result fields: status, reason, body, headers, timings", "[http][result]") {
    Harness h;
    const auto id = h.start_connected(1, "get", {{"url", "http://h/"}});
    REQUIRE(h.host.deliver(h.host.socket(0).id,
                           "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Dup: a\r\nx-dup: b\r\n"
                           "Content-Length: 2\r\n\r\n{}"));
    REQUIRE(h.host.ended(id));
    const auto &o = h.host.outcome(id);
    REQUIRE(o.ok);
    REQUIRE(o.has_result);
    CHECK(o.field("status") == "200");
    CHECK(o.field("reason") == "OK");
    CHECK(o.field("body") == "{}");
    CHECK(o.field("headers.content-type") == "application/json");
    CHECK(o.field("headers.content-length") == "2");
    CHECK(o.field("headers.x-dup") == "a, b");
    const std::regex ms(R"(\d+\.\d{3})");
    for (const char *key : {"time.connect_ms", "time.first_byte_ms", "time.total_ms"}) {
        INFO(key);
        REQUIRE(o.has(key));
        CHECK(std::regex_match(o.field(key), ms));
    }
    CHECK(std::stod(o.field("time.first_byte_ms")) <= std::stod(o.field("time.total_ms")));
}

TEST_CASE("bytes_sent and bytes_received count the wire bytes", "[http][result]") {
    Harness h;
    const auto id = h.start_connected(1, "post", {{"url", "http://h/p"}, {"body", "0123456789"}});
    const std::string request = h.host.socket(0).sent;
    REQUIRE(h.host.deliver(h.host.socket(0).id, kChunkedResponse, 7));
    REQUIRE(h.host.ended(id));
    CHECK(h.host.outcome(id).bytes_sent == request.size());
    CHECK(h.host.outcome(id).bytes_received == kChunkedResponse.size());
    CHECK(request.size() == std::string("POST /p HTTP/1.1\r\nHost: h\r\nUser-Agent: ntx/0.1\r\n"
                                        "Content-Length: 10\r\nAccept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\n\r\n0123456789")
                                .size());
}

TEST_CASE("socket errors and early closes", "[http][errors]") {
    Harness h;
    SECTION("connect failure carries the event's status") {
        const auto id = h.get(1, "http://h/");
        REQUIRE(h.host.fail_socket(h.host.socket(0).id, NTX_E_CONNECT));
        REQUIRE(h.host.ended(id));
        CHECK(h.host.outcome(id).code == NTX_E_CONNECT);
        CHECK(h.host.socket_count() == 1);  // a fresh connection is not retried
    }
    SECTION("a fresh connection closed mid-body") {
        const auto id = h.start_connected(1, "get", {{"url", "http://h/"}});
        REQUIRE(h.host.deliver(h.host.socket(0).id, kOkResponse.substr(0, kOkResponse.size() - 2)));
        REQUIRE(h.host.peer_close(h.host.socket(0).id));
        REQUIRE(h.host.ended(id));
        CHECK(h.host.outcome(id).code == NTX_E_CLOSED);
    }
    SECTION("a fresh connection closed before any byte") {
        const auto id = h.start_connected(1, "get", {{"url", "http://h/"}});
        REQUIRE(h.host.peer_close(h.host.socket(0).id));
        CHECK(h.host.outcome(id).code == NTX_E_CLOSED);
        CHECK(h.host.socket_count() == 1);
    }
    SECTION("a reset mid-response carries the event's status") {
        const auto id = h.start_connected(1, "get", {{"url", "http://h/"}});
        REQUIRE(h.host.deliver(h.host.socket(0).id, "HTTP/1.1 200 OK\r\n"));
        REQUIRE(h.host.fail_socket(h.host.socket(0).id, NTX_E_IO));
        REQUIRE(h.host.ended(id));
        CHECK(h.host.outcome(id).code == NTX_E_IO);
        CHECK(h.host.outcome(id).bytes_received == 17);
    }
    SECTION("socket_open refused") {
        h.host.socket_open_result = NTX_E_DENIED;
        const auto id = h.get(1, "http://h/");
        CHECK(h.host.run_status(id) == NTX_OK);
        CHECK(h.host.fire_due_timers() == 1);
        CHECK(h.host.outcome(id).code == NTX_E_DENIED);
    }
}

TEST_CASE("the next action may start from inside action_complete", "[http][reentrancy]") {
    Harness h;
    std::vector<FakeHost::ActionId> started;
    h.host.on_action_end = [&](FakeHost::ActionId id) {
        if (started.size() < 3 && h.host.outcome(id).ok) started.push_back(h.get(1, "http://h/"));
    };
    const auto first = h.start_connected(1, "get", {{"url", "http://h/"}});
    REQUIRE(h.host.deliver(h.host.socket(0).id, kOkResponse));
    REQUIRE(h.host.outcome(first).ok);
    REQUIRE(started.size() == 1);
    for (std::size_t i = 0; i < 3; ++i) {
        REQUIRE(h.host.deliver(h.host.socket(0).id, kOkResponse));
        REQUIRE(h.host.outcome(started[i]).ok);
    }
    h.host.on_action_end = nullptr;
    CHECK(h.host.socket_count() == 1);
}

TEST_CASE("the user may be released from inside action_complete", "[http][reentrancy]") {
    Harness h;
    h.host.on_action_end = [&](FakeHost::ActionId) { h.host.release_user(1); };
    const auto id = h.start_connected(1, "get", {{"url", "http://h/"}});
    REQUIRE(h.host.deliver(h.host.socket(0).id, kOkResponse));
    CHECK(h.host.outcome(id).ok);
    CHECK(h.host.user_data(1) == nullptr);
    CHECK(h.host.open_socket_count() == 0);
}

TEST_CASE("user_release closes the user's connection", "[http][lifecycle]") {
    Harness h;
    const auto id = h.start_connected(1, "get", {{"url", "http://h/"}});
    REQUIRE(h.host.deliver(h.host.socket(0).id, kOkResponse));
    REQUIRE(h.host.outcome(id).ok);
    CHECK(h.host.open_socket_count() == 1);
    h.host.release_user(1);
    CHECK(h.host.open_socket_count() == 0);
}

// ---- host table from init, result flags, prepared requests -----------------------------------------

namespace {

std::size_t prepared_count(const FakeHost &host) {
    std::size_t n = 0;
    for (const auto &line : host.logs()) n += line.find("http: request prepared") != std::string::npos ? 1 : 0;
    return n;
}

ntx_status_t refuse_socket_open(ntx_host_t *, ntx_loop_t *, const ntx_socket_opts_t *, ntx_socket_t *) {
    return NTX_E_DENIED;
}

}  // namespace

TEST_CASE("init keeps the host table of its own ctx, not the last entry call's", "[http][abi]") {
    // Two hosts in one process share the one loaded library; the second entry call must not redirect
    // the first host's plugin state to the second host's table.
    FakeHost first(kPluginPath);
    FakeHost second(kPluginPath);
    second.host_api().socket_open = &refuse_socket_open;
    REQUIRE(first.load() == NTX_OK);
    REQUIRE(second.load() == NTX_OK);
    REQUIRE(first.init() == NTX_OK);
    REQUIRE(second.init() == NTX_OK);

    const auto a = first.run(1, "get", {{"url", "http://h/"}});
    CHECK(first.run_status(a) == NTX_OK);
    REQUIRE(first.socket_count() == 1);
    REQUIRE(first.connect(first.socket(0).id));
    REQUIRE(first.deliver(first.socket(0).id, kOkResponse));
    CHECK(first.outcome(a).ok);

    const auto b = second.run(1, "get", {{"url", "http://h/"}});
    CHECK(second.fire_due_timers() == 1);
    REQUIRE(second.ended(b));
    CHECK(second.outcome(b).code == NTX_E_DENIED);
    CHECK(first.violations().empty());
    CHECK(second.violations().empty());
}

TEST_CASE("init without a host table in its ctx is refused", "[http][abi]") {
    FakeHost host(kPluginPath);
    REQUIRE(host.load() == NTX_OK);
    host.override_init_host_api = true;
    host.init_host_api = nullptr;
    CHECK(host.init() == NTX_E_ABI);
    CHECK(host.plugin_state() == nullptr);
}

TEST_CASE("without NTX_ACTION_WANTS_RESULT the result has byte counts and no fields", "[http][result]") {
    Harness h;
    h.host.action_flags = 0;
    SECTION("success") {
        const auto id = h.start_connected(1, "get", {{"url", "http://h/"}});
        const std::size_t sent = h.host.socket(0).sent.size();
        REQUIRE(h.host.deliver(h.host.socket(0).id, kChunkedResponse, 5));
        REQUIRE(h.host.ended(id));
        const auto &o = h.host.outcome(id);
        CHECK(o.ok);
        REQUIRE(o.has_result);
        CHECK(o.fields.empty());
        CHECK(o.bytes_sent == sent);
        CHECK(o.bytes_received == kChunkedResponse.size());
        CHECK(h.host.socket(0).open());  // keep-alive is still honoured
    }
    SECTION("a failure status keeps its code and reason") {
        const auto id = h.start_connected(1, "get", {{"url", "http://h/"}});
        const std::string response = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy";
        REQUIRE(h.host.deliver(h.host.socket(0).id, response));
        const auto &o = h.host.outcome(id);
        CHECK(o.code == NTX_E_STATUS);
        CHECK(o.reason == "HTTP 503");
        CHECK(o.fields.empty());
        CHECK(o.bytes_received == response.size());
    }
    SECTION("a socket error") {
        const auto id = h.start_connected(1, "get", {{"url", "http://h/"}});
        REQUIRE(h.host.deliver(h.host.socket(0).id, "HTTP/1.1 200 OK\r\n"));
        REQUIRE(h.host.fail_socket(h.host.socket(0).id, NTX_E_IO));
        const auto &o = h.host.outcome(id);
        CHECK(o.code == NTX_E_IO);
        CHECK(o.fields.empty());
        CHECK(o.bytes_received == 17);
    }
    SECTION("limits are still enforced") {
        const auto id = h.start_connected(1, "get", {{"url", "http://h/"}});
        REQUIRE(h.host.deliver(h.host.socket(0).id,
                               "HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n"));
        CHECK(h.host.outcome(id).code == NTX_E_LIMIT);
    }
    SECTION("HEAD and interim responses") {
        const auto head = h.start_connected(1, "head", {{"url", "http://h/"}});
        REQUIRE(h.host.deliver(h.host.socket(0).id, "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"));
        CHECK(h.host.outcome(head).ok);
        const auto post = h.host.run(1, "post", {{"url", "http://h/"}, {"body", "x"}});
        REQUIRE(h.host.deliver(h.host.socket(0).id, "HTTP/1.1 100 Continue\r\n\r\n" + kOkResponse, 3));
        CHECK(h.host.outcome(post).ok);
        CHECK(h.host.socket_count() == 1);
    }
}

TEST_CASE("the result flag may change between actions on one connection", "[http][result]") {
    Harness h;
    const std::string big =
        "HTTP/1.1 200 OK\r\nX-One: 1\r\nX-Two: 2\r\nX-Two: 3\r\nContent-Length: 5\r\n\r\nfirst";
    const auto a = h.start_connected(1, "get", {{"url", "http://h/"}});
    REQUIRE(h.host.deliver(h.host.socket(0).id, big));
    CHECK(h.host.outcome(a).field("headers.x-two") == "2, 3");
    CHECK(h.host.outcome(a).field("body") == "first");

    h.host.action_flags = 0;
    const auto b = h.get(1, "http://h/");
    REQUIRE(h.host.deliver(h.host.socket(0).id, big));
    CHECK(h.host.outcome(b).fields.empty());

    // Fields kept from an earlier, larger response must not leak into a smaller one.
    h.host.action_flags = NTX_ACTION_WANTS_RESULT;
    const auto c = h.get(1, "http://h/");
    REQUIRE(h.host.deliver(h.host.socket(0).id, "HTTP/1.1 201 Created\r\nX-One: uno\r\nContent-Length: 0\r\n\r\n"));
    const auto &o = h.host.outcome(c);
    CHECK(o.field("status") == "201");
    CHECK(o.field("reason") == "Created");
    CHECK(o.field("headers.x-one") == "uno");
    CHECK_FALSE(o.has("headers.x-two"));
    CHECK(o.field("body").empty());
    CHECK(o.field("protocol") == "http/1.1");
    CHECK(o.fields.size() == 11);  // status, reason, 2 headers, body, redirects, url, protocol, 3 timings
    CHECK(h.host.socket_count() == 1);
}

TEST_CASE("fields of an interim 1xx response are not the final response's", "[http][result]") {
    Harness h;
    const auto id = h.start_connected(1, "get", {{"url", "http://h/"}});
    REQUIRE(h.host.deliver(h.host.socket(0).id,
                           "HTTP/1.1 103 Early Hints\r\nLink: </style.css>\r\n\r\n" + kOkResponse, 9));
    const auto &o = h.host.outcome(id);
    CHECK(o.ok);
    CHECK(o.field("status") == "200");
    CHECK_FALSE(o.has("headers.link"));
    CHECK(o.field("headers.content-type") == "text/plain");
    CHECK(o.field("body") == "hello");
}

TEST_CASE("a connection that alternates actions keeps each action's prepared request", "[http][request]") {
    Harness h;
    h.first_get_ok(kOkResponse, {{"url", "http://h:8080/item"}});
    const ntx_socket_t sock = h.host.socket(0).id;
    const auto run = [&](const std::string &call, Params params) { h.ok_on(sock, call, std::move(params)); };
    // GET -> POST (the body) -> DELETE, three times over one connection: three requests prepared.
    for (int i = 0; i < 3; ++i) {
        if (i > 0) run("get", {{"url", "http://h:8080/item"}});
        run("post", {{"url", "http://h:8080/items"}, {"body", "hello"}});
        run("delete", {{"url", "http://h:8080/items/1"}});
    }
    CHECK(prepared_count(h.host) == 3);
    const std::string get = "GET /item HTTP/1.1\r\nHost: h:8080\r\nUser-Agent: ntx/0.1\r\nAccept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\n\r\n";
    const std::string post = "POST /items HTTP/1.1\r\nHost: h:8080\r\nUser-Agent: ntx/0.1\r\nContent-Length: 5\r\n"
                             "Accept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\n\r\nhello";
    const std::string del = "DELETE /items/1 HTTP/1.1\r\nHost: h:8080\r\nUser-Agent: ntx/0.1\r\nAccept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\n\r\n";
    CHECK(h.host.socket(0).sent == get + post + del + get + post + del + get + post + del);
    // A changed body is prepared again, in its action's slot only.
    run("post", {{"url", "http://h:8080/items"}, {"body", "other"}});
    run("delete", {{"url", "http://h:8080/items/1"}});
    CHECK(prepared_count(h.host) == 4);
}

TEST_CASE("a repeated request reuses its prepared bytes; a changed one is prepared again", "[http][request]") {
    Harness h;
    h.first_get_ok(kOkResponse, {{"url", "http://h:8080/same"}, {"headers.X-A", "1"}});
    const ntx_socket_t sock = h.host.socket(0).id;
    CHECK(prepared_count(h.host) == 1);
    std::string expected = "GET /same HTTP/1.1\r\nHost: h:8080\r\nUser-Agent: ntx/0.1\r\nX-A: 1\r\n"
                           "Accept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\n\r\n";
    std::string wire = expected;

    const auto run = [&](const std::string &call, Params params) { h.ok_on(sock, call, std::move(params)); };

    // Identical params (ignored ones may differ): nothing is parsed or serialized again.
    for (int i = 0; i < 3; ++i) {
        run("get", {{"url", "http://h:8080/same"}, {"ignored", std::to_string(i)}, {"headers.X-A", "1"}});
        wire += expected;
    }
    CHECK(prepared_count(h.host) == 1);
    CHECK(h.host.socket(0).sent == wire);

    SECTION("a changed url") {
        run("get", {{"url", "http://h:8080/other?q=1"}, {"headers.X-A", "1"}});
        wire += "GET /other?q=1 HTTP/1.1\r\nHost: h:8080\r\nUser-Agent: ntx/0.1\r\nX-A: 1\r\n"
                "Accept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\n\r\n";
        CHECK(prepared_count(h.host) == 2);
        run("get", {{"url", "http://h:8080/same"}, {"headers.X-A", "1"}});
        wire += expected;
        CHECK(prepared_count(h.host) == 3);
    }
    SECTION("a changed header value, a header less, a header more") {
        run("get", {{"url", "http://h:8080/same"}, {"headers.X-A", "2"}});
        wire += "GET /same HTTP/1.1\r\nHost: h:8080\r\nUser-Agent: ntx/0.1\r\nX-A: 2\r\n"
                "Accept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\n\r\n";
        run("get", {{"url", "http://h:8080/same"}});
        wire += "GET /same HTTP/1.1\r\nHost: h:8080\r\nUser-Agent: ntx/0.1\r\nAccept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\n\r\n";
        run("get", {{"url", "http://h:8080/same"}, {"headers.X-A", "1"}, {"headers.X-B", "b"}});
        wire += "GET /same HTTP/1.1\r\nHost: h:8080\r\nUser-Agent: ntx/0.1\r\nX-A: 1\r\nX-B: b\r\n"
                "Accept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\n\r\n";
        CHECK(prepared_count(h.host) == 4);
    }
    SECTION("a changed call and body") {
        run("post", {{"url", "http://h:8080/same"}, {"headers.X-A", "1"}, {"body", "abc"}});
        wire += "POST /same HTTP/1.1\r\nHost: h:8080\r\nUser-Agent: ntx/0.1\r\nX-A: 1\r\nContent-Length: 3\r\n"
                "Accept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\n\r\nabc";
        run("post", {{"url", "http://h:8080/same"}, {"headers.X-A", "1"}, {"body", "abd"}});
        wire += "POST /same HTTP/1.1\r\nHost: h:8080\r\nUser-Agent: ntx/0.1\r\nX-A: 1\r\nContent-Length: 3\r\n"
                "Accept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\n\r\nabd";
        run("put", {{"url", "http://h:8080/same"}, {"headers.X-A", "1"}, {"body", "abd"}});
        wire += "PUT /same HTTP/1.1\r\nHost: h:8080\r\nUser-Agent: ntx/0.1\r\nX-A: 1\r\nContent-Length: 3\r\n"
                "Accept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\n\r\nabd";
        CHECK(prepared_count(h.host) == 4);
    }
    SECTION("an invalid request in between is refused and the next one is prepared again") {
        const auto bad = h.host.run(1, "get", {{"url", "http://h:8080/same"}, {"headers.X-A", "1\r\nX: y"}});
        CHECK(h.host.fire_due_timers() == 1);
        CHECK(h.host.outcome(bad).code == NTX_E_INVALID);
        // The failure closed the connection; the same request as before goes out on a new one.
        const auto again = h.get(1, "http://h:8080/same", {{"headers.X-A", "1"}});
        REQUIRE(h.host.socket_count() == 2);
        REQUIRE(h.host.connect(h.host.socket(1).id));
        CHECK(h.host.socket(1).sent == expected);
        REQUIRE(h.host.deliver(h.host.socket(1).id, kOkResponse));
        CHECK(h.host.outcome(again).ok);
        CHECK(prepared_count(h.host) == 2);
        return;
    }
    SECTION("keep-alive false after true") {
        // Connection: close goes on a connection of its own, as always.
        const auto id = h.host.run(1, "get", {{"url", "http://h:8080/same"}, {"headers.X-A", "1"}, {"keep-alive", "false"}});
        CHECK(h.host.socket(0).closed_by_plugin);
        CHECK(h.host.socket(0).sent == wire);
        REQUIRE(h.host.socket_count() == 2);
        REQUIRE(h.host.connect(h.host.socket(1).id));
        CHECK(h.host.socket(1).sent ==
              "GET /same HTTP/1.1\r\nHost: h:8080\r\nUser-Agent: ntx/0.1\r\nX-A: 1\r\nAccept-Encoding: gzip, deflate, br\r\nConnection: close\r\n\r\n");
        REQUIRE(h.host.deliver(h.host.socket(1).id, kOkResponse));
        CHECK(h.host.outcome(id).ok);
        CHECK(prepared_count(h.host) == 2);
        return;
    }
    CHECK(h.host.socket(0).sent == wire);
    CHECK(h.host.socket_count() == 1);
}

TEST_CASE("each user keeps its own prepared request", "[http][request]") {
    Harness h;
    h.start_connected(1, "get", {{"url", "http://h/one"}});
    h.start_connected(2, "get", {{"url", "http://h/two"}});
    CHECK(h.host.socket(0).sent == expected_get("/one", "h", "keep-alive"));
    CHECK(h.host.socket(1).sent == expected_get("/two", "h", "keep-alive"));
    CHECK(prepared_count(h.host) == 2);
}
