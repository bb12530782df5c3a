// config.yaml's network.send-rate / recv-rate, read by the ftp plugin itself.
//
// The host applies those rates to the sockets it lends; libcurl's sockets are the plugin's, and the
// plugin ABI (1.2) does not hand the rates to a plugin. Until it does (an appended ntx_init_ctx_t
// member), the plugin reads them from the res_dir's config.yaml, the file the host parsed and checked
// before init, so the same rates apply to ftp transfers instead of being silently skipped.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ntx::ftp {

struct NetworkRates {
    std::uint64_t send = 0;  // bytes per second, 0: none set
    std::uint64_t recv = 0;
    std::string problem;     // why a rate that is there could not be read ("" when none)
};

// Reads <res_dir>/config.yaml; a missing file or section gives no rates.
NetworkRates read_network_rates(std::string_view res_dir);

}  // namespace ntx::ftp
