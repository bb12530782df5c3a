// The component configuration of the http plugin (config_json handed to init).
#pragma once

#include <ntx/sdk/error.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace ntx::http {

// What `http-version` asks for. Over http://: v2 speaks h2c with prior knowledge, v1_1 and automatic
// HTTP/1.1. Over https://: v1_1 offers no ALPN (HTTP/1.1), v2 offers "h2" and fails the action as a
// `protocol` error unless the server selects it, automatic offers "h2, http/1.1" and speaks what the
// server selects (HTTP/1.1 when it selects nothing).
enum class HttpVersion : std::uint8_t { v1_1, v2, automatic };

using sdk::Error;

// Each key is also an action parameter of the same name (in `with`) that overrides it for one action,
// except the limits, the timeout and the user agent, which are the component's.
struct Config {
    std::uint32_t max_header_bytes = 64 * 1024;        // "max-header-bytes"
    std::uint64_t max_body_bytes = 16 * 1024 * 1024;   // "max-body-bytes"
    std::uint32_t connect_timeout_ms = 5000;           // "connect-timeout-ms" (TCP connect and TLS handshake)
    std::string user_agent = "ntx/0.1";                // "user-agent"
    bool keep_alive = true;                            // "keep-alive": false = a new connection per action
    bool tls_verify = true;                            // "tls-verify": false accepts any certificate (test servers)
    std::string ca_file;                               // "ca-file": PEM trust store (absolute once parsed); "" = system's
    bool follow_redirects = false;                     // "follow-redirects"
    std::uint32_t max_redirects = 5;                   // "max-redirects": hops followed before the action fails
    bool cookies = true;                               // "cookies": the per-user cookie jar
    bool keep_cookies = false;                         // "keep-cookies": the jar outlives a task (else cleared per task)
    std::uint32_t max_cookies = 50;                    // "max-cookies": per user
    std::uint32_t max_cookie_bytes = 4096;             // "max-cookie-bytes": one Set-Cookie header
    std::uint32_t max_cookie_jar_bytes = 16384;        // "max-cookie-jar-bytes": names, values, domains, paths of a jar
    bool compression = true;                           // "compression": Accept-Encoding gzip, deflate, br; bodies decoded
    std::uint64_t max_decoded_bytes = 16 * 1024 * 1024;  // "max-decoded-bytes": a decoded body larger is a `limit` error
    HttpVersion http_version = HttpVersion::v1_1;      // "http-version": "1.1", "2" or "auto" (see HttpVersion)
    std::uint32_t max_streams = 1;                     // "max-streams": 1 = a user's own h2 connection; more = shared per loop
};

// Parses the JSON object `json` into `out` (keys left out keep their defaults; unknown keys are
// ignored). An empty string means "{}". A relative ca-file is taken relative to `res_dir` and must be
// readable. Returns NTX_E_INVALID with a reason on malformed input.
Error parse_config(std::string_view json, std::string_view res_dir, Config &out);

// "1.1", "2" or "auto"; false when it is none of them.
bool parse_http_version(std::string_view text, HttpVersion &out);
// "true" / "false" of an action parameter; false when it is neither.
bool parse_bool(std::string_view text, bool &out);
// `path` made absolute against `res_dir` (unchanged when already absolute or empty).
std::string resolve_path(std::string_view path, std::string_view res_dir);

}  // namespace ntx::http
