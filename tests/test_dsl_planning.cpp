// Planning checks that catch what would otherwise only fail at run time: {{resource.<field>}} where
// no pool is leased or no pool has the field, the design notes' `action: log.error`, and the order in
// which the problems are listed.
#include <catch2/catch.hpp>

#include <algorithm>

#include "dsl/script.hpp"
#include "resource/source_files.hpp"
#include "support/temp_res_dir.hpp"

using namespace ntx;
using ntx::test::TempResDir;

namespace {

const char* kPool = R"(
resources:
  targets:
    type: pair_pool
    provider: {component: resource-manager}
    config:
      manifest: ./pairs.csv
      parser: {format: csv, fields: [ip, port]}
)";

std::vector<Diagnostic> validate(const std::string& script) {
    TempResDir dir;
    dir.write("pairs.csv", "127.0.0.1,20000\n127.0.0.1,20001\n");
    dir.write("script.yaml", script);
    std::vector<Diagnostic> d;
    dsl::load_res_dir(dir.path(), ntx::resource::file_reader(), d);
    return d;
}

std::string dump(const std::vector<Diagnostic>& ds) {
    std::string s;
    for (const auto& d : ds) s += d.to_string() + "\n";
    return s;
}

std::string components() {
    return "components:\n  - {name: resource-manager, version: \"1.0.0\", kind: builtin}\n"
           "  - {name: http, version: \"0.2.2\", entry: http}\n";
}

}  // namespace

TEST_CASE("resource.<field> in a workflow whose scenario inherits no pool is a planning error", "[dsl][planning]") {
    auto d = validate(components() + kPool + R"(
workflows:
  w:
    steps:
      - action: http.get
        with: {url: "http://{{resource.ip}}:{{resource.port}}/cfg"}
load:
  scenarios:
    - {name: leased, workflow: w, user-count: 1, user: {inherit: [targets]}}
    - {name: bare, workflow: w, user-count: 1}
)");
    INFO(dump(d));
    // Once per field read; the scenario that leases an item is fine.
    REQUIRE(d.size() == 2);
    for (const auto& diag : d) {
        CHECK(diag.line == 17);    // the `with` value that reads it
        CHECK(diag.column == 21);
        CHECK(diag.message.find("reads the user's leased resource item, but scenario 'bare' (workflow 'w') inherits no pool") !=
              std::string::npos);
        CHECK(diag.hint == "lease an item per user: `user: {inherit: [targets]}` in the scenario");
    }
    CHECK(d[0].message.find("'resource.ip'") == 0);
    CHECK(d[1].message.find("'resource.port'") == 0);
}

TEST_CASE("resource.<field> that no inherited pool has is a planning error with a guess", "[dsl][planning]") {
    auto d = validate(components() + kPool + R"(
workflows:
  w:
    steps:
      - if: "resource.prot == '20000'"
        then: [{log: "first port"}]
      - log: "{{resource.ipp}}"
load:
  scenarios:
    - {name: s, workflow: w, user-count: 1, user: {inherit: [targets]}}
)");
    INFO(dump(d));
    REQUIRE(d.size() == 2);
    CHECK(d[0].line == 16);
    CHECK(d[0].message ==
          "'resource.prot': no pool that scenario 's' inherits (targets) has a field 'prot'; their fields: ip, port");
    CHECK(d[0].hint == "did you mean 'resource.port'?");
    CHECK(d[1].line == 18);
    CHECK(d[1].hint == "did you mean 'resource.ip'?");
}

TEST_CASE("resource reads guarded by exists() or default() need no pool", "[dsl][planning]") {
    auto d = validate(components() + R"Y(
workflows:
  w:
    steps:
      - if: "exists(resource.ip)"
        then: [{log: "leased"}]
      - log: "{{default(resource.ip, 'none')}}"
load:
  scenarios:
    - {name: s, workflow: w, user-count: 1}
)Y");
    INFO(dump(d));
    CHECK(d.empty());
}

TEST_CASE("the design notes' `action: log.error` gets a hint to write a log step", "[dsl][planning]") {
    auto d = validate(components() + R"(
workflows:
  w:
    steps:
      - action: http.get
        with: {url: "http://127.0.0.1:1/"}
    on-error:
      - action: log.error
      - goto: closing
load:
  scenarios:
    - {name: s, workflow: w, user-count: 1}
)");
    INFO(dump(d));
    REQUIRE(d.size() == 1);
    CHECK(d[0].message == "unknown component 'log'");
    CHECK(d[0].line == 11);
    CHECK(d[0].hint == "a log line is a step of its own: `- log: \"<message>\"` with `level: error`");
}

TEST_CASE("problems are listed in reading order: by file, then line and column", "[dsl][planning]") {
    // Found in another order: components are checked after the workflows that name them, scenarios
    // before, and so on.
    auto d = validate(R"(components:
  - {name: http, version: "0.2.2", entry: http, kindd: native}
workflows:
  w:
    steps:
      - action: htp.get
        with: {url: "http://127.0.0.1:1/"}
      - {think: 10 parsecs}
load:
  scenarios:
    - {name: s, workflow: w, users: 1}
)");
    INFO(dump(d));
    REQUIRE(d.size() >= 4);
    for (size_t i = 1; i < d.size(); ++i) {
        CHECK(d[i - 1].file == d[i].file);
        CHECK(std::pair(d[i - 1].line, d[i - 1].column) <= std::pair(d[i].line, d[i].column));
    }
    CHECK(d.front().line == 2);
    CHECK(d.back().line == 11);
}

TEST_CASE("an InvalidInput lists every problem in reading order, whoever found it", "[dsl][planning]") {
    // The parser's, then the plugin loader's and the manifests' problems, found in that order.
    InvalidInput e({{"res/script.yaml", 40, 3, "parser", ""},
                    {"res/script.yaml", 0, 0, "whole file", ""},
                    {"res/pairs.csv", 2, 1, "manifest", ""},
                    {"res/script.yaml", 6, 12, "plugin", ""},
                    {"res/script.yaml", 6, 12, "plugin, second at the same place", ""}});
    std::vector<std::string> order;
    for (const auto& d : e.diagnostics()) order.push_back(d.message);
    CHECK(order == std::vector<std::string>{"whole file", "plugin", "plugin, second at the same place", "parser", "manifest"});
    CHECK(std::string(e.what()) ==
          "res/script.yaml: error: whole file\nres/script.yaml:6:12: error: plugin\n"
          "res/script.yaml:6:12: error: plugin, second at the same place\nres/script.yaml:40:3: error: parser\n"
          "res/pairs.csv:2:1: error: manifest");
}

TEST_CASE("resource metadata is free-form; a pair_pool's config refuses a file_blob's keys", "[dsl][planning]") {
    auto d = validate(components() + R"(
resources:
  targets:
    type: pair_pool
    metadata: {owner: qa, guard: network, tags: [edge]}
    config:
      manifest: ./pairs.csv
      parser: {format: csv, fields: [ip, port]}
      checksum: auto
workflows:
  w: {steps: [{think: 1ms}]}
load:
  scenarios:
    - {name: s, workflow: w, user-count: 1, user: {inherit: [targets]}}
)");
    INFO(dump(d));
    REQUIRE(d.size() == 1);
    CHECK(d[0].line == 12);
    CHECK(d[0].message == "'checksum' is a file_blob's config; pair_pool 'targets' reads its items from config.manifest");
    CHECK(d[0].hint == "type: file_blob for one shared file");
}

TEST_CASE("exits: known routes only, one key per exit, in scenarios and monitoring", "[dsl][planning]") {
    auto d = validate(components() + R"(
workflows:
  w: {steps: [{think: 1ms}]}
monitoring:
  exits: {error: closed, timeout: 5s}
load:
  scenarios:
    - name: s
      workflow: w
      user-count: 1
      exit: {error: fatal, error-out: closing, timeout: 2m}
    - {name: t, workflow: w, user-count: 1, exits: {timeout-out: 5s}}
)");
    INFO(dump(d));
    REQUIRE(d.size() == 3);
    CHECK(d[0].message == "unknown exit 'closed' in monitoring.exits.error");
    CHECK(d[0].hint == "error_out, timeout_out, closing or fatal");
    // A duration is a scenario's max-duration (scenario t is fine); the run-wide default has none.
    CHECK(d[1].message == "unknown exit '5s' in monitoring.exits.timeout");
    CHECK(d[2].line == 14);
    CHECK(d[2].message == "exit has both 'error' and 'error-out' (the same exit)");
}

TEST_CASE("a scenario whose workflow is unknown is not checked further (found by the fuzzer)", "[dsl][planning]") {
    // No workflow at all, and one that names another: the resource check must not read either.
    for (const char* workflows : {"workflows: {}\n", "workflows:\n  other: {steps: [{log: \"{{resource.ip}}\"}]}\n"}) {
        auto d = validate(components() + kPool + workflows + R"(
load:
  scenarios: [{name: s, workflow: nope, user-count: 1}]
)");
        INFO(dump(d));
        REQUIRE(d.size() == 1);
        CHECK(d[0].message.find("unknown workflow 'nope'") != std::string::npos);
    }
}
