// The ABI glue of the http plugin: ntx_plugin_entry and the hooks it hands to the host.
#include "config.hpp"
#include "http_connection.hpp"
#include "plugin_state.hpp"
#include "request.hpp"

#include <ntx/plugin_abi.h>
#include <ntx/sdk/abi_glue.hpp>
#include <ntx/sdk/validate.hpp>

#include <string_view>

namespace ntx::http {
namespace {

// Nothing here is global: several hosts may load this plugin in one process.
Error set_up(PluginState &state, std::string_view config_json, const ntx_init_ctx_t & /*ctx*/) {
    return parse_config(config_json, state.res_dir, state.config);
}

ntx_status_t plugin_run_action(void *plugin_state, ntx_action_t *action, const ntx_action_ctx_t *ctx) noexcept {
    auto *state = sdk::action_state<PluginState>(plugin_state, action, ctx);
    if (!state) return NTX_E_INVALID;
    auto *conn = static_cast<HttpConnection *>(*ctx->user_data);
    return sdk::guarded(
        [&] {
            if (!conn) {
                conn = new HttpConnection(*state, ctx->loop, ctx->loop_index);
                *ctx->user_data = conn;
            }
            return conn->start(action, *ctx);
        },
        [&] {
            if (conn) conn->abandon(action);  // the action ends with our return value: forget it
        });
}

}  // namespace

constexpr sdk::PluginTable kTable{
    .name = "http", .version = "0.2.2",  // 0.2.2: https, redirects, query params, status classes
    .capabilities = kCapabilities,
    .init = &sdk::init_hook<PluginState, &set_up>, .run_action = &plugin_run_action,
    .on_error = &sdk::abandon_on_error<HttpConnection>,  // the user's slot holds its connection
    .user_release = &sdk::delete_user_object<HttpConnection>, .release = &sdk::delete_state<PluginState>,
    .validate_action = &sdk::validate_hook<&check_params>};

}  // namespace ntx::http

NTX_SDK_PLUGIN_ENTRY(ntx::http::kTable);
