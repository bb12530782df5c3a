// save-as extract: JSON pointers and JSONPath compiled at planning, regexes compiled once, bad ones
// reported at file:line:col; and the evaluation over a result (malformed JSON, missing member, no
// match, no group, defaults).
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "dsl/extract.hpp"
#include "dsl/script.hpp"
#include "scheduler/extractor.hpp"
#include "support/dsl_load.hpp"

using namespace ntx;
using namespace ntx::test;

namespace {

std::vector<std::string> keys(const dsl::JsonPointer& p) {
    std::vector<std::string> out;
    for (const auto& t : p.tokens) out.push_back(t.key);
    return out;
}

std::string script_with(const std::string& extract) {
    return R"(version: "1.0"
components:
  - {name: http, version: "0.2.1", entry: http}
workflows:
  wf:
    steps:
      - ref: login
      - action: http.get
        with: {url: "http://127.0.0.1:1/{{login.token}}"}
actions:
  login:
    component: http
    call: get
    with: {url: "http://127.0.0.1:1/login"}
    save-as:
      var: login
      extract:
)" + extract + R"(load:
  scenarios:
    - {name: s, workflow: wf, user-count: 1}
)";
}

// A result with these fields, as a plugin reports it.
struct FakeResult {
    std::vector<std::pair<std::string, std::string>> fields;
    std::vector<ntx_kv_t> kv;
    ntx_result_t r{};
    const ntx_result_t& get() {
        kv.clear();
        for (auto& [k, v] : fields) kv.push_back({{k.data(), k.size()}, {v.data(), v.size()}});
        r.size = sizeof(r);
        r.fields = kv.data();
        r.field_count = kv.size();
        return r;
    }
};

dsl::ExtractSpec json_spec(const std::string& name, const std::string& ptr) {
    dsl::ExtractSpec x;
    x.name = name;
    std::string err;
    size_t at = 0;
    auto p = dsl::compile_json_pointer(ptr, err, at);
    REQUIRE(p);
    x.pointer = *p;
    x.written = "{json: " + ptr + "}";
    return x;
}

dsl::ExtractSpec regex_spec(const std::string& name, const std::string& re, const std::string& header = "") {
    dsl::ExtractSpec x;
    x.name = name;
    x.source = header.empty() ? dsl::ExtractSpec::Source::body : dsl::ExtractSpec::Source::header;
    x.header_field = "headers." + header;
    std::string err;
    size_t at = 0;
    if (!re.empty()) {
        x.regex = dsl::compile_regex(re, err, at);
        REQUIRE(x.regex);
    }
    return x;
}

}  // namespace

TEST_CASE("JSON pointers and JSONPath compile to the same tokens", "[extract]") {
    std::string err;
    size_t at = 0;
    auto p = dsl::compile_json_pointer("/user/id", err, at);
    REQUIRE(p);
    CHECK(keys(*p) == std::vector<std::string>{"user", "id"});
    p = dsl::compile_json_pointer("/a~1b/m~0n/0/01", err, at);
    REQUIRE(p);
    CHECK(keys(*p) == std::vector<std::string>{"a/b", "m~n", "0", "01"});
    CHECK(p->tokens[2].index == 0u);
    CHECK_FALSE(p->tokens[3].index);  // a leading zero is a member name, never an index
    CHECK(p->text == "/a~1b/m~0n/0/01");
    p = dsl::compile_json_pointer("", err, at);
    REQUIRE(p);
    CHECK(p->tokens.empty());

    p = dsl::compile_json_pointer("$.items[2].name", err, at);
    REQUIRE(p);
    CHECK(keys(*p) == std::vector<std::string>{"items", "2", "name"});
    CHECK(p->tokens[1].index == 2u);
    CHECK(p->text == "/items/2/name");
    p = dsl::compile_json_pointer("$['a b'][\"c/d\"]", err, at);
    REQUIRE(p);
    CHECK(keys(*p) == std::vector<std::string>{"a b", "c/d"});
    CHECK(p->text == "/a b/c~1d");
    p = dsl::compile_json_pointer("$", err, at);
    REQUIRE(p);
    CHECK(p->tokens.empty());
}

TEST_CASE("bad pointers and patterns say where", "[extract][bad-input]") {
    std::string err;
    size_t at = 0;
    CHECK_FALSE(dsl::compile_json_pointer("token", err, at));
    CHECK(err.find("must start with '/'") != std::string::npos);
    CHECK_FALSE(dsl::compile_json_pointer("/a~2", err, at));
    CHECK(at == 2);
    CHECK_FALSE(dsl::compile_json_pointer("$..a", err, at));
    CHECK(err.find("recursive descent") != std::string::npos);
    CHECK_FALSE(dsl::compile_json_pointer("$.a[*]", err, at));
    CHECK_FALSE(dsl::compile_json_pointer("$.a[01]", err, at));
    CHECK_FALSE(dsl::compile_json_pointer("$.a['b", err, at));
    CHECK(err.find("unterminated") != std::string::npos);

    CHECK_FALSE(dsl::compile_regex("sid=([^;]+", err, at));
    CHECK(err.find("does not compile") != std::string::npos);
    auto rx = dsl::compile_regex("sid=[^;]+", err, at);
    REQUIRE(rx);
}

TEST_CASE("extract in a script: every bad entry at its place, exit-2 style", "[extract][bad-input]") {
    auto d = load(script_with(R"(        token: {json: token}
        sid: {header: set-cookie, regex: "sid=([^;]+"}
        both: {json: /a, regex: "x"}
        none: {default: x}
        "bad name": {json: /a}
        csrf: {regex: "(", default: ""}
        ok: {json: "$.a.b[0]"}
)"));
    INFO(dump(d));
    auto on_line = [&](int line, const std::string& text) {
        return std::any_of(d.begin(), d.end(), [&](const Diagnostic& x) {
            return x.line == line && x.column > 0 && x.message.find(text) != std::string::npos;
        });
    };
    CHECK(has(d, 18, 23, "must start with '/'"));
    CHECK(on_line(19, "does not compile"));  // inside the quoted pattern
    CHECK(has(d, 20, 15, "json takes no header or regex"));
    CHECK(has(d, 21, 15, "says nothing to extract"));
    CHECK(has(d, 22, 9, "not a valid extract name"));
    CHECK(on_line(23, "does not compile"));
    CHECK(d.size() == 6);
}

TEST_CASE("a good extract compiles, and {{var.name}} reads it", "[extract]") {
    dsl::Script s = compiled(script_with(R"y(        token: {json: /token}
        uid: {json: $.user.id, default: "0"}
        sid: {header: Set-Cookie, regex: "sid=([^;]+)"}
        csrf: {regex: 'name="csrf" value="([^"]+)"'}
)y"));
    REQUIRE(s.actions[0].extracts.size() == 4);
    CHECK(s.actions[0].extracts[1].default_value == std::string("0"));
    CHECK(s.actions[0].extracts[2].header_field == "headers.set-cookie");
    CHECK(s.actions[0].extracts[2].source == dsl::ExtractSpec::Source::header);
    CHECK(s.actions[0].extracts[3].source == dsl::ExtractSpec::Source::body);
    // save-as `name` is accepted for `var`.
    auto d = load(script_with("        token: {json: /token}\n").replace(
        script_with("").find("var: login"), 10, "name: login"));
    CHECK(d.empty());
}

TEST_CASE("the extractor takes values, defaults, and says why when it finds nothing", "[extract]") {
    scheduler::Extractor ex;
    dsl::ActionSpec a;
    a.extracts.push_back(json_spec("token", "/token"));
    a.extracts.push_back(json_spec("uid", "/user/id"));
    a.extracts.push_back(json_spec("first", "/items/0"));
    a.extracts.push_back(json_spec("obj", "/user"));
    a.extracts.push_back(regex_spec("sid", "sid=([^;]+)", "set-cookie"));
    a.extracts.push_back(regex_spec("csrf", "name='csrf' value='([^']+)'"));
    a.extracts.push_back(regex_spec("whole", "tok[a-z]+"));  // no group: the whole match
    FakeResult fr;
    fr.fields = {{"status", "200"},
                 {"headers.set-cookie", "sid=abc123; Path=/"},
                 {"body", R"({"token":"t-1","user":{"id":7},"items":[true,2], "x":"<input name='csrf' value='c5'>"})"}};
    dsl::Fields out(a.extracts.size());
    auto miss = ex.run(a, fr.get(), out);
    CHECK_FALSE(miss);
    CHECK(out[0] == std::pair<std::string, std::string>{"token", "t-1"});
    CHECK(out[1].second == "7");
    CHECK(out[2].second == "true");
    CHECK(out[3].second == R"({"id":7})");
    CHECK(out[4].second == "abc123");
    CHECK(out[5].second == "c5");
    CHECK(out[6].second == "token");

    SECTION("a pointer to a missing member") {
        dsl::ActionSpec b;
        b.extracts.push_back(json_spec("id", "/user/name"));
        b.extracts.push_back(json_spec("n", "/items/5"));
        dsl::Fields o(2);
        auto m = ex.run(b, fr.get(), o);
        REQUIRE(m);
        CHECK(m.spec == &b.extracts[0]);
        CHECK(m.describe() == "extract 'id' {json: /user/name}: no such member: 'name' at /user");
        CHECK(o[0].second.empty());
        b.extracts[0].default_value = "anon";
        m = ex.run(b, fr.get(), o);
        REQUIRE(m);  // the second one still misses
        CHECK(o[0].second == "anon");
        CHECK(m.describe() == "extract 'n' {json: /items/5}: no such element: '5' at /items");
    }
    SECTION("a body that is not JSON") {
        FakeResult bad;
        bad.fields = {{"body", R"({"token": "t-1", )"}};
        dsl::ActionSpec b;
        b.extracts.push_back(json_spec("token", "/token"));
        dsl::Fields o(1);
        auto m = ex.run(b, bad.get(), o);
        REQUIRE(m);
        CHECK(m.describe().find("the body is not JSON") != std::string::npos);
        bad.fields = {{"status", "204"}};  // no body at all
        m = ex.run(b, bad.get(), o);
        REQUIRE(m);
        CHECK(m.describe().find("the body is empty") != std::string::npos);
        // Not an object: a scalar document has no members.
        bad.fields = {{"body", "42"}};
        m = ex.run(b, bad.get(), o);
        REQUIRE(m);
        CHECK(m.describe().find("not an object or array") != std::string::npos);
    }
    SECTION("a regex that does not match, a header that is absent, an optional group that took no part") {
        dsl::ActionSpec b;
        b.extracts.push_back(regex_spec("x", "nomatch=(\\d+)"));
        b.extracts.push_back(regex_spec("y", "", "etag"));
        b.extracts.push_back(regex_spec("z", "(zzz)?token"));
        dsl::Fields o(3);
        auto m = ex.run(b, fr.get(), o);
        REQUIRE(m);
        CHECK(m.describe() == "extract 'x' : the regex does not match the body");
        b.extracts[0].default_value = "";
        m = ex.run(b, fr.get(), o);
        REQUIRE(m);
        CHECK(m.spec == &b.extracts[1]);
        CHECK(std::string(m.why) == "no such header");
        b.extracts[1].default_value = "none";
        m = ex.run(b, fr.get(), o);
        REQUIRE(m);
        CHECK(m.spec == &b.extracts[2]);
        CHECK(std::string(m.why).find("group took no part") != std::string::npos);
    }
    SECTION("a body larger than the scratch still parses (from the heap)") {
        std::string big = R"({"pad":")" + std::string(200'000, 'x') + R"(","token":"deep"})";
        FakeResult large;
        large.fields = {{"body", big}};
        dsl::ActionSpec b;
        b.extracts.push_back(json_spec("token", "/token"));
        dsl::Fields o(1);
        CHECK_FALSE(ex.run(b, large.get(), o));
        CHECK(o[0].second == "deep");
    }
}
