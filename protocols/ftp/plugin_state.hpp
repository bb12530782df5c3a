// What init creates and every callback shares. The host link (res_dir: relative upload `file` params
// resolve against it) and config are read-only after init; loops[i] is created and used only on loop
// i's thread (released after every loop stopped), so loops never share mutable state.
#pragma once

#include "config.hpp"

#include <ntx/sdk/host_link.hpp>

#include <memory>
#include <vector>

namespace ntx::ftp {

class CurlLoop;

struct PluginState : sdk::HostLink {
    Config config;
    std::vector<std::unique_ptr<CurlLoop>> loops;  // one CURLM per host loop, made on first use

    PluginState();
    ~PluginState();  // detaches every loop from the host first: curl's last callbacks must not reach it
};

}  // namespace ntx::ftp
