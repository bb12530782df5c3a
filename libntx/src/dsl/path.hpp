// The field paths templates and expressions read (`asset.body`, `resource.ip`, `env.user_id`,
// `blob.<name>.sha256`, `global.<var>`, `workbook.<field>`, `resource.<store>.<key>`), resolved once at
// planning to what rendering reads: one place for every root, shared by `{{...}}` and conditions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dsl/template.hpp"

namespace ntx::dsl {

struct ResolvedPath {
    enum class Kind : uint8_t {
        resource,  // a field of the resource the user holds (`field`)
        variable,  // a saved result, a file_blob or a kv_store key: `slot`, its `field`
        env,       // a scheduler value: `slot` is the EnvVar
        workbook,  // a workbook field: `slot` is its id (workbook::Schema)
    } kind = Kind::variable;
    uint32_t slot = 0;
    std::string field;
};

// The scheduler values `env.<name>` reads, by name.
std::optional<EnvVar> env_var(std::string_view name);

// Resolves `path` (a dotted field path, already checked to be one) with `resolve` (the script's
// variables, file_blobs, kv_store keys and workbook fields); on failure returns nullopt and sets `error`.
std::optional<ResolvedPath> resolve_path(std::string_view path, const Template::VariableResolver& resolve,
                                         std::string& error);

}  // namespace ntx::dsl
