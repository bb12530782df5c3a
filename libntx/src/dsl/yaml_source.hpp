// Checking a YAML file of a res_dir defensively, before the DSL looks at it: the bytes must be UTF-8
// without NULs, the file one document, no map may repeat a key (yaml-cpp keeps both and a lookup
// sees only the first: a silently ignored typo), and aliases may not blow the document up (a
// "billion laughs" file). Every problem is a Diagnostic with line and column. One yaml-cpp parse;
// the checks walk the loaded tree.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ntx/diagnostics.hpp"

namespace ntx::dsl {

// The most nodes a document may expand to through aliases (each alias counts the nodes it stands for).
inline constexpr uint64_t kMaxYamlNodes = 1'000'000;

// Position (1-based line and column, in bytes) of the first byte that is not valid UTF-8 or is NUL,
// with a description; nullopt when `text` is clean.
struct TextFault {
    int line = 0, column = 0;
    std::string what;
};
std::optional<TextFault> check_text(std::string_view text);

// Parses `text` (the contents of `file`, as named in diagnostics). Problems go to `out`; nullopt when
// the document cannot be used. An empty file is a Null node.
std::optional<YAML::Node> parse_yaml(const std::string& text, const std::string& file, std::vector<Diagnostic>& out);

}  // namespace ntx::dsl
