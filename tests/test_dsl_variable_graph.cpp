// The variable graph of `steps` workflows: a read is checked against what some path of the control
// flow (if sides, loops and their back edges, gotos, parallel branches) from the start can have saved.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "dsl/script.hpp"
#include "resource/source_files.hpp"
#include "support/temp_res_dir.hpp"

using namespace ntx;
using ntx::test::TempResDir;

namespace {

// A script around `steps` (the steps of workflow 'w', indented by six spaces): `login` saves
// `token`, `use` reads it, `other` reads nothing.
std::string script(const std::string& steps, const std::string& extra = "") {
    return R"(version: "1.0"
components:
  - {name: http, version: "0.2.1", entry: http}
workflows:
  w:
    steps:
)" + steps + R"(actions:
  login: {component: http, call: get, with: {url: "http://127.0.0.1:1/login"}, save-as: token}
  use: {component: http, call: get, with: {url: "http://127.0.0.1:1/{{token.body}}"}}
  other: {component: http, call: get, with: {url: "http://127.0.0.1:1/other"}}
load:
  scenarios:
    - {name: s, workflow: w, user-count: 1}
)" + extra;
}

// The diagnostics of validating `steps`, one string each ("script.yaml:line:col: error: ...").
std::vector<std::string> check(const std::string& steps, const std::string& extra = "") {
    TempResDir dir;
    dir.write("script.yaml", script(steps, extra));
    std::vector<Diagnostic> d;
    dsl::load_res_dir(dir.path(), ntx::resource::file_reader(), d);
    std::vector<std::string> out;
    for (const auto& x : d) {
        std::string s = x.to_string();
        out.push_back(s.substr(s.rfind("script.yaml")));
    }
    return out;
}

}  // namespace

TEST_CASE("variable graph: an else side cannot read what only the then side saves", "[dsl][graph]") {
    auto d = check(R"(      - ref: other
      - if: "env.user_id % 2 == 0"
        then: [{ref: login}]
        else: [{ref: use}]
)");
    REQUIRE(d.size() == 1);
    CHECK(d[0] == "script.yaml:13:49: error: action 'use' (step 5 of workflow 'w') reads 'token' in with.url, but no "
                  "earlier step of the workflow saves it: w[2] (if: else) -> w[2].else[1]");
}

TEST_CASE("variable graph: a then side cannot read what only the else side saves", "[dsl][graph]") {
    auto d = check(R"(      - if: "env.user_id % 2 == 0"
        then: [{ref: use}]
        else: [{ref: login}]
)");
    REQUIRE(d.size() == 1);
    CHECK(d[0] == "script.yaml:12:49: error: action 'use' (step 2 of workflow 'w') reads 'token' in with.url, but no "
                  "earlier step of the workflow saves it: w[1] (if: then) -> w[1].then[1]");
}

TEST_CASE("variable graph: a read after an if whose sides both save is fine", "[dsl][graph]") {
    CHECK(check(R"(      - if: "env.user_id % 2 == 0"
        then: [{ref: login}]
        else: [{ref: other}, {ref: login}]
      - ref: use
)").empty());
}

TEST_CASE("variable graph: a read after an if without else, whose then saves, is fine (some path saves)", "[dsl][graph]") {
    // Only "may have been saved" is checked at planning: the path that skips the then side reaches
    // the read without the save, which is a counted error at run time.
    CHECK(check(R"(      - if: "env.user_id % 2 == 0"
        then: [{ref: login}]
      - ref: use
)").empty());
}

TEST_CASE("variable graph: a loop body may read what a later step of the body saves", "[dsl][graph]") {
    // The loop's back edge carries the save to the next iteration's start (the first iteration's
    // read is a counted error at run time).
    CHECK(check(R"(      - loop: {count: 3}
        steps: [{ref: use}, {ref: login}]
)").empty());
    // A while condition may read what the body saves, too.
    CHECK(check(R"(      - loop: {while: "token.status != '200'", max: 3}
        steps: [{ref: login}]
)").empty());
}

TEST_CASE("variable graph: a loop body cannot read what only a step after the loop saves", "[dsl][graph]") {
    auto d = check(R"(      - loop: {count: 3}
        steps: [{ref: use}]
      - ref: login
)");
    REQUIRE(d.size() == 1);
    CHECK(d[0] == "script.yaml:12:49: error: action 'use' (step 3 of workflow 'w') reads 'token' in with.url, but no "
                  "earlier step of the workflow saves it: w[1] (loop: body) -> w[1].steps[1]");
}

TEST_CASE("variable graph: a read after a loop whose body saves is fine", "[dsl][graph]") {
    CHECK(check(R"(      - loop: {count: 2}
        steps: [{ref: login}]
      - ref: use
)").empty());
}

TEST_CASE("variable graph: a goto that skips the save is an error, with the goto on the path", "[dsl][graph]") {
    auto d = check(R"(      - ref: other
      - goto: finish
      - ref: login
      - name: finish
        ref: use
)");
    REQUIRE(d.size() == 1);
    CHECK(d[0] == "script.yaml:14:49: error: action 'use' (step 4 of workflow 'w') reads 'token' in with.url, but no "
                  "earlier step of the workflow saves it: w[2] (goto 'finish') -> w[4]");
}

TEST_CASE("variable graph: a goto back to a step after the save is fine", "[dsl][graph]") {
    CHECK(check(R"(      - ref: login
      - name: again
        ref: use
      - if: "env.tick < 0"
        then: [{goto: again}]
)").empty());
}

TEST_CASE("variable graph: a read before the save, with no choice on the way, names no path", "[dsl][graph]") {
    auto d = check(R"(      - ref: use
      - ref: login
)");
    REQUIRE(d.size() == 1);
    CHECK(d[0] == "script.yaml:11:49: error: action 'use' (step 1 of workflow 'w') reads 'token' in with.url, but no "
                  "earlier step of the workflow saves it");
}

TEST_CASE("variable graph: a parallel branch cannot read what a sibling saves; after the step it can", "[dsl][graph]") {
    auto d = check(R"(      - parallel:
          - ref: login
          - ref: use
      - ref: use
)");
    REQUIRE(d.size() == 1);
    CHECK(d[0] == "script.yaml:13:49: error: action 'use' (step 1 of workflow 'w[1].parallel[2]') reads 'token' in "
                  "with.url, but no earlier step of the workflow saves it");
    // A branch starts from what was saved before the parallel step.
    CHECK(check(R"(      - ref: login
      - parallel:
          - ref: use
          - {steps: [{ref: other}, {ref: use}]}
)").empty());
}

TEST_CASE("variable graph: steps that never run are not checked", "[dsl][graph]") {
    CHECK(check(R"(      - ref: other
      - goto: closing
      - ref: use
)").empty());
}

TEST_CASE("variable graph: conditions and log lines are checked on the same paths", "[dsl][graph]") {
    auto d = check(R"(      - if: "env.user_id > 1"
        then: [{ref: login}]
        else:
          - log: "no token: {{token.status}}"
          - if: "token.status == '200'"
            then: [{ref: other}]
)");
    REQUIRE(d.size() == 2);
    CHECK(d[0] == "script.yaml:10:18: error: the log step (step 4 of workflow 'w') reads 'token', but no earlier step "
                  "of the workflow saves it: w[1] (if: else) -> w[1].else[1]");
    CHECK(d[1] == "script.yaml:11:17: error: the condition 'token.status == '200'' (step 5 of workflow 'w') reads "
                  "'token', but no earlier step of the workflow saves it: w[1] (if: else) -> w[1].else[2]");
}

TEST_CASE("variable graph: update-workbook reads are checked too", "[dsl][graph]") {
    const std::string workbook = "workbook:\n  registers:\n    fields: [note]\n";
    auto d = check(R"(      - update-workbook:
          registers.note: "{{token.status}}"
      - ref: login
      - update-workbook:
          registers.note: "{{token.status}}"
)", workbook);
    REQUIRE(d.size() == 1);
    CHECK(d[0] == "script.yaml:8:11: error: the update-workbook step (step 1 of workflow 'w') reads 'token' for "
                  "registers.note, but no earlier step of the workflow saves it");
}
