#include "plugin/param_check.hpp"

#include <fmt/format.h>

#include <string>

namespace ntx::plugin {
namespace {

ntx_str_t str(std::string_view s) { return {s.data(), s.size()}; }

std::string_view view(ntx_str_t s) { return s.ptr ? std::string_view(s.ptr, s.len) : std::string_view{}; }

// A value as the script writes it: literal text, and `{{...}}` around the rest. Sets `templated`
// when some part is known only at run time.
std::string source_of(const dsl::Template& t, bool& templated) {
    std::string out;
    templated = false;
    for (const dsl::TemplatePart& part : t.parts()) {
        if (part.kind == dsl::TemplatePart::Kind::literal) {
            out += part.text;
        } else {
            templated = true;
            out += "{{" + part.source + "}}";
        }
    }
    return out;
}

struct Problem {
    int32_t index;
    std::string message, hint;
};

void collect(void* report_ctx, const ntx_problem_t* problem) {
    if (!report_ctx || !problem || !NTX_HAS_MEMBER(problem, ntx_problem_t, message)) return;
    auto& problems = *static_cast<std::vector<Problem>*>(report_ctx);
    try {
        Problem p{problem->param_index, std::string(view(problem->message)), {}};
        if (NTX_HAS_MEMBER(problem, ntx_problem_t, hint)) p.hint = std::string(view(problem->hint));
        problems.push_back(std::move(p));
    } catch (...) {
        // Out of memory: this problem is lost, the plugin's status still says it found one.
    }
}

}  // namespace

bool has_validate_action(const LoadedPlugin& plugin) {
    const ntx_plugin_api_t& api = plugin.api;
    return api.abi_minor >= 2 && NTX_HAS_MEMBER(&api, ntx_plugin_api_t, validate_action) && api.validate_action;
}

void check_action_params(const LoadedPlugin& plugin, const dsl::ActionSpec& action, std::string_view component,
                         std::vector<Diagnostic>& diagnostics) {
    if (!has_validate_action(plugin)) return;
    std::vector<std::string> values;
    std::vector<uint32_t> flags;
    std::vector<ntx_kv_t> params;
    values.reserve(action.with.size());
    for (const auto& [key, value] : action.with) {
        bool templated = false;
        values.push_back(source_of(value, templated));
        flags.push_back(templated ? NTX_PARAM_TEMPLATED : 0u);
    }
    for (size_t i = 0; i < action.with.size(); ++i) params.push_back({str(action.with[i].first), str(values[i])});

    std::vector<Problem> problems;
    ntx_validate_ctx_t ctx{};
    ctx.size = sizeof ctx;
    ctx.component = str(component);
    ctx.action_name = str(action.name);
    ctx.call = str(action.call);
    ctx.params = params.data();
    ctx.param_count = params.size();
    ctx.param_flags = flags.data();
    ctx.report = &collect;
    ctx.report_ctx = &problems;
    ntx_status_t rc = NTX_E_INTERNAL;
    std::string thrown;
    try {
        rc = plugin.api.validate_action(&ctx);  // an in-process protocol's hook is C++ and might throw
    } catch (const std::exception& e) {
        thrown = e.what();
    } catch (...) {
        thrown = "unknown exception";
    }

    const std::string name = plugin.api.name ? plugin.api.name : plugin.path.string();
    auto add = [&](const dsl::SourceLoc& loc, std::string message, std::string hint) {
        diagnostics.push_back({loc.file, loc.line, loc.column, std::move(message), std::move(hint)});
    };
    for (Problem& p : problems) {
        const bool on_param = p.index >= 0 && static_cast<size_t>(p.index) < action.with_locs.size() &&
                              static_cast<size_t>(p.index) < params.size();
        if (p.index != NTX_PROBLEM_ACTION && !on_param) {
            add(action.call_loc,
                fmt::format("action '{}': plugin '{}' reported a problem of param #{}, which the action does not have: {}",
                            action.name, name, p.index, p.message),
                std::move(p.hint));
            continue;
        }
        add(on_param ? action.with_locs[static_cast<size_t>(p.index)] : action.call_loc,
            fmt::format("action '{}': {}", action.name, p.message), std::move(p.hint));
    }
    if (!thrown.empty()) {
        add(action.call_loc,
            fmt::format("action '{}': component '{}': plugin '{}' threw while checking the params: {}", action.name,
                        component, name, thrown),
            {});
    } else if (rc == NTX_E_INVALID && problems.empty()) {
        add(action.call_loc,
            fmt::format("action '{}': component '{}': plugin '{}' rejected the params without saying why", action.name,
                        component, name),
            {});
    } else if (rc != NTX_OK && rc != NTX_E_INVALID) {
        add(action.call_loc,
            fmt::format("action '{}': component '{}': plugin '{}' could not check the params: validate_action returned {}",
                        action.name, component, name, rc),
            "a plugin bug; the plugin's author can tell more");
    }
}

}  // namespace ntx::plugin
