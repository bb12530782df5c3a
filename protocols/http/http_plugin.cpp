// The ABI glue of the http plugin: ntx_plugin_entry and the hooks it hands to the host.
#include "config.hpp"
#include "http_connection.hpp"
#include "plugin_state.hpp"
#include "request.hpp"

#include <ntx/plugin_abi.h>
#include <ntx/sdk/abi_glue.hpp>
#include <ntx/sdk/validate.hpp>

#include <atomic>
#include <string>
#include <string_view>

namespace ntx::http {
namespace {

// Nothing here is global: several hosts may load this plugin in one process.
Error set_up(PluginState &state, std::string_view config_json, const ntx_init_ctx_t &ctx) {
    if (Error e = parse_config(config_json, state.res_dir, state.config)) return e;
    state.h2_pools.resize(ctx.loop_count);
    return {};
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

// release: what the users' jars and decoders refused or did, summed (the ABI has no plugin counters,
// so the log carries them), then the state goes.
void plugin_release(void *plugin_state) noexcept {
    auto *state = static_cast<PluginState *>(plugin_state);
    if (!state) return;
    try {
        const PluginCounters &c = state->counters;
        const auto n = [](const std::atomic<std::uint64_t> &a) { return a.load(std::memory_order_relaxed); };
        const std::uint64_t refused = n(c.cookies_malformed) + n(c.cookies_foreign) + n(c.cookies_oversized);
        if (refused + n(c.cookies_evicted) > 0) {
            state->log(nullptr, NTX_LOG_WARN,
                       "http: " + std::to_string(refused) + " Set-Cookie headers ignored (" +
                           std::to_string(n(c.cookies_malformed)) + " malformed, " + std::to_string(n(c.cookies_foreign)) +
                           " for another domain, " + std::to_string(n(c.cookies_oversized)) + " over max-cookie-bytes), " +
                           std::to_string(n(c.cookies_evicted)) + " cookies dropped over max-cookies / max-cookie-jar-bytes");
        }
        if (n(c.bodies_decoded) > 0) {
            state->log(nullptr, NTX_LOG_INFO,
                       "http: compression: " + std::to_string(n(c.bodies_decoded)) + " bodies decoded, " +
                           std::to_string(n(c.encoded_bytes)) + " bytes received -> " + std::to_string(n(c.decoded_bytes)) +
                           " bytes decoded");
        }
    } catch (...) {
    }
    sdk::delete_state<PluginState>(plugin_state);
}

}  // namespace

constexpr sdk::PluginTable kTable{
    .name = "http", .version = "0.2.3",  // 0.2.3: cookies, compression, form/multipart/json/auth bodies, h2c
    .capabilities = kCapabilities,
    .init = &sdk::init_hook<PluginState, &set_up>, .run_action = &plugin_run_action,
    .on_error = &sdk::abandon_on_error<HttpConnection>,  // the user's slot holds its connection
    .user_release = &sdk::delete_user_object<HttpConnection>, .release = &plugin_release,
    .validate_action = &sdk::validate_hook<&check_params>};

}  // namespace ntx::http

NTX_SDK_PLUGIN_ENTRY(ntx::http::kTable);
