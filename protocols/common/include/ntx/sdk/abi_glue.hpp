// The C ABI glue every C++ plugin repeats: the host-table check, the exception barrier, init's
// skeleton, the hooks that only free or forward, and ntx_plugin_entry's table fill.
#pragma once

#include "error.hpp"

#include <ntx/plugin_abi.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>

namespace ntx::sdk {

// Everything these plugins call is part of 1.0; a smaller table is not a 1.x host.
inline bool usable_host_api(const ntx_host_api_t *api) noexcept {
    return api && NTX_HAS_MEMBER(api, ntx_host_api_t, abi_minor) && api->abi_major == NTX_ABI_MAJOR &&
           NTX_HAS_MEMBER(api, ntx_host_api_t, strerror);
}

// Runs `body` (returning an ntx_status_t); an exception that escapes it becomes a status, so none
// crosses the C ABI. `on_throw` (which must not throw) runs first when one does.
template <class Body, class OnThrow>
ntx_status_t guarded(Body &&body, OnThrow &&on_throw) noexcept {
    try {
        return body();
    } catch (const std::bad_alloc &) {
        on_throw();
        return NTX_E_NOMEM;
    } catch (...) {
        on_throw();
        return NTX_E_INTERNAL;
    }
}

template <class Body>
ntx_status_t guarded(Body &&body) noexcept {
    return guarded(std::forward<Body>(body), [] {});
}

// The init hook's skeleton: checks the arguments and the host table, makes a State (a HostLink) bound
// to this host, then lets `setup(state, config_json, ctx)` finish it. An Error from setup is logged and
// returned, and the state is freed; on success *plugin_state owns it. A missing config is "{}".
template <class State, class Setup>
ntx_status_t init_state(ntx_host_t *host, const ntx_init_ctx_t *ctx, void **plugin_state, Setup &&setup) noexcept {
    return guarded([&]() -> ntx_status_t {
        if (!plugin_state) return NTX_E_INVALID;
        *plugin_state = nullptr;
        if (!ctx || !NTX_HAS_MEMBER(ctx, ntx_init_ctx_t, host_api)) return NTX_E_ABI;
        if (!usable_host_api(ctx->host_api)) return NTX_E_ABI;

        auto state = std::make_unique<State>();
        state->api = ctx->host_api;
        state->host = host;
        if (ctx->res_dir.ptr) state->res_dir.assign(ctx->res_dir.ptr, ctx->res_dir.len);
        std::string_view config_json = "{}";
        if (ctx->config_json.ptr) config_json = std::string_view(ctx->config_json.ptr, ctx->config_json.len);
        if (Error e = setup(*state, config_json, *ctx)) {
            state->log(nullptr, NTX_LOG_ERROR, e.reason);
            return e.code;
        }
        *plugin_state = state.release();
        return NTX_OK;
    });
}

// The init hook itself, for a plugin whose setup is a function: .init = &init_hook<State, &set_up>.
template <class State, auto Setup>
ntx_status_t init_hook(ntx_host_t *host, const ntx_init_ctx_t *ctx, void **plugin_state) noexcept {
    return init_state<State>(host, ctx, plugin_state, Setup);
}

// run_action's argument checks: the plugin's State, or null (the hook returns NTX_E_INVALID) when an
// argument is missing or the ctx carries no per-user slot.
template <class State>
State *action_state(void *plugin_state, const ntx_action_t *action, const ntx_action_ctx_t *ctx) noexcept {
    if (!plugin_state || !action || !ctx || !NTX_HAS_MEMBER(ctx, ntx_action_ctx_t, user_data) || !ctx->user_data) {
        return nullptr;
    }
    return static_cast<State *>(plugin_state);
}

// on_error for a plugin whose per-user slot holds a UserObject that knows whether `action` is the one
// it runs: UserObject::abandon(action) stops it and forgets it.
template <class UserObject>
void abandon_on_error(void * /*plugin_state*/, ntx_action_t *action, void **user_data, ntx_status_t /*code*/,
                      ntx_str_t /*reason*/) noexcept {
    if (!action || !user_data || !*user_data) return;
    static_cast<UserObject *>(*user_data)->abandon(action);
}

// user_release: deletes the UserObject in the user's slot.
template <class UserObject>
void delete_user_object(void * /*plugin_state*/, std::uint64_t /*user_id*/, void *user_data) noexcept {
    try {
        delete static_cast<UserObject *>(user_data);
    } catch (...) {
    }
}

// release: deletes the State init made.
template <class State>
void delete_state(void *plugin_state) noexcept {
    try {
        delete static_cast<State *>(plugin_state);
    } catch (...) {
    }
}

// What a plugin hands the host from ntx_plugin_entry (ntx_plugin_api_t without size and ABI version).
struct PluginTable {
    const char *name;
    const char *version;
    std::span<const char *const> capabilities;
    decltype(ntx_plugin_api_t::init) init;
    decltype(ntx_plugin_api_t::run_action) run_action;
    decltype(ntx_plugin_api_t::on_error) on_error;
    decltype(ntx_plugin_api_t::user_release) user_release;
    decltype(ntx_plugin_api_t::release) release;
    decltype(ntx_plugin_api_t::validate_action) validate_action = nullptr;  // 1.2, optional (<ntx/sdk/validate.hpp>)
};

// The body of ntx_plugin_entry: checks the host's table (kept only from init's ctx->host_api, see
// init_state) and fills the plugin's. The hooks up to `release` are 1.0 members: a host whose plugin
// table cannot take `release` cannot run the plugin. Later members are written only when the host's
// table (its `size`) has room for them: an older host's table is smaller than ours.
inline ntx_status_t fill_plugin_api(const ntx_host_api_t *host_api, ntx_plugin_api_t *plugin_api,
                                    const PluginTable &t) noexcept {
    if (!host_api || !plugin_api) return NTX_E_INVALID;
    if (!usable_host_api(host_api)) return NTX_E_ABI;
    if (!NTX_HAS_MEMBER(plugin_api, ntx_plugin_api_t, release)) return NTX_E_ABI;
    const ntx_plugin_api_t filled{plugin_api->size, NTX_ABI_MAJOR, NTX_ABI_MINOR, t.name, t.version,
                                  t.capabilities.data(), t.capabilities.size(), t.init, t.run_action,
                                  t.on_error, t.user_release, t.release, t.validate_action};
    std::memcpy(static_cast<void *>(plugin_api), &filled, std::min<std::size_t>(plugin_api->size, sizeof filled));
    return NTX_OK;
}

}  // namespace ntx::sdk

// Defines ntx_plugin_entry, the plugin's one exported symbol, handing the host `table` (a
// PluginTable). Used once, at namespace scope, in the plugin.
#define NTX_SDK_PLUGIN_ENTRY(table)                                                                        \
    extern "C" NTX_PLUGIN_EXPORT ntx_status_t ntx_plugin_entry(const ntx_host_api_t *host_api,           \
                                                               ntx_plugin_api_t *plugin_api) noexcept {  \
        return ::ntx::sdk::fill_plugin_api(host_api, plugin_api, table);                                 \
    }                                                                                                    \
    /* The entry must have the ABI's type (a noexcept function converts to the plain pointer type). */   \
    static_assert(std::is_convertible_v<decltype(&ntx_plugin_entry), ntx_plugin_entry_fn>)
