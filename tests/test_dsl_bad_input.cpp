// Bad input to the DSL: every file gets a precise error (file, line, column), never a crash or a hang.
#include <catch2/catch.hpp>

#include <algorithm>

#include "dsl/script.hpp"
#include "dsl/yaml_source.hpp"
#include "resource/source_files.hpp"
#include "support/dsl_load.hpp"
#include "support/temp_res_dir.hpp"

using namespace ntx;
using ntx::test::dump;
using ntx::test::TempResDir;

namespace {

std::vector<Diagnostic> validate(const std::string& script) {
    TempResDir dir;
    dir.write("script.yaml", script);
    std::vector<Diagnostic> d;
    dsl::load_res_dir(dir.path(), ntx::resource::file_reader(), d);
    return d;
}

const Diagnostic* find(const std::vector<Diagnostic>& ds, const std::string& text) {
    auto it = std::find_if(ds.begin(), ds.end(), [&](const Diagnostic& d) { return d.message.find(text) != std::string::npos; });
    return it == ds.end() ? nullptr : &*it;
}

}  // namespace

TEST_CASE("text that is not UTF-8 is refused with the position of the first bad byte", "[dsl][bad-input]") {
    CHECK_FALSE(dsl::check_text("version: \"1.0\"\nname: \"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"\n"));

    struct Case {
        std::string text;
        int line, column;
        std::string what;
    };
    std::vector<Case> cases{
        {"a: 1\nb: \"x\xc3\x28\"\n", 2, 6, "invalid UTF-8 (byte 0xC3)"},  // a lead byte without its continuation
        {"a: \xc0\xaf\n", 1, 4, "invalid UTF-8 (byte 0xC0)"},             // an overlong '/'
        {"a: \xed\xa0\x80\n", 1, 4, "invalid UTF-8 (byte 0xED)"},         // a UTF-16 surrogate
        {"a: \xf4\x90\x80\x80\n", 1, 4, "invalid UTF-8 (byte 0xF4)"},     // past U+10FFFF
        {"a: 1\n\n  b\xff", 3, 4, "invalid UTF-8 (byte 0xFF)"},
        {"a: \xe2\x82", 1, 4, "invalid UTF-8 (byte 0xE2)"},  // truncated at the end of the file
        {std::string("a: 1\nb: x\0y\n", 12), 2, 5, "a NUL byte"},
        {"\xff\xfev\0e\0", 1, 1, "UTF-16"},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        auto f = dsl::check_text(c.text);
        REQUIRE(f);
        CHECK(f->line == c.line);
        CHECK(f->column == c.column);
        CHECK(f->what.find(c.what) != std::string::npos);
    }

    // Through the loader: one error, at the byte, and nothing else is attempted on that file.
    auto d = validate("version: \"1.0\"\nworkflows:\n  w\xe9: {}\n");
    INFO(dump(d));
    REQUIRE(d.size() == 1);
    CHECK(d[0].line == 3);
    CHECK(d[0].column == 4);
    CHECK(d[0].file.ends_with("script.yaml"));
}

TEST_CASE("a key written twice in one map is an error at the second, naming the first", "[dsl][bad-input]") {
    auto d = validate(R"(version: "1.0"
workflows:
  w:
    steps: [{think: 1s}]
  w:
    steps: [{think: 2s}]
load:
  scenarios:
    - {name: s, workflow: w, user-count: 1}
    - {name: s2, workflow: w, user-count: 1, user-count: 2}
)");
    INFO(dump(d));
    const auto* dup = find(d, "duplicate key 'w' (first at line 3, column 3)");
    REQUIRE(dup);
    CHECK(dup->line == 5);
    CHECK(dup->column == 3);
    const auto* dup2 = find(d, "duplicate key 'user-count' (first at line 10, column 31)");
    REQUIRE(dup2);
    CHECK(dup2->line == 10);
    CHECK(dup2->column == 46);
    // The same key in two different maps is not a duplicate.
    CHECK(std::count_if(d.begin(), d.end(), [](const Diagnostic& x) { return x.message.find("duplicate") != std::string::npos; }) == 2);
}

TEST_CASE("deep nesting, alias bombs, several documents and empty files get errors, not crashes", "[dsl][bad-input]") {
    SECTION("100,000 nested lists") {
        auto d = validate("version: " + std::string(100000, '[') + std::string(100000, ']') + "\n");
        REQUIRE(d.size() == 1);
        CHECK(d[0].message.find("nests deeper than") != std::string::npos);
        CHECK(d[0].line == 1);
    }
    SECTION("5,000 nested maps by indentation") {
        std::string s;
        for (int i = 0; i < 5000; ++i) s += std::string(static_cast<size_t>(i), ' ') + "a:\n";
        auto d = validate(s);
        REQUIRE(d.size() == 1);
        CHECK(d[0].message.find("nests deeper than") != std::string::npos);
        CHECK(d[0].line > 100);
    }
    SECTION("a billion laughs") {
        std::string s = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
        for (int i = 1; i < 12; ++i) {
            s += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
            for (int k = 0; k < 10; ++k) s += (k ? ", *a" : "*a") + std::to_string(i - 1);
            s += "]\n";
        }
        auto d = validate(s);
        INFO(dump(d));
        REQUIRE(d.size() == 1);
        CHECK(d[0].message.find("expands to more than 1000000 nodes") != std::string::npos);
        // Aliases within reason are fine: only the expansion is limited.
        std::vector<Diagnostic> out;
        CHECK(dsl::parse_yaml("a: &x [1, 2]\nb: *x\nc: *x\n", "t.yaml", out));
        CHECK(out.empty());
    }
    SECTION("two documents") {
        auto d = validate("version: \"1.0\"\n---\nversion: \"2.0\"\n");
        const auto* second = find(d, "a second YAML document");
        REQUIRE(second);
        CHECK(second->line == 2);
    }
    SECTION("an empty file and a file of comments") {
        for (const char* text : {"", "# nothing here\n\n"}) {
            auto d = validate(text);
            REQUIRE(d.size() == 1);
            CHECK(d[0].message == "script.yaml must be a map, found empty");
        }
    }
    SECTION("a scalar, a list, binary noise") {
        CHECK(find(validate("just words\n"), "script.yaml must be a map, found a scalar"));
        CHECK(find(validate("- a\n- b\n"), "script.yaml must be a map, found a list"));
        std::string noise;
        for (int i = 0; i < 4096; ++i) noise += static_cast<char>((i * 7919) % 251 + 1);
        auto d = validate(noise);
        REQUIRE_FALSE(d.empty());
        CHECK(d[0].line >= 1);
    }
}

TEST_CASE("wrong types and dangling references are each reported where they are written", "[dsl][bad-input]") {
    auto d = validate(R"(version: "1.0"
components:
  - name: http
    version: [1]
    entry: http
workflows:
  w:
    steps:
      - ref: nowhere
      - think: soon
    timeout: five
actions:
  a:
    component: htp
    call: get
load:
  scenarios:
    - name: s
      workflow: w2
      user-count: many
)");
    INFO(dump(d));
    struct Want {
        int line, column;
        std::string text;
    };
    for (const Want& w : std::vector<Want>{{4, 14, "version must be a scalar, found a list"},
                                           {9, 14, "unknown action 'nowhere'"},
                                           {10, 16, "think must be a duration"},
                                           {11, 14, "timeout must be a duration"},
                                           {14, 16, "unknown component 'htp'"},
                                           {19, 17, "unknown workflow 'w2'"},
                                           {20, 19, "user-count must be a non-negative integer"}}) {
        INFO(w.text);
        const auto* got = find(d, w.text);
        REQUIRE(got);
        CHECK(got->line == w.line);
        CHECK(got->column == w.column);
    }
}

TEST_CASE("config.yaml and resource/config.yaml get the same byte checks", "[dsl][bad-input]") {
    TempResDir dir;
    dir.write("script.yaml", "version: \"1.0\"\nworkflows:\n  w: {steps: [{think: 1s}]}\nload:\n  scenarios: [{name: s, workflow: w}]\n");
    dir.write("config.yaml", "threads: 1\nthreads: 2\n");
    dir.write("resource/config.yaml", "http: {a: \"\xc3\"}\n");
    std::vector<Diagnostic> d;
    dsl::load_res_dir(dir.path(), ntx::resource::file_reader(), d);
    INFO(dump(d));
    const auto* dup = find(d, "duplicate key 'threads'");
    REQUIRE(dup);
    CHECK(dup->file.ends_with("config.yaml"));
    CHECK(dup->line == 2);
    const auto* utf = find(d, "invalid UTF-8");
    REQUIRE(utf);
    CHECK(utf->file.ends_with("resource/config.yaml"));
    CHECK(utf->column == 12);
}
