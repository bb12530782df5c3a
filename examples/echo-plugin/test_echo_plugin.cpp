// The echo plugin's unit test: ntx_echo.so driven by the SDK's test host (ntx::plugin_test_host), with
// no network, no ntx binary and no test framework. Each check drives the plugin's actions, sockets,
// timers and posts step by step and reads what it told the host; the host flags every broken rule of
// the ABI. Start your own plugin's tests from here.
//
//   ctest --test-dir build        (or: build/test_echo_plugin build/ntx_echo.so)
#include <ntx/testing/plugin_test_host.hpp>

#include <cstdio>
#include <string>

using ntx::testing::PluginTestHost;

namespace {

int failures = 0;

void expect(bool ok, const char *what, int line) {
    if (ok) return;
    std::fprintf(stderr, "test_echo_plugin.cpp:%d: failed: %s\n", line, what);
    ++failures;
}
#define EXPECT(cond) expect((cond), #cond, __LINE__)
// Stops the test function when `cond` fails: what follows depends on it.
#define REQUIRE(cond)                         \
    do {                                      \
        const bool ok_ = (cond);              \
        expect(ok_, #cond, __LINE__);         \
        if (!ok_) return;                     \
    } while (false)

// A host with the plugin loaded and initialised with `config` (its resource/config.yaml section).
bool start(PluginTestHost &host, const std::string &config = "{}") {
    EXPECT(host.load() == NTX_OK);
    EXPECT(host.plugin().name && std::string(host.plugin().name) == "echo");
    const bool ok = host.init(config) == NTX_OK;
    EXPECT(ok);
    return ok;
}

void no_violations(const PluginTestHost &host, const char *test) {
    for (const auto &v : host.violations()) std::fprintf(stderr, "%s: ABI rule broken: %s\n", test, v.c_str());
    EXPECT(host.violations().empty());
}

// send opens the user's connection, sends once it is up, and completes when the same line comes back,
// however the reply is cut.
void send_waits_for_the_echo(const char *plugin) {
    PluginTestHost host(plugin);
    REQUIRE(start(host));
    const auto id = host.run(1, "send", {{"line", "hello"}, {"host", "127.0.0.1"}, {"port", "7000"}});
    EXPECT(host.run_status(id) == NTX_OK);
    REQUIRE(host.socket_count() == 1);
    auto &sock = host.last_socket();
    EXPECT(sock.host == "127.0.0.1" && sock.port == 7000);
    EXPECT(sock.sent.empty());  // it waits for NTX_SOCKET_CONNECTED
    EXPECT(host.connect(sock.id));
    EXPECT(sock.sent == "hello\n");
    EXPECT(!host.ended(id));
    EXPECT(host.deliver(sock.id, "hello\n", 2));  // "he", "ll", "o\n"
    EXPECT(host.ended(id) && host.outcome(id).ok);
    EXPECT(host.outcome(id).field("reply") == "hello");
    // The next send reuses the connection.
    const auto again = host.run(1, "send", {{"line", "bye"}});
    REQUIRE(host.socket_count() == 1);
    EXPECT(host.socket_count() == 1 && host.last_socket().sent == "hello\nbye\n");
    EXPECT(host.deliver(host.last_socket().id, "bye\n"));
    EXPECT(host.outcome(again).ok);
    no_violations(host, __func__);
}

// A wrong echo, a reply longer than max-line and a server that hangs up are each one failed outcome.
void bad_replies_fail_the_action(const char *plugin) {
    PluginTestHost host(plugin);
    REQUIRE(start(host, R"({"max-line":8})"));
    const auto differs = host.run(1, "send", {{"line", "abc"}, {"host", "127.0.0.1"}, {"port", "7000"}});
    REQUIRE(host.socket_count() == 1);
    EXPECT(host.connect(host.last_socket().id));
    EXPECT(host.deliver(host.last_socket().id, "abd\n"));
    EXPECT(host.outcome(differs).code == NTX_E_PROTOCOL);

    const auto too_long = host.run(2, "send", {{"line", "abc"}, {"host", "127.0.0.1"}, {"port", "7000"}});
    EXPECT(host.connect(host.last_socket().id));
    EXPECT(host.deliver(host.last_socket().id, "0123456789\n"));
    EXPECT(host.outcome(too_long).code == NTX_E_LIMIT);

    const auto hung_up = host.run(3, "send", {{"line", "abc"}, {"host", "127.0.0.1"}, {"port", "7000"}});
    EXPECT(host.connect(host.last_socket().id));
    EXPECT(host.peer_close(host.last_socket().id));
    EXPECT(host.outcome(hung_up).code == NTX_E_CLOSED);
    // A differing echo keeps the connection in step (one line, one reply); the other two lose theirs.
    EXPECT(host.open_socket_count() == 1 && host.socket(0).open());
    no_violations(host, __func__);
}

// The host ends a send first (its timeout): on_error forgets the action and drops the connection, and
// an echo arriving afterwards reaches no one.
void host_timeout_drops_the_connection(const char *plugin) {
    PluginTestHost host(plugin);
    REQUIRE(start(host));
    const auto id = host.run(1, "send", {{"line", "slow"}, {"host", "127.0.0.1"}, {"port", "7000"}}, 500);
    REQUIRE(host.socket_count() == 1);
    const auto sock = host.last_socket().id;
    EXPECT(host.connect(sock));
    host.cancel(id, NTX_E_TIMEOUT);
    EXPECT(host.outcome(id).ended_by_host);
    EXPECT(host.open_socket_count() == 0);
    EXPECT(!host.deliver(sock, "slow\n"));  // closed by the plugin: the host delivers nothing more
    no_violations(host, __func__);
}

// checksum runs on the plugin's worker thread, which posts the result back to the loop (ABI 1.3).
void checksum_comes_back_through_post(const char *plugin) {
    PluginTestHost host(plugin);
    REQUIRE(start(host));
    const auto id = host.run(1, "checksum", {{"line", "Wikipedia"}});
    EXPECT(host.run_status(id) == NTX_OK);
    EXPECT(host.wait_posts(1, 5000) == 1);  // the worker's post, run on this (the loop's) thread
    EXPECT(host.outcome(id).ok);
    EXPECT(host.outcome(id).field("checksum") == "300286872");  // Adler-32 of "Wikipedia": 0x11E60398
    no_violations(host, __func__);
}

// Planning-time checks (ABI 1.2): an unknown param and a bad port are reported, by index.
void validate_reports_bad_params(const char *plugin) {
    PluginTestHost host(plugin);
    EXPECT(host.load() == NTX_OK);
    const auto v = host.validate("connect", {{"host", "127.0.0.1"}, {"port", "99999"}, {"colour", "red"}});
    EXPECT(v.status == NTX_E_INVALID);
    EXPECT(v.problems.size() == 2);
    EXPECT(!v.problems.empty() && v.problems[0].index == 1);
    EXPECT(host.validate("send", {{"line", "{{ greeting }}"}}).status == NTX_OK);
    no_violations(host, __func__);
}

}  // namespace

int main(int argc, char **argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s path/to/ntx_echo.so\n", argv[0]);
        return 2;
    }
    send_waits_for_the_echo(argv[1]);
    bad_replies_fail_the_action(argv[1]);
    host_timeout_drops_the_connection(argv[1]);
    checksum_comes_back_through_post(argv[1]);
    validate_reports_bad_params(argv[1]);
    if (failures) return 1;
    std::puts("test_echo_plugin: all checks passed");
    return 0;
}
