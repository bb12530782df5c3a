// What a newcomer's script and command line give the DSL: overrides (--users, --rate, --duration,
// --scenario, -e), env.<KEY> values and default(), the shipped protocols without a component block,
// semver prefixes, hints for other tools' words, and CSV manifests read by an RFC 4180 parser.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>

#include "dsl/script.hpp"
#include "plugin/semver.hpp"
#include "resource/csv.hpp"
#include "resource/source_files.hpp"
#include "support/temp_res_dir.hpp"

using namespace ntx;
using ntx::test::TempResDir;

namespace {

struct Loaded {
    dsl::Script script;
    std::vector<Diagnostic> d;
    std::string all() const {
        std::string s;
        for (const auto& x : d) s += x.to_string() + "\n";
        return s;
    }
};

Loaded load(const std::string& script, const Overrides& o = {}, const std::vector<std::pair<std::string, std::string>>& files = {}) {
    TempResDir dir;
    dir.write("script.yaml", script);
    for (const auto& [name, text] : files) dir.write(name, text);
    Loaded l;
    l.script = dsl::load_res_dir(dir.path(), resource::file_reader(), l.d, nullptr, &o);
    return l;
}

const std::string kTwoScenarios = R"(components: [{name: http, version: "0.2.1", entry: http}]
workflows: {w: {steps: [{ref: get}]}}
actions:
  get: {component: http, call: get, with: {url: "{{env.BASE}}/x"}}
load:
  scenarios:
    - {name: closed, workflow: w, user-count: 2}
    - {name: open, workflow: w, arrival-rate: 10/s, duration: 2s}
thresholds: [scenario.open.error-rate < 1%, errors.rate < 5%]
)";

}  // namespace

TEST_CASE("overrides apply to the model each fits, and select scenarios", "[dsl][overrides]") {
    Overrides o;
    o.env = {{"BASE", "http://a"}, {"BASE", "http://b"}};  // the last one wins
    o.scenarios = {"closed"};
    o.users = 7;
    o.duration_ms = 3000;
    auto l = load(kTwoScenarios, o);
    INFO(l.all());
    REQUIRE(l.d.empty());
    REQUIRE(l.script.scenarios.size() == 1);
    CHECK(l.script.scenarios[0].user_count == 7);
    CHECK(l.script.scenarios[0].task_duration_ms == 3000);
    REQUIRE(l.script.thresholds.size() == 1);  // scenario.open's went with its scenario
    CHECK(l.script.thresholds[0].text.find("errors.rate") != std::string::npos);
    auto slot = std::find(l.script.variables.begin(), l.script.variables.end(), "env.BASE") - l.script.variables.begin();
    REQUIRE(l.script.constants.at(static_cast<size_t>(slot)));
    CHECK(l.script.constants[static_cast<size_t>(slot)]->at(0).second == "http://b");
    std::vector<std::string> names;
    for (const auto& u : l.script.overrides_used) names.push_back(u.name + "=" + u.value + "@" + u.source);
    CHECK(names == std::vector<std::string>{"env.BASE=http://b@-e", "scenario=closed@--scenario", "users=7@--users",
                                            "duration=3s@--duration"});

    Overrides open;
    open.env = {{"BASE", "x"}};
    open.scenarios = {"open"};
    open.rate = 40;
    open.duration_ms = 500;
    auto l2 = load(kTwoScenarios, open);
    REQUIRE(l2.d.empty());
    CHECK(l2.script.scenarios[0].arrival_rate == 40);
    CHECK(l2.script.scenarios[0].arrival_rate_end == 40);
    CHECK(l2.script.scenarios[0].duration_ms == 500);
}

TEST_CASE("overrides that do not fit a scenario's model are refused at the scenario", "[dsl][overrides]") {
    Overrides o;
    o.env = {{"BASE", "x"}};
    o.users = 3;
    o.rate = 5;
    auto l = load(kTwoScenarios, o);
    REQUIRE(l.d.size() == 2);
    CHECK(l.d[0].line == 7);  // closed: --rate
    CHECK(l.d[0].message == "--rate sets an open scenario's arrival-rate, but scenario 'closed' is closed (user-count)");
    CHECK(l.d[0].hint.find("--scenario NAME") != std::string::npos);
    CHECK(l.d[1].line == 8);  // open: --users
    CHECK(l.d[1].message.find("--users sets a closed scenario's user-count, but scenario 'open' is open") == 0);

    Overrides unknown;
    unknown.env = {{"BASE", "x"}};
    unknown.scenarios = {"clsoed"};
    auto l2 = load(kTwoScenarios, unknown);
    REQUIRE(l2.d.size() == 1);
    CHECK(l2.d[0].message == "--scenario 'clsoed': the script has no scenario of that name");
    CHECK(l2.d[0].hint == "did you mean 'closed'?");
    CHECK(l2.d[0].line == 7);  // load.scenarios
}

TEST_CASE("env.KEY: -e, then the environment; undefined is an error unless default() reads it", "[dsl][overrides]") {
    ::unsetenv("NTX_TEST_UNSET");
    ::setenv("NTX_TEST_SET", "from-env", 1);
    const std::string script = R"(components: [{name: http, version: "0.2.1", entry: http}]
workflows: {w: {steps: [{ref: get}]}}
actions:
  get:
    component: http
    call: get
    with:
      url: "{{env.NTX_TEST_SET}}/{{default(env.NTX_TEST_UNSET, 'fallback')}}/{{exists(env.NTX_TEST_UNSET)}}"
      a: "{{env.NTX_TEST_UNSET}}"
      b: "{{default(env.NTX_TEST_UNSET + 'x', 'y')}}"
load: {scenarios: [{name: s, workflow: w}]}
)";
    auto l = load(script);
    INFO(l.all());
    REQUIRE(l.d.size() == 2);
    CHECK(l.d[0].line == 9);
    CHECK(l.d[0].message.find("'NTX_TEST_UNSET' is not defined") != std::string::npos);
    CHECK(l.d[0].message.find("-e NTX_TEST_UNSET=VALUE") != std::string::npos);
    CHECK(l.d[1].line == 10);  // only a plain env.KEY argument is guarded

    Overrides no_env;
    no_env.process_environment = false;
    auto l2 = load(R"(components: [{name: http, version: "0.2.1", entry: http}]
workflows: {w: {steps: [{ref: get}]}}
actions: {get: {component: http, call: get, with: {url: "{{env.NTX_TEST_SET}}"}}}
load: {scenarios: [{name: s, workflow: w}]}
)",
                   no_env);
    REQUIRE(l2.d.size() == 1);  // the environment is not read
}

TEST_CASE("the shipped protocols need no component block; versions may be prefixes", "[dsl][components]") {
    auto l = load(R"(actions:
  a: {call: http.get, with: {url: "http://127.0.0.1:1/"}}
  b: {component: ftp, call: list, with: {url: "ftp://127.0.0.1:1/"}}
workflows: {w: {steps: [{ref: a}, {ref: b}, {action: http.post, with: {url: "http://127.0.0.1:1/"}}]}}
load: {scenarios: [{name: s, workflow: w}]}
)");
    INFO(l.all());
    REQUIRE(l.d.empty());
    REQUIRE(l.script.components.size() == 2);
    CHECK(l.script.components[0].name == "http");
    CHECK(l.script.components[0].entry == "http");
    CHECK(l.script.components[0].version.empty());
    CHECK(l.script.components[0].loc.line == 2);  // where it is first used
    CHECK(l.script.components[1].name == "ftp");
    CHECK(l.script.actions[0].call == "get");

    auto l2 = load(R"(components: [{name: http}, {name: mine}]
actions: {a: {component: http, call: get, with: {url: "http://127.0.0.1:1/"}}, b: {call: nodot}}
workflows: {w: {steps: [{ref: a}]}}
load: {scenarios: [{name: s, workflow: w}]}
)");
    REQUIRE(l2.d.size() == 2);
    CHECK(l2.d[0].line == 1);
    CHECK(l2.d[0].message == "component 'mine' has no 'entry' (a plugin path or bare name)");
    CHECK(l2.d[1].message == "action 'b' has no 'component'");
    CHECK(l2.script.components[0].entry == "http");

    CHECK(plugin::parse_semver_prefix("0.2")->minor == 2);
    CHECK(plugin::parse_semver_prefix("1")->major == 1);
    CHECK(plugin::semver_compatible(*plugin::parse_semver_prefix("0.2"), *plugin::parse_semver("0.2.7")));
    CHECK_FALSE(plugin::semver_compatible(*plugin::parse_semver_prefix("0.2"), *plugin::parse_semver("0.3.0")));
    CHECK_FALSE(plugin::parse_semver_prefix("0.2."));
    CHECK_FALSE(plugin::parse_semver_prefix("x"));
}

TEST_CASE("k6, Locust and Artillery words get ntx's word as a hint", "[dsl][hints]") {
    auto l = load(R"(options: {}
actions:
  a: {call: http.get, url: "http://x/", with: {url: "http://127.0.0.1:1/"}}
workflows: {w: {steps: [{ref: a}]}}
load:
  scenarios:
    - {name: s, workflow: w, vus: 10}
    - {name: t, workflow: w, users: 10}
    - {name: u, workflow: w, user-count: 1, duration: 30s}
    - {name: v, workflow: w, iterations: 5, rps: 3}
)");
    INFO(l.all());
    auto hint = [&](const std::string& message) {
        for (const auto& d : l.d)
            if (d.message == message) return d.hint;
        return std::string("(no such error)");
    };
    CHECK(hint("unknown key 'options' in script.yaml").find("load (scenarios, profiles) and thresholds") != std::string::npos);
    CHECK(hint("unknown key 'url' in an action") == "the URL is a parameter of the call: with: {url: ...}");
    CHECK(hint("unknown key 'vus' in a scenario").find("user-count (closed model), or --users N") != std::string::npos);
    CHECK(hint("unknown key 'users' in a scenario").find("Locust's users: ntx says user-count") == 0);
    CHECK(hint("'duration' belongs to the open model (with arrival-rate)").find("on a closed model, task-duration") == 0);
    CHECK(hint("unknown key 'iterations' in a scenario").find("loop: {count: N}") != std::string::npos);
    CHECK(hint("unknown key 'rps' in a scenario").find("arrival-rate") != std::string::npos);
}

TEST_CASE("CSV: quotes, doubled quotes, embedded newlines, BOM, CRLF, comments", "[resource][csv]") {
    std::vector<resource::CsvRecord> r;
    resource::CsvError e;
    REQUIRE(resource::parse_csv("\xEF\xBB\xBFip,port\r\n# a comment\r\n\r\n 127.0.0.1 , 80\r\n\"a,\"\"b\"\"\nc\",\"\"\r\nx,\n", r, e));
    REQUIRE(r.size() == 4);
    CHECK(r[0].fields[0].text == "ip");
    CHECK(r[0].fields[1].text == "port");
    CHECK(r[1].fields[0].text == "127.0.0.1");
    CHECK(r[1].fields[1].text == "80");
    CHECK(r[1].line == 4);
    CHECK(r[2].fields[0].text == "a,\"b\"\nc");
    CHECK(r[2].fields[1].text.empty());
    CHECK(r[2].line == 5);
    CHECK(r[3].line == 7);  // the quoted newline counts
    REQUIRE(r[3].fields.size() == 2);
    CHECK(r[3].fields[1].text.empty());
    CHECK(r[3].fields[1].column == 3);

    r.clear();
    CHECK_FALSE(resource::parse_csv("a,b\n\"open,\nnever closed\n", r, e));
    CHECK(e.message == "unterminated quote");
    CHECK(e.line == 2);
    CHECK(e.column == 1);
    CHECK(r.size() == 1);
    r.clear();
    CHECK_FALSE(resource::parse_csv("a,\"b\"c\n", r, e));
    CHECK(e.line == 1);
    CHECK(e.column == 6);
    r.clear();
    CHECK_FALSE(resource::parse_csv("a,b\"c\n", r, e));
    CHECK(e.column == 4);
    r.clear();
    REQUIRE(resource::parse_csv("no newline at the end", r, e));
    CHECK(r.size() == 1);
}

TEST_CASE("a CSV manifest's header row names the fields when parser.fields is absent", "[resource][csv]") {
    const std::string script = R"(resources:
  pool:
    type: pair_pool
    config: {manifest: pairs.csv}
workflows: {w: {steps: [{action: http.get, with: {url: "http://{{resource.ip}}:{{resource.port}}/"}}]}}
load: {scenarios: [{name: s, workflow: w, user: {inherit: [pool]}}]}
)";
    auto l = load(script, {}, {{"pairs.csv", "\xEF\xBB\xBFip,port\r\n127.0.0.1,20000\r\n\"127.0.0.2\",\"20001\"\r\n"}});
    INFO(l.all());
    REQUIRE(l.d.empty());
    CHECK(l.script.pools.at(0).fields == std::vector<std::string>{"ip", "port"});

    auto bad = load(script, {}, {{"pairs.csv", "ip,ip\n1,2\n"}});
    REQUIRE_FALSE(bad.d.empty());
    CHECK(bad.d[0].message.find("field 2 is 'ip' again") != std::string::npos);
    CHECK(bad.d[0].line == 1);
    // The DSL reads the header alone; the pool reads the rows once: each problem is reported once.
    auto rows = load(script, {}, {{"pairs.csv", "ip,port\n1,2\n\"3\n"}});
    REQUIRE(rows.script.pools.at(0).fields == std::vector<std::string>{"ip", "port"});
    CHECK(rows.d.empty());  // the unterminated quote on line 3 is the pool's to find (at its load)
    auto bad_utf8 = load(script, {}, {{"pairs.csv", "ip,po\xffrt\n1,2\n"}});
    REQUIRE(bad_utf8.d.size() == 1);
    CHECK(bad_utf8.d[0].message == "not valid UTF-8 text");
    CHECK(bad_utf8.d[0].column == 6);
    auto empty = load(script, {}, {{"pairs.csv", "# nothing\n"}});
    REQUIRE_FALSE(empty.d.empty());
    CHECK(empty.d[0].message.find("has no rows, so no header names the fields") != std::string::npos);
}
