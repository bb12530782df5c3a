// The ABI glue of the ftp plugin: ntx_plugin_entry and the hooks it hands to the host.
#include "config.hpp"
#include "curl_loop.hpp"
#include "ftp_params.hpp"
#include "ftp_session.hpp"
#include "plugin_state.hpp"

#include <curl/curl.h>
#include <ntx/plugin_abi.h>

#include <iterator>
#include <memory>
#include <new>
#include <string_view>
#include <type_traits>

namespace ntx::ftp {

PluginState::PluginState() = default;
PluginState::~PluginState() = default;

namespace {

constexpr const char *kName = "ftp";
constexpr const char *kVersion = "0.1.0";

// Everything this plugin calls is part of 1.0; a smaller table is not a 1.x host.
bool usable_host_api(const ntx_host_api_t *api) noexcept {
    return api && NTX_HAS_MEMBER(api, ntx_host_api_t, abi_minor) && api->abi_major == NTX_ABI_MAJOR &&
           NTX_HAS_MEMBER(api, ntx_host_api_t, strerror);
}

ntx_status_t plugin_init(ntx_host_t *host, const ntx_init_ctx_t *ctx, void **plugin_state) noexcept {
    try {
        if (!plugin_state) return NTX_E_INVALID;
        *plugin_state = nullptr;
        // The host table comes with init (several hosts may load this plugin in one process).
        if (!ctx || !NTX_HAS_MEMBER(ctx, ntx_init_ctx_t, host_api)) return NTX_E_ABI;
        const ntx_host_api_t *api = ctx->host_api;
        if (!usable_host_api(api)) return NTX_E_ABI;

        auto state = std::make_unique<PluginState>();
        state->api = api;
        state->host = host;
        if (ctx->res_dir.ptr) state->res_dir.assign(ctx->res_dir.ptr, ctx->res_dir.len);

        std::string_view config_json = "{}";
        if (ctx->config_json.ptr) config_json = std::string_view(ctx->config_json.ptr, ctx->config_json.len);
        if (Error e = parse_config(config_json, state->config)) {
            state->log(nullptr, NTX_LOG_ERROR, e.reason);
            return e.code;
        }
        const curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);
        if (!info || !(info->features & CURL_VERSION_THREADSAFE)) {
            // curl_global_init must then run before any other thread exists, which a plugin cannot promise.
            state->log(nullptr, NTX_LOG_ERROR, "ftp: this libcurl's global init is not thread-safe (needs 7.84+)");
            return NTX_E_UNSUPPORTED;
        }
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            state->log(nullptr, NTX_LOG_ERROR, "ftp: curl_global_init failed");
            return NTX_E_INTERNAL;
        }
        state->loops.resize(ctx->loop_count);
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
    try {
        auto *session = static_cast<Session *>(*ctx->user_data);
        if (!session) {
            if (ctx->loop_index >= state->loops.size()) return NTX_E_INVALID;
            // Loop i's CURLM is made and used on loop i's thread only.
            std::unique_ptr<CurlLoop> &loop = state->loops[ctx->loop_index];
            if (!loop) {
                auto made = std::make_unique<CurlLoop>(*state, ctx->loop);
                if (Error e = made->init()) {
                    state->log(action, NTX_LOG_ERROR, e.reason);
                    return e.code;
                }
                loop = std::move(made);
            }
            auto made = std::make_unique<Session>(*state, *loop);
            if (Error e = made->init()) {
                state->log(action, NTX_LOG_ERROR, e.reason);
                return e.code;
            }
            session = made.release();
            *ctx->user_data = session;
        }
        return session->start(action, *ctx);
    } catch (const std::bad_alloc &) {
        return NTX_E_NOMEM;
    } catch (...) {
        return NTX_E_INTERNAL;
    }
}

void plugin_on_error(void * /*plugin_state*/, ntx_action_t *action, void **user_data, ntx_status_t /*code*/,
                     ntx_str_t /*reason*/) noexcept {
    // The user's slot holds its session, which knows whether `action` is the one it runs.
    if (!action || !user_data || !*user_data) return;
    static_cast<Session *>(*user_data)->abandon(action);
}

void plugin_user_release(void * /*plugin_state*/, std::uint64_t /*user_id*/, void *user_data) noexcept {
    try {
        delete static_cast<Session *>(user_data);
    } catch (...) {
    }
}

void plugin_release(void *plugin_state) noexcept {
    auto *state = static_cast<PluginState *>(plugin_state);
    if (!state) return;
    try {
        // No loop runs any more: curl's last callbacks must not reach the host.
        for (auto &loop : state->loops) {
            if (loop) loop->detach_host();
        }
        delete state;
    } catch (...) {
    }
    curl_global_cleanup();
}

}  // namespace
}  // namespace ntx::ftp

extern "C" NTX_PLUGIN_EXPORT ntx_status_t ntx_plugin_entry(const ntx_host_api_t *host_api,
                                                           ntx_plugin_api_t *plugin_api) noexcept {
    using namespace ntx::ftp;
    try {
        if (!host_api || !plugin_api) return NTX_E_INVALID;
        if (!usable_host_api(host_api)) return NTX_E_ABI;
        if (!NTX_HAS_MEMBER(plugin_api, ntx_plugin_api_t, release)) return NTX_E_ABI;

        ntx_plugin_api_t *p = plugin_api;
        p->abi_major = NTX_ABI_MAJOR;
        p->abi_minor = NTX_ABI_MINOR;
        p->name = kName;
        p->version = kVersion;
        p->capabilities = kCapabilities;
        p->capability_count = std::size(kCapabilities);
        p->init = &plugin_init;
        p->run_action = &plugin_run_action;
        p->on_error = &plugin_on_error;
        p->user_release = &plugin_user_release;
        p->release = &plugin_release;
        return NTX_OK;
    } catch (...) {
        return NTX_E_INTERNAL;
    }
}

// The entry must have the ABI's type (a noexcept function converts to the plain pointer type).
static_assert(std::is_convertible_v<decltype(&ntx_plugin_entry), ntx_plugin_entry_fn>);
