// What init creates and every callback shares. The host link (res_dir: relative ca-file paths are
// taken from here) and config are read-only after init, so loops may use them concurrently.
#pragma once

#include "config.hpp"

#include <ntx/sdk/host_link.hpp>

namespace ntx::http {

struct PluginState : sdk::HostLink {
    Config config;
};

}  // namespace ntx::http
