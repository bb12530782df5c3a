// What init creates and every callback shares. The host table, host handle, config and res_dir are
// read-only after init; loops[i] is created and used only on loop i's thread (released after every
// loop stopped), so loops never share mutable state.
#pragma once

#include "config.hpp"

#include <ntx/plugin_abi.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ntx::ftp {

class CurlLoop;

struct PluginState {
    const ntx_host_api_t *api = nullptr;  // the host table (valid until release returns)
    ntx_host_t *host = nullptr;
    Config config;
    std::string res_dir;                   // relative upload `file` params resolve against it
    std::vector<std::unique_ptr<CurlLoop>> loops;  // one CURLM per host loop, made on first use

    PluginState();
    ~PluginState();

    void log(const ntx_action_t *action, ntx_log_level_t level, std::string_view message) const noexcept {
        if (api && api->log) api->log(host, action, level, ntx_str_t{message.data(), message.size()});
    }
};

}  // namespace ntx::ftp
