// save-as extract: the values an action's result gives its variable beyond the plugin's own fields
// (`token: {json: /token}`, `sid: {header: set-cookie, regex: "sid=([^;]+)"}`), compiled once at
// planning. The scheduler evaluates them (scheduler/extractor.cpp); nothing here runs per request.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ntx::dsl {

// An RFC 6901 JSON Pointer split into its reference tokens (~0 and ~1 already unescaped). A token
// written as an array index (0, or digits without a leading 0) also carries the index.
struct JsonPointer {
    struct Token {
        std::string key;
        std::optional<uint64_t> index;
    };
    std::vector<Token> tokens;  // empty: the whole document
    std::string text;           // as a pointer (/user/id), for messages
};

// RFC 6901 (`/user/id`, `` for the whole document) or the JSONPath subset `$.user.id`,
// `$.items[0].name`, `$['a b']` (a path to one value: no wildcards, filters or slices), converted to
// a pointer. nullopt with `error` (and the offset of the problem in `error_offset`) otherwise.
std::optional<JsonPointer> compile_json_pointer(std::string_view text, std::string& error, size_t& error_offset);

struct CompiledRegex;  // dsl/extract_regex.hpp: the Boost.Regex engine and the group to take

// A regular expression (Perl syntax, Boost.Regex), compiled once. The value taken is its first
// capture group, or the whole match when it has none. nullptr with `error` when it does not compile.
std::shared_ptr<const CompiledRegex> compile_regex(std::string_view pattern, std::string& error, size_t& error_offset);

// One entry of save-as extract.
struct ExtractSpec {
    enum class Source : uint8_t {
        json,    // the body parsed as JSON, at `pointer`
        header,  // the response header `header` (the result field headers.<name>), through `regex` if any
        body,    // the body, through `regex`
    } source = Source::json;
    std::string name;    // the field it adds to the saved result ({{var.name}})
    JsonPointer pointer;
    std::string header_field;  // "headers.<name, lower case>"
    std::shared_ptr<const CompiledRegex> regex;
    std::optional<std::string> default_value;  // taken when nothing is found (else a counted extract error)
    std::string written;  // how the script wrote it, for messages ({json: /token})
    std::string file;
    int line = 0, column = 0;
};

}  // namespace ntx::dsl
