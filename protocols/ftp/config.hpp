// The component configuration of the ftp plugin (config_json handed to init).
#pragma once

#include <ntx/sdk/error.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace ntx::ftp {

using sdk::Error;

enum class Mode { passive, active };

struct Config {
    std::uint32_t connect_timeout_ms = 5000;          // "connect-timeout-ms": control connection (and active accept)
    std::uint32_t response_timeout_ms = 10000;        // "response-timeout-ms": longest wait for one server reply
    std::uint64_t max_body_bytes = 16 * 1024 * 1024;  // "max-body-bytes": listing limit, kept download body
    Mode mode = Mode::passive;                        // "mode": passive | active (an action's `mode` overrides)
    std::string active_address = "-";                 // "active-address": CURLOPT_FTPPORT ("-": the control connection's address)
    bool epsv = true;                                 // "epsv": try EPSV before PASV
};

// Parses the JSON object `json` into `out` (keys left out keep their defaults). An unknown key is an
// error (a typo must not silently fall back to a default). An empty string means "{}".
Error parse_config(std::string_view json, Config &out);

// "passive" / "active" -> Mode; false if neither.
bool parse_mode(std::string_view text, Mode &out) noexcept;

}  // namespace ntx::ftp
