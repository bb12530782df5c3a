// validate_action (ABI 1.2) of the http and ftp plugins, called through the fake host as the real
// host calls it at planning: before init, with the action's params as written (a templated value
// flagged and passed as its template's source), every problem reported at once.
#include "plugin/param_check.hpp"
#include "support/fake_host.hpp"

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

using ntx::test::FakeHost;
using ntx::test::Params;

namespace {

const char *const kHttp = NTX_TEST_PLUGIN_DIR "/ntx_http.so";
const char *const kFtp = NTX_TEST_PLUGIN_DIR "/ntx_ftp.so";

// A loaded plugin, never initialised: validate_action is a pure function of its input.
struct Loaded {
    FakeHost host;
    explicit Loaded(const char *path) : host(path) { REQUIRE(host.load() == NTX_OK); }
    ~Loaded() { CHECK(host.violations().empty()); }
    FakeHost::Validation validate(const std::string &call, const Params &params) {
        return host.validate(call, params);
    }
};

std::string describe(const FakeHost::Validation &v) {
    std::string out = "status " + std::to_string(v.status) + "\n";
    for (const auto &p : v.problems) out += std::to_string(p.index) + ": " + p.message + " | " + p.hint + "\n";
    return out;
}

// The one problem `v` holds (a copy: `v` is often a temporary).
FakeHost::Problem only(const FakeHost::Validation &v) {
    INFO(describe(v));
    REQUIRE(v.problems.size() == 1);
    CHECK(v.status == NTX_E_INVALID);
    return v.problems.front();
}

struct Expected {
    int32_t index;
    std::string message, hint;
};

// `v` holds exactly the problems `want`, in order, and says so with NTX_E_INVALID.
void check_problems(const FakeHost::Validation &v, const std::vector<Expected> &want) {
    INFO(describe(v));
    REQUIRE(v.problems.size() == want.size());
    CHECK(v.status == NTX_E_INVALID);
    for (std::size_t i = 0; i < want.size(); ++i) {
        CHECK(v.problems[i].index == want[i].index);
        CHECK(v.problems[i].message == want[i].message);
        CHECK(v.problems[i].hint == want[i].hint);
    }
}

}  // namespace

TEST_CASE("http and ftp fill validate_action; an older host's smaller table is left as it was", "[validate][abi]") {
    for (const char *path : {kHttp, kFtp}) {
        FakeHost host(path);
        REQUIRE(host.load() == NTX_OK);
        CHECK(host.plugin().validate_action != nullptr);
        CHECK(host.plugin().abi_minor == NTX_ABI_MINOR);

        // A 1.1 host: its table ends at release. The plugin must not write past it.
        FakeHost old(path);
        REQUIRE(old.load(static_cast<uint32_t>(offsetof(ntx_plugin_api_t, validate_action))) == NTX_OK);
        CHECK(old.plugin().release != nullptr);
        CHECK(old.plugin().validate_action == nullptr);
    }
}

TEST_CASE("http: good params validate before init, with nothing reported", "[validate][http]") {
    Loaded http(kHttp);
    const Params good{{"url", "https://127.0.0.1:8443/cfg?x=1"}, {"headers.Accept", "text/plain"},
                      {"query.q", "a b"},  {"keep-alive", "false"},
                      {"tls-verify", "true"}, {"max-redirects", "3"},
                      {"follow-redirects", "true"}, {"tls-server-name", "localhost"}};
    for (const char *call : {"get", "delete", "head"}) {
        const auto v = http.validate(call, good);
        INFO(call << "\n" << describe(v));
        CHECK(v.status == NTX_OK);
        CHECK(v.problems.empty());
    }
    Params post = good;
    post.emplace_back("body", "{\"a\":1}");
    CHECK(http.validate("post", post).problems.empty());
}

TEST_CASE("http: each bad param is reported at its index, all at once", "[validate][http]") {
    Loaded http(kHttp);
    const auto v = http.validate("get", {{"heders.Accept", "text/plain"},   // 0: typo'd map
                                         {"url", "127.0.0.1:80/cfg"},       // 1: no scheme
                                         {"max-redirects", "lots"},         // 2: not a number
                                         {"keep-alive", "yes"},             // 3: not a bool
                                         {"headers.Content-Length", "3"},   // 4: framing is the plugin's
                                         {"timeout-ms", "100"}});           // 5: nobody's
    check_problems(v, {{0, "http get has no parameter 'heders.Accept'", "did you mean 'headers.Accept'?"},
                       {1, "invalid url \"127.0.0.1:80/cfg\": expected http://host[:port]/path",
                        "did you mean 'http://127.0.0.1:80/cfg'?"},
                       {2, "max-redirects must be an integer in 0..100", ""},
                       {3, "keep-alive must be \"true\" or \"false\"", ""},
                       {4, "header 'Content-Length' is set by the plugin (use body / keep-alive)", ""},
                       {5, "http get has no parameter 'timeout-ms'",
                        "it takes url, body, headers.<Name>, query.<name>, keep-alive, tls-verify, ca-file, "
                        "tls-server-name, follow-redirects, max-redirects, keep-on-redirect, cookies, cookies.<name>, keep-cookies, compression, form.<name>, multipart.<name>, json, json.<key>, auth.user, auth.password, http-version"}});

    // The same input, the same answer: nothing is kept between calls.
    const auto again = http.validate("get", {{"heders.Accept", "text/plain"}, {"url", "127.0.0.1:80/cfg"},
                                             {"max-redirects", "lots"}, {"keep-alive", "yes"},
                                             {"headers.Content-Length", "3"}, {"timeout-ms", "100"}});
    CHECK(describe(again) == describe(v));
}

TEST_CASE("http: problems of the action as a whole and of the call", "[validate][http]") {
    Loaded http(kHttp);
    const auto missing = only(http.validate("post", {{"body", "x"}}));
    CHECK(missing.index == NTX_PROBLEM_ACTION);
    CHECK(missing.message == "missing parameter 'url'");

    const auto head_body = only(http.validate("head", {{"url", "http://h/"}, {"body", "x"}}));
    CHECK(head_body.index == 1);
    CHECK(head_body.message == "a head request has no body");

    const auto scheme = only(http.validate("get", {{"url", "ftp://h/x"}}));
    CHECK(scheme.message == "invalid url \"ftp://h/x\": unsupported scheme 'ftp'");
    CHECK(scheme.hint.empty());
    // The scheme hint only when the scheme is all that is missing.
    const auto typo = only(http.validate("get", {{"url", "htp:/h/x"}}));
    CHECK(typo.message == "invalid url \"htp:/h/x\": expected http://host[:port]/path");
    CHECK(typo.hint.empty());
}

TEST_CASE("http: a templated value is checked only as far as its literal parts decide", "[validate][http]") {
    Loaded http(kHttp);
    // Known only at run time: nothing to report.
    const auto ok = http.validate("get", {{"url", "{{resource.base}}/cfg"},
                                          {"max-redirects", "{{hops.body}}"},
                                          {"keep-alive", "{{ env.user_id > 3 }}"},
                                          {"headers.Authorization", "Bearer {{login.body}}"}});
    INFO(describe(ok));
    CHECK(ok.status == NTX_OK);
    CHECK(ok.problems.empty());
    CHECK(http.validate("get", {{"url", "h{{x.body}}"}}).problems.empty());       // may still be http://
    CHECK(http.validate("get", {{"url", "HTTPS://{{x.body}}"}}).problems.empty());  // any case

    // The literal start already rules out every http URL.
    const auto port = only(http.validate("get", {{"url", "127.0.0.1:{{resource.port}}/cfg"}}));
    CHECK(port.index == 0);
    CHECK(port.message == "invalid url \"127.0.0.1:\": expected http://host[:port]/path");
    CHECK(port.hint == "a url starts with http:// or https://");
    // A header's name is known even when its value is not.
    const auto framing = only(http.validate("get", {{"url", "http://h/"}, {"headers.Connection", "{{c.body}}"}}));
    CHECK(framing.index == 1);
    // Templated keys do not exist; an unknown key stays unknown whatever its value.
    CHECK(only(http.validate("get", {{"url", "http://h/"}, {"bdy", "{{c.body}}"}})).hint == "did you mean 'body'?");
}

TEST_CASE("ftp: good params of each call validate before init", "[validate][ftp]") {
    Loaded ftp(kFtp);
    CHECK(ftp.validate("login", {{"url", "ftp://127.0.0.1:2121/"}, {"user", "u"}, {"password", "p"}}).problems.empty());
    CHECK(ftp.validate("list", {{"url", "ftp://h/dir/"}, {"names-only", "true"}, {"mode", "active"}}).problems.empty());
    CHECK(ftp.validate("download", {{"url", "ftp://h/a.txt"}}).problems.empty());
    CHECK(ftp.validate("upload", {{"url", "ftp://h/up/b.txt"}, {"body", "hi"}, {"create-dirs", "true"}}).problems.empty());
    CHECK(ftp.validate("delete", {{"url", "ftp://h/up/b.txt"}}).problems.empty());
    // Templated: the url's rest, a file name, the body are run-time matters.
    const auto t = ftp.validate("upload", {{"url", "ftp://{{resource.host}}/up/{{env.user_id}}.txt"},
                                           {"body", "{{payload.body}}"},
                                           {"user", "{{resource.user}}"},
                                           {"password", "{{resource.password}}"}});
    INFO(describe(t));
    CHECK(t.problems.empty());
    CHECK(ftp.validate("delete", {{"url", "{{where.body}}"}}).problems.empty());
}

TEST_CASE("ftp: each bad param is reported at its index, all at once", "[validate][ftp]") {
    Loaded ftp(kFtp);
    const auto v = ftp.validate("list", {{"mode", "pasive"},          // 0
                                         {"url", "127.0.0.1/pub/"},   // 1
                                         {"names-onyl", "true"},      // 2
                                         {"body", "x"}});             // 3: list takes no body
    check_problems(v, {{0, "mode must be \"passive\" or \"active\"", "did you mean 'passive'?"},
                       {1, "url must start with ftp://", "did you mean 'ftp://127.0.0.1/pub/'?"},
                       {2, "'names-onyl' is not a param of list (it takes url, user, password, mode, names-only)",
                        "did you mean 'names-only'?"},
                       // "body" is no near miss of a list param: no hint
                       {3, "'body' is not a param of list (it takes url, user, password, mode, names-only)", ""}});
}

TEST_CASE("ftp: rules across params, and what a call needs of its url", "[validate][ftp]") {
    Loaded ftp(kFtp);
    const auto neither = only(ftp.validate("upload", {{"url", "ftp://h/a.txt"}}));
    CHECK(neither.index == NTX_PROBLEM_ACTION);
    CHECK(neither.message == "upload needs exactly one of body (the bytes) or file (a local path)");

    const auto no_url = only(ftp.validate("login", {{"user", "u"}}));
    CHECK(no_url.index == NTX_PROBLEM_ACTION);
    CHECK(no_url.message == "login needs a url");

    const auto password = only(ftp.validate("login", {{"url", "ftp://h/"}, {"password", "secret"}}));
    CHECK(password.message == "password given without user");
    CHECK(password.message.find("secret") == std::string::npos);

    const auto directory = only(ftp.validate("download", {{"url", "ftp://h/pub/"}}));
    CHECK(directory.index == 0);
    CHECK(directory.message == "download url must name a file, not a directory");

    const auto ftps = only(ftp.validate("list", {{"url", "ftps://{{resource.host}}/"}}));
    CHECK(ftps.index == 0);
    CHECK(ftps.message == "only ftp:// URLs are supported (no ftps or sftp)");
}

// ---- the host's side: plugin::check_action_params turns reports into diagnostics -----------------------

namespace {

// What a hand-made plugin's validate_action does, picked by the test.
enum class Plays { reports_each_kind, silent_invalid, garbage_status, throws, out_of_range };
Plays g_plays = Plays::reports_each_kind;
uint32_t g_seen_flags[4];

ntx_status_t hand_made_validate(const ntx_validate_ctx_t *ctx) {
    for (std::size_t i = 0; i < ctx->param_count && i < 4; ++i) g_seen_flags[i] = ctx->param_flags[i];
    const auto report = [ctx](int32_t index, const char *message, const char *hint) {
        ntx_problem_t p{sizeof p, index, {message, std::strlen(message)}, {hint, std::strlen(hint)}};
        ctx->report(ctx->report_ctx, &p);
    };
    switch (g_plays) {
    case Plays::reports_each_kind:
        report(1, "bad value", "try another");
        report(NTX_PROBLEM_ACTION, "the action lacks something", "");
        return NTX_E_INVALID;
    case Plays::silent_invalid:
        return NTX_E_INVALID;
    case Plays::garbage_status:
        return 12345;
    case Plays::throws:
        throw std::runtime_error("boom");  // an in-process protocol's C++ hook
    case Plays::out_of_range:
        report(7, "of a param that is not there", "");
        return NTX_E_INVALID;
    }
    return NTX_OK;
}

ntx::dsl::Template compiled(const std::string &text) {
    std::string error;
    std::size_t at = 0;
    auto t = ntx::dsl::Template::compile(text, [](std::string_view) { return std::nullopt; }, error, at);
    REQUIRE(t);
    return *t;
}

}  // namespace

TEST_CASE("host: each report becomes a diagnostic at its value, or at the call", "[validate][host]") {
    ntx::plugin::LoadedPlugin plugin;
    plugin.api.size = sizeof plugin.api;
    plugin.api.abi_major = NTX_ABI_MAJOR;
    plugin.api.abi_minor = 2;
    plugin.api.name = "hand";
    plugin.api.validate_action = &hand_made_validate;
    ntx::dsl::ActionSpec action;
    action.name = "fetch";
    action.call = "get";
    action.call_loc = {"script.yaml", 10, 11};
    action.with = {{"url", compiled("http://h/{{env.user_id}}")}, {"mode", compiled("pasive")}};
    action.with_locs = {{"script.yaml", 12, 12}, {"script.yaml", 13, 13}};

    std::vector<ntx::Diagnostic> d;
    g_plays = Plays::reports_each_kind;
    ntx::plugin::check_action_params(plugin, action, "web", d);
    REQUIRE(d.size() == 2);
    CHECK(d[0].to_string() == "script.yaml:13:13: error: action 'fetch': bad value (try another)");
    CHECK(d[1].to_string() == "script.yaml:10:11: error: action 'fetch': the action lacks something");
    CHECK(g_seen_flags[0] == NTX_PARAM_TEMPLATED);  // passed as "http://h/{{env.user_id}}"
    CHECK(g_seen_flags[1] == 0);

    const auto one = [&](Plays plays) {
        g_plays = plays;
        d.clear();
        ntx::plugin::check_action_params(plugin, action, "web", d);
        REQUIRE(d.size() == 1);
        CHECK(d[0].line == 10);  // at the call
        return d[0].message;
    };
    CHECK(one(Plays::silent_invalid) == "action 'fetch': component 'web': plugin 'hand' rejected the params without saying why");
    CHECK(one(Plays::garbage_status) ==
          "action 'fetch': component 'web': plugin 'hand' could not check the params: validate_action returned 12345");
    CHECK(one(Plays::throws) == "action 'fetch': component 'web': plugin 'hand' threw while checking the params: boom");
    CHECK(one(Plays::out_of_range) ==
          "action 'fetch': plugin 'hand' reported a problem of param #7, which the action does not have: of a param that "
          "is not there");

    // A 1.1 plugin's table: the member is never read, whatever lies there.
    plugin.api.abi_minor = 1;
    d.clear();
    ntx::plugin::check_action_params(plugin, action, "web", d);
    CHECK(d.empty());
}
