#include "dsl/path.hpp"

#include <fmt/format.h>

namespace ntx::dsl {

std::optional<EnvVar> env_var(std::string_view name) {
    if (name == "user_id") return EnvVar::user_id;
    if (name == "task_id") return EnvVar::task_id;
    if (name == "tick") return EnvVar::tick;
    if (name == "scenario") return EnvVar::scenario;
    if (name == "phase") return EnvVar::phase;
    return std::nullopt;
}

std::optional<ResolvedPath> resolve_path(std::string_view path, const Template::VariableResolver& resolve,
                                         std::string& error) {
    const size_t dot = path.find('.');
    const std::string_view root = path.substr(0, dot);
    const std::string_view rest = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
    // <name>[.field] under a root (blob., global.): the name, and the field (body when none).
    const size_t dot2 = rest.find('.');
    const std::string_view name = rest.substr(0, dot2);
    const std::string field = dot2 == std::string_view::npos ? std::string("body") : std::string(rest.substr(dot2 + 1));
    ResolvedPath out;
    if (root == "resource" && dot2 != std::string_view::npos) {
        // resource.<store>.<key>: a kv_store's value, a constant resolved here.
        auto slot = resolve(path);
        if (!slot) {
            error = fmt::format("'{}': no kv_store resource '{}' with key '{}'", path, name, rest.substr(dot2 + 1));
            return std::nullopt;
        }
        out.slot = *slot;
        out.field = "body";
    } else if (root == "resource") {
        if (rest.empty()) {
            error = fmt::format("'{}': expected resource.<field>, e.g. resource.ip", path);
            return std::nullopt;
        }
        out.kind = ResolvedPath::Kind::resource;
        out.field = std::string(rest);
    } else if (root == "env") {
        // ntx's own names first, then -e KEY=VALUE, then the process environment (a constant).
        if (auto var = env_var(rest)) {
            out.kind = ResolvedPath::Kind::env;
            out.slot = static_cast<uint32_t>(*var);
        } else if (auto slot = rest.empty() ? std::nullopt : resolve(path)) {
            out.slot = *slot;
            out.field = "body";
        } else {
            error = fmt::format("'{}': '{}' is not defined (ntx defines user_id, task_id, tick, scenario and phase; "
                                "give -e {}=VALUE, set {} in the environment, or read it through "
                                "default({}, \"...\"))",
                                path, rest, rest, rest, path);
            return std::nullopt;
        }
    } else if (root == "blob") {
        // blob.<name>[.field]: a file_blob's body (or sha256 / size), a constant variable.
        auto slot = resolve(fmt::format("blob.{}", name));
        if (name.empty() || !slot) {
            error = fmt::format("'{}': no file_blob resource named '{}'", path, name);
            return std::nullopt;
        }
        out.slot = *slot;
        out.field = field;
    } else if (root == "workbook") {
        auto id = rest.empty() ? std::nullopt : resolve(fmt::format("workbook.{}", rest));
        if (!id) {
            error = fmt::format("'{}': the workbook has no field or alias '{}' (declare it under workbook:)", path, rest);
            return std::nullopt;
        }
        out.kind = ResolvedPath::Kind::workbook;
        out.slot = *id;
    } else if (root == "global") {
        // global.<name>[.field]: a variable saved with scope global (the latest value any user saved).
        auto slot = name.empty() ? std::nullopt : resolve(fmt::format("global.{}", name));
        if (!slot) {
            error = fmt::format("'{}': no action saves a global variable named '{}' (save-as with scope: global)", path, name);
            return std::nullopt;
        }
        out.slot = *slot;
        out.field = field;
    } else {
        auto slot = resolve(root);
        // In a check, the action's own result (status, body, headers.x): the whole path is its field.
        if (!slot) {
            if (auto r = resolve(fmt::format("@result.{}", root))) {
                out.slot = *r;
                out.field = std::string(path);
                return out;
            }
        }
        if (!slot) {
            error = fmt::format("'{}': no action saves a variable named '{}' (save-as)", path, root);
            return std::nullopt;
        }
        out.slot = *slot;
        out.field = rest.empty() ? std::string("body") : std::string(rest);
    }
    return out;
}

}  // namespace ntx::dsl
