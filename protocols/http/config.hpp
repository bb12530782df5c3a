// The component configuration of the http plugin (config_json handed to init).
#pragma once

#include "error.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace ntx::http {

struct Config {
    std::uint32_t max_header_bytes = 64 * 1024;        // "max-header-bytes"
    std::uint64_t max_body_bytes = 16 * 1024 * 1024;   // "max-body-bytes"
    std::uint32_t connect_timeout_ms = 5000;           // "connect-timeout-ms"
    std::string user_agent = "ntx/0.1";                // "user-agent"
};

// Parses the JSON object `json` into `out` (keys left out keep their defaults; unknown keys are
// ignored). An empty string means "{}". Returns NTX_E_INVALID with a reason on malformed input.
Error parse_config(std::string_view json, Config &out);

}  // namespace ntx::http
