// The ABI glue of the ftp plugin: ntx_plugin_entry and the hooks it hands to the host.
#include "config.hpp"
#include "network_rates.hpp"
#include "curl_loop.hpp"
#include "ftp_params.hpp"
#include "ftp_session.hpp"
#include "plugin_state.hpp"

#include <curl/curl.h>
#include <ntx/plugin_abi.h>
#include <ntx/sdk/abi_glue.hpp>
#include <ntx/sdk/validate.hpp>

#include <memory>
#include <string_view>

namespace ntx::ftp {

PluginState::PluginState() = default;

PluginState::~PluginState() {
    for (auto &loop : loops) {
        if (loop) loop->detach_host();
    }
}

namespace {

// Several hosts may load this plugin in one process: nothing here is global but curl's own init.
Error set_up(PluginState &state, std::string_view config_json, const ntx_init_ctx_t &ctx) {
    if (Error e = parse_config(config_json, state.config)) return e;
    // config.yaml's network rates reach libcurl's sockets through the plugin (see network_rates.hpp);
    // the component's own send-rate / recv-rate win.
    const NetworkRates net = read_network_rates(state.res_dir);
    if (!net.problem.empty()) {
        return Error{NTX_E_INVALID, "ftp: " + net.problem + ": set ftp.send-rate / recv-rate in resource/config.yaml"};
    }
    Config &cfg = state.config;
    if (!cfg.send_rate_set) cfg.send_rate = net.send;
    if (!cfg.recv_rate_set) cfg.recv_rate = net.recv;
    if (cfg.send_rate || cfg.recv_rate) {
        state.log(nullptr, NTX_LOG_INFO,
                  "ftp: each transfer throttled by libcurl: send " +
                      (cfg.send_rate ? std::to_string(cfg.send_rate) + " B/s" : std::string("unlimited")) + ", recv " +
                      (cfg.recv_rate ? std::to_string(cfg.recv_rate) + " B/s" : std::string("unlimited")) +
                      (cfg.send_rate_set || cfg.recv_rate_set ? " (component config)" : " (config.yaml network)"));
    }
    const curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);
    if (!info || !(info->features & CURL_VERSION_THREADSAFE)) {
        // curl_global_init must then run before any other thread exists, which a plugin cannot promise.
        return Error{NTX_E_UNSUPPORTED, "ftp: this libcurl's global init is not thread-safe (needs 7.84+)"};
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return Error{NTX_E_INTERNAL, "ftp: curl_global_init failed"};
    state.loops.resize(ctx.loop_count);
    return {};
}

ntx_status_t plugin_run_action(void *plugin_state, ntx_action_t *action, const ntx_action_ctx_t *ctx) noexcept {
    auto *state = sdk::action_state<PluginState>(plugin_state, action, ctx);
    if (!state) return NTX_E_INVALID;
    return sdk::guarded([&]() -> ntx_status_t {
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
    });
}

void plugin_release(void *plugin_state) noexcept {
    if (!plugin_state) return;
    sdk::delete_state<PluginState>(plugin_state);
    curl_global_cleanup();
}

}  // namespace

constexpr sdk::PluginTable kTable{
    .name = "ftp", .version = "0.1.0", .capabilities = kCapabilities,
    .init = &sdk::init_hook<PluginState, &set_up>, .run_action = &plugin_run_action,
    .on_error = &sdk::abandon_on_error<Session>,  // the user's slot holds its session
    .user_release = &sdk::delete_user_object<Session>, .release = &plugin_release,
    .validate_action = &sdk::validate_hook<&check_params>};

}  // namespace ntx::ftp

NTX_SDK_PLUGIN_ENTRY(ntx::ftp::kTable);
