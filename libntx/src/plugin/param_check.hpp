// Checks an action's `with` params through its plugin's validate_action (ABI 1.2) at planning.
#pragma once

#include <string_view>
#include <vector>

#include "dsl/script.hpp"
#include "ntx/diagnostics.hpp"
#include "plugin/plugin_loader.hpp"

namespace ntx::plugin {

// Whether the plugin's table holds validate_action (a 1.2 plugin that filled it).
bool has_validate_action(const LoadedPlugin& plugin);

// Hands `action`'s params to the plugin's validate_action (when it has one) and appends a diagnostic
// for each problem it reports, at the value's file:line:col (the action's call for a problem of the
// whole action), or for its failing to check (a status other than NTX_OK / NTX_E_INVALID). A templated
// value is passed as its template's source, flagged NTX_PARAM_TEMPLATED.
void check_action_params(const LoadedPlugin& plugin, const dsl::ActionSpec& action, std::string_view component,
                         std::vector<Diagnostic>& diagnostics);

}  // namespace ntx::plugin
