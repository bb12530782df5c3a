// The ftp plugin (ntx_ftp.so) against the fake host, for what needs no server: its declaration, its
// config, the params each call takes, and that a password never reaches a reason or a log line.
// Transfers themselves are tested against a real vsftpd (tests/e2e/test_ftp.py).
#include "support/plugin_harness.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using ntx::test::FakeHost;
using ntx::test::Params;

namespace {

const char *const kPluginPath = NTX_TEST_PLUGIN_DIR "/ntx_ftp.so";

struct Harness : ntx::test::PluginHarness {
    explicit Harness(const std::string &config = "{}") : PluginHarness(kPluginPath, config) {}

    // Runs an action that must end inside run_action as a failure; returns its outcome.
    const ntx::test::Outcome &refused(const std::string &call, Params params) {
        const auto id = host.run(1, call, std::move(params), 1000);
        REQUIRE(host.ended(id));
        const auto &o = host.outcome(id);
        CHECK_FALSE(o.ok);
        return o;
    }
};

std::string all_logs(const FakeHost &host) {
    std::string s;
    for (const auto &line : host.logs()) s += line + "\n";
    return s;
}

}  // namespace

TEST_CASE("ftp: the plugin declares its name, version and calls", "[ftp]") {
    FakeHost host{kPluginPath};
    REQUIRE(host.load() == NTX_OK);
    const ntx_plugin_api_t &p = host.plugin();
    CHECK(std::string(p.name) == "ftp");
    CHECK(std::string(p.version) == "0.1.0");
    std::vector<std::string> calls(p.capabilities, p.capabilities + p.capability_count);
    CHECK(calls == std::vector<std::string>{"login", "list", "download", "upload", "delete"});
    CHECK(p.on_error != nullptr);
    CHECK(p.user_release != nullptr);
}

TEST_CASE("ftp: a bad component config refuses init and names the key", "[ftp]") {
    struct Case {
        const char *json;
        const char *says;
    };
    const Case cases[] = {
        {R"({"mode": "sideways"})", R"("mode" must be "passive" or "active")"},
        {R"({"connect-timeout-ms": 0})", R"("connect-timeout-ms" must be an integer)"},
        {R"({"max-body-bytes": -1})", R"("max-body-bytes" must be a non-negative integer)"},
        {R"({"epsv": "yes"})", R"("epsv" must be true or false)"},
        {R"({"conect-timeout-ms": 5})", R"(unknown key "conect-timeout-ms")"},
        {R"({"send-rate": "fast"})", R"("send-rate" must be a byte rate)"},
        {R"({"recv-rate": "1MiB/tick"})", R"("recv-rate" must be a byte rate)"},
        {R"({"recv-rate": -5})", R"("recv-rate" must be a byte rate)"},
        {R"([1, 2])", "expected a JSON object"},
    };
    for (const Case &c : cases) {
        INFO(c.json);
        FakeHost host{kPluginPath};
        REQUIRE(host.load() == NTX_OK);
        CHECK(host.init(c.json) == NTX_E_INVALID);
        CHECK(all_logs(host).find(c.says) != std::string::npos);
    }
    FakeHost ok{kPluginPath};
    REQUIRE(ok.load() == NTX_OK);
    CHECK(ok.init(R"({"mode": "active", "active-address": "127.0.0.1", "epsv": false, "response-timeout-ms": 1500,
                      "send-rate": "512KiB/s", "recv-rate": 1000000})") == NTX_OK);
}

TEST_CASE("ftp: params a call does not take, or takes wrongly, end the action as invalid", "[ftp]") {
    Harness h;
    const std::string url = "ftp://127.0.0.1:2121/dir/file.bin";
    struct Case {
        const char *call;
        Params params;
        ntx_status_t code;
        const char *says;
    };
    const std::vector<Case> cases = {
        {"upload", {{"url", url}}, NTX_E_INVALID, "exactly one of body (the bytes) or file"},
        {"upload", {{"url", url}, {"body", "x"}, {"file", "a.bin"}}, NTX_E_INVALID, "exactly one of body"},
        {"upload", {{"url", url}, {"bodyy", "x"}}, NTX_E_INVALID, "'bodyy' is not a param of upload"},
        {"download", {{"url", url}, {"names-only", "true"}}, NTX_E_INVALID, "'names-only' is not a param of download"},
        {"list", {{"url", url}, {"names-only", "yes"}}, NTX_E_INVALID, "names-only must be \"true\" or \"false\""},
        {"list", {{"user", "bob"}}, NTX_E_INVALID, "list needs a url"},
        {"login", {{"url", url}, {"mode", "sideways"}}, NTX_E_INVALID, "mode must be"},
        {"login", {{"url", url}, {"password", "pw"}}, NTX_E_INVALID, "password given without user"},
        {"login", {{"url", "http://127.0.0.1/"}}, NTX_E_INVALID, "url must start with ftp://"},
        {"login", {{"url", "ftps://127.0.0.1/"}}, NTX_E_UNSUPPORTED, "only ftp:// URLs"},
        {"login", {{"url", "ftp://127.0.0.1:0/"}}, NTX_E_INVALID, "port must be a number in 1..65535"},
        {"login", {{"url", "ftp://127.0.0.1/a b"}}, NTX_E_INVALID, "space or a control character"},
        {"download", {{"url", "ftp://127.0.0.1/dir/"}}, NTX_E_INVALID, "must name a file"},
        {"upload", {{"url", "ftp://127.0.0.1"}, {"body", "x"}}, NTX_E_INVALID, "must name a file"},
        {"delete", {{"url", "ftp://127.0.0.1/x%0d%0aRMD%20y"}}, NTX_E_INVALID, "decodes to CR, LF or NUL"},
        {"delete", {{"url", "ftp://127.0.0.1/x%4"}}, NTX_E_INVALID, "bad percent-escape"},
        {"upload", {{"url", url}, {"file", "/nonexistent/ntx-ftp-test.bin"}}, NTX_E_INVALID, "cannot be read"},
    };
    for (const Case &c : cases) {
        INFO(c.call << " " << c.says);
        const auto &o = h.refused(c.call, c.params);
        CHECK(o.code == c.code);
        CHECK(o.reason.find(c.says) != std::string::npos);
    }
}

TEST_CASE("ftp: a password in a url is refused without being echoed, and never reaches a reason", "[ftp]") {
    Harness h;
    const std::string secret = "hunter2-s3cret";
    const auto &in_url = h.refused("login", {{"url", "ftp://bob:" + secret + "@127.0.0.1/"}});
    CHECK(in_url.code == NTX_E_INVALID);
    CHECK(in_url.reason.find("use the user and password params") != std::string::npos);
    CHECK(in_url.reason.find(secret) == std::string::npos);

    // A reason that would quote it (here the upload file's path happens to contain it) has it masked.
    const auto &masked = h.refused("upload", {{"url", "ftp://127.0.0.1/x.bin"},
                                              {"user", "bob"},
                                              {"password", secret},
                                              {"file", "/nonexistent/" + secret + ".bin"}});
    CHECK(masked.code == NTX_E_INVALID);
    CHECK(masked.reason.find("/nonexistent/***.bin") != std::string::npos);
    CHECK(masked.reason.find(secret) == std::string::npos);
    CHECK(all_logs(h.host).find(secret) == std::string::npos);
}

TEST_CASE("ftp: a user's session survives refused actions and is released", "[ftp]") {
    Harness h;
    for (int i = 0; i < 3; ++i) h.refused("list", {{"url", "ftp://127.0.0.1/"}, {"mode", "?"}});
    CHECK(h.host.user_data(1) != nullptr);  // one session, kept across the user's actions
    h.host.release_user(1);
    CHECK(h.host.user_data(1) == nullptr);
}
