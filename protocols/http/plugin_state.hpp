// What init creates and every callback shares. The host table, host handle and config are read-only
// after init, so loops may use it concurrently.
#pragma once

#include "config.hpp"

#include <ntx/plugin_abi.h>

#include <memory>
#include <string>
#include <string_view>

namespace ntx::http {

struct PluginState {
    const ntx_host_api_t *api = nullptr;  // the host table (valid until release returns)
    ntx_host_t *host = nullptr;
    std::string res_dir;  // relative ca-file paths are taken from here
    Config config;

    void log(const ntx_action_t *action, ntx_log_level_t level, std::string_view message) const noexcept {
        if (api && api->log) api->log(host, action, level, ntx_str_t{message.data(), message.size()});
    }
};

}  // namespace ntx::http
