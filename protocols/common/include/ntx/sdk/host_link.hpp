// What a plugin keeps of the host that initialised it: the host table, the host handle and res_dir.
// Read-only after init, so every loop may use it at once.
#pragma once

#include <ntx/plugin_abi.h>

#include <string>
#include <string_view>

namespace ntx::sdk {

struct HostLink {
    // The table comes with init, not from the entry: several hosts may load a plugin in one process,
    // and each plugin state keeps its own host's table. Valid until release returns.
    const ntx_host_api_t *api = nullptr;
    ntx_host_t *host = nullptr;
    std::string res_dir;  // the script's folder: relative file names in config and params resolve here

    void log(const ntx_action_t *action, ntx_log_level_t level, std::string_view message) const noexcept {
        if (api && api->log) api->log(host, action, level, ntx_str_t{message.data(), message.size()});
    }
};

}  // namespace ntx::sdk
