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
    // "send-rate" / "recv-rate": bytes per second of each user's transfers (0 = unlimited), applied by
    // libcurl (CURLOPT_MAX_SEND_SPEED_LARGE / _RECV_). The host's network.send-rate / recv-rate
    // throttle the sockets it lends; libcurl's sockets are the plugin's, so they take their own.
    std::uint64_t send_rate = 0;
    std::uint64_t recv_rate = 0;
    bool send_rate_set = false;  // given in the component config (else config.yaml's network rate applies)
    bool recv_rate_set = false;
};

// "512KiB/s", "1MB/s", "64KB/ms", "10MiB/m", or a plain number of bytes per second, into bytes per
// second (the units of config.yaml's network rates). "/tick" needs `tick_ms` (0: refused). False if
// malformed.
bool parse_byte_rate(std::string_view text, std::uint64_t &bytes_per_s, std::uint64_t tick_ms = 0) noexcept;

// Parses the JSON object `json` into `out` (keys left out keep their defaults). An unknown key is an
// error (a typo must not silently fall back to a default). An empty string means "{}".
Error parse_config(std::string_view json, Config &out);

// "passive" / "active" -> Mode; false if neither.
bool parse_mode(std::string_view text, Mode &out) noexcept;

}  // namespace ntx::ftp
