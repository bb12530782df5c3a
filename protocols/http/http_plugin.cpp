// The ABI glue of the http plugin: ntx_plugin_entry and the hooks it hands to the host.
#include "config.hpp"
#include "http_connection.hpp"
#include "plugin_state.hpp"
#include "request.hpp"

#include <ntx/plugin_abi.h>

#include <iterator>
#include <memory>
#include <new>
#include <string_view>
#include <type_traits>

namespace ntx::http {
namespace {

constexpr const char *kName = "http";
constexpr const char *kVersion = "0.2.2";  // 0.2.2: https, redirects, query params, status classes

// Everything this plugin calls is part of 1.0; a smaller table is not a 1.x host.
bool usable_host_api(const ntx_host_api_t *api) noexcept {
    return api && NTX_HAS_MEMBER(api, ntx_host_api_t, abi_minor) && api->abi_major == NTX_ABI_MAJOR &&
           NTX_HAS_MEMBER(api, ntx_host_api_t, strerror);
}

ntx_status_t plugin_init(ntx_host_t *host, const ntx_init_ctx_t *ctx, void **plugin_state) noexcept {
    try {
        if (!plugin_state) return NTX_E_INVALID;
        *plugin_state = nullptr;
        // The host table comes with init, not from the entry: several hosts may load this plugin in one
        // process, and each plugin state must keep its own host's table. Nothing here is global.
        if (!ctx || !NTX_HAS_MEMBER(ctx, ntx_init_ctx_t, host_api)) return NTX_E_ABI;
        const ntx_host_api_t *api = ctx->host_api;
        if (!usable_host_api(api)) return NTX_E_ABI;

        auto state = std::make_unique<PluginState>();
        state->api = api;
        state->host = host;

        if (ctx->res_dir.ptr) state->res_dir.assign(ctx->res_dir.ptr, ctx->res_dir.len);
        std::string_view config_json = "{}";
        if (ctx->config_json.ptr) config_json = std::string_view(ctx->config_json.ptr, ctx->config_json.len);
        if (Error e = parse_config(config_json, state->res_dir, state->config)) {
            state->log(nullptr, NTX_LOG_ERROR, e.reason);
            return e.code;
        }
        *plugin_state = state.release();
        return NTX_OK;
    } catch (const std::bad_alloc &) {
        return NTX_E_NOMEM;
    } catch (...) {
        return NTX_E_INTERNAL;
    }
}

ntx_status_t plugin_run_action(void *plugin_state, ntx_action_t *action, const ntx_action_ctx_t *ctx) noexcept {
    auto *state = static_cast<PluginState *>(plugin_state);
    if (!state || !action || !ctx || !NTX_HAS_MEMBER(ctx, ntx_action_ctx_t, user_data) || !ctx->user_data) {
        return NTX_E_INVALID;
    }
    auto *conn = static_cast<HttpConnection *>(*ctx->user_data);
    try {
        if (!conn) {
            conn = new HttpConnection(*state, ctx->loop, ctx->loop_index);
            *ctx->user_data = conn;
        }
        return conn->start(action, *ctx);
    } catch (const std::bad_alloc &) {
        if (conn) conn->abandon(action);  // the action ends with our return value: forget it
        return NTX_E_NOMEM;
    } catch (...) {
        if (conn) conn->abandon(action);
        return NTX_E_INTERNAL;
    }
}

void plugin_on_error(void * /*plugin_state*/, ntx_action_t *action, void **user_data, ntx_status_t /*code*/,
                     ntx_str_t /*reason*/) noexcept {
    // The user's slot holds its connection, which knows whether `action` is the one it runs.
    if (!action || !user_data || !*user_data) return;
    static_cast<HttpConnection *>(*user_data)->abandon(action);
}

void plugin_user_release(void *plugin_state, std::uint64_t /*user_id*/, void *user_data) noexcept {
    (void)plugin_state;
    try {
        delete static_cast<HttpConnection *>(user_data);
    } catch (...) {
    }
}

void plugin_release(void *plugin_state) noexcept {
    try {
        delete static_cast<PluginState *>(plugin_state);
    } catch (...) {
    }
}

}  // namespace
}  // namespace ntx::http

extern "C" NTX_PLUGIN_EXPORT ntx_status_t ntx_plugin_entry(const ntx_host_api_t *host_api,
                                                           ntx_plugin_api_t *plugin_api) noexcept {
    using namespace ntx::http;
    try {
        if (!host_api || !plugin_api) return NTX_E_INVALID;
        // The table is checked here, but kept only from init's ctx->host_api (see plugin_init).
        if (!usable_host_api(host_api)) return NTX_E_ABI;
        // The hooks are 1.0 members too: a host that cannot take them cannot run this plugin.
        if (!NTX_HAS_MEMBER(plugin_api, ntx_plugin_api_t, release)) return NTX_E_ABI;

        ntx_plugin_api_t *p = plugin_api;
        if (NTX_HAS_MEMBER(p, ntx_plugin_api_t, abi_major)) p->abi_major = NTX_ABI_MAJOR;
        if (NTX_HAS_MEMBER(p, ntx_plugin_api_t, abi_minor)) p->abi_minor = NTX_ABI_MINOR;
        if (NTX_HAS_MEMBER(p, ntx_plugin_api_t, name)) p->name = kName;
        if (NTX_HAS_MEMBER(p, ntx_plugin_api_t, version)) p->version = kVersion;
        if (NTX_HAS_MEMBER(p, ntx_plugin_api_t, capability_count)) {
            p->capabilities = kCapabilities;
            p->capability_count = std::size(kCapabilities);
        }
        if (NTX_HAS_MEMBER(p, ntx_plugin_api_t, init)) p->init = &plugin_init;
        if (NTX_HAS_MEMBER(p, ntx_plugin_api_t, run_action)) p->run_action = &plugin_run_action;
        if (NTX_HAS_MEMBER(p, ntx_plugin_api_t, on_error)) p->on_error = &plugin_on_error;
        if (NTX_HAS_MEMBER(p, ntx_plugin_api_t, user_release)) p->user_release = &plugin_user_release;
        if (NTX_HAS_MEMBER(p, ntx_plugin_api_t, release)) p->release = &plugin_release;
        return NTX_OK;
    } catch (...) {
        return NTX_E_INTERNAL;
    }
}

// The entry must have the ABI's type (a noexcept function converts to the plain pointer type).
static_assert(std::is_convertible_v<decltype(&ntx_plugin_entry), ntx_plugin_entry_fn>);
