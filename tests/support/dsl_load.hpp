// Loading scripts through the DSL in the unit tests, and reading the diagnostics that gives.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "dsl/script.hpp"
#include "resource/source_files.hpp"
#include "support/temp_res_dir.hpp"

namespace ntx::test {

// Loads the res_dir `dir`; the compiled script goes to `out` when given. Returns the diagnostics.
inline std::vector<Diagnostic> load(const TempResDir& dir, dsl::Script* out = nullptr) {
    std::vector<Diagnostic> d;
    auto s = dsl::load_res_dir(dir.path(), ntx::resource::file_reader(), d);
    if (out) *out = std::move(s);
    return d;
}

// Loads a throw-away res_dir whose script.yaml is `text`.
inline std::vector<Diagnostic> load(const std::string& text, dsl::Script* out = nullptr) {
    TempResDir dir;
    dir.write("script.yaml", text);
    return load(dir, out);
}

// One line per diagnostic, for INFO().
inline std::string dump(const std::vector<Diagnostic>& ds) {
    std::string s;
    for (const auto& d : ds) s += d.to_string() + "\n";
    return s;
}

// Whether some diagnostic is at line:col, has `text` in its message and (when given) the hint `hint`.
inline bool has(const std::vector<Diagnostic>& ds, int line, int col, const std::string& text,
                const std::string& hint = "") {
    return std::any_of(ds.begin(), ds.end(), [&](const Diagnostic& d) {
        return d.line == line && d.column == col && d.message.find(text) != std::string::npos &&
               (hint.empty() || d.hint == hint);
    });
}

// Loads the res_dir `dir`, which must compile without a diagnostic; returns the compiled script.
inline dsl::Script compiled(const TempResDir& dir) {
    dsl::Script s;
    auto d = load(dir, &s);
    INFO(dump(d));
    REQUIRE(d.empty());
    return s;
}

// Loads `text` as script.yaml; it must compile without a diagnostic. Returns the compiled script.
inline dsl::Script compiled(const std::string& text) {
    TempResDir dir;
    dir.write("script.yaml", text);
    return compiled(dir);
}

// Loads `text`, which must give exactly one diagnostic: at line:col, with `message` in its message
// and (when given) the hint `hint`.
inline void check_only_error(const std::string& text, int line, int col, const std::string& message,
                             const std::string& hint = "") {
    auto d = load(text);
    INFO(dump(d));
    REQUIRE(d.size() == 1);
    CHECK(has(d, line, col, message, hint));
}

// `text` with the first `from` (which must be in it) replaced by `to`.
inline std::string replaced(std::string text, const std::string& from, const std::string& to) {
    auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
    return text;
}

}  // namespace ntx::test
