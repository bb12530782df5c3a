// Parsing of the `url` action parameter, http[s]://host[:port]/path?query, and of redirect targets.
#pragma once

#include <ntx/sdk/error.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace ntx::http {

using sdk::Error;

struct Url {
    bool tls = false;         // https
    std::string host;         // what the host's socket_open resolves: a name or a numeric address (IPv6 without brackets)
    std::uint16_t port = 80;
    std::string host_header;  // value of the Host header: host, [v6], plus ":port" unless it is the scheme's default
    std::string target;       // request-target: path and query, always starting with '/'; the fragment is dropped

    // Same scheme, host and port: a connection to one serves the other.
    bool same_origin(const Url &o) const noexcept { return tls == o.tls && port == o.port && host == o.host; }
    // scheme://host_header target, into `out` (cleared first).
    void write_to(std::string &out) const;
};

// Parses `text` into `out` (written only on success; its strings keep their capacity). Anything
// malformed, or a scheme other than http/https, is NTX_E_INVALID.
Error parse_url(std::string_view text, Url &out);

// Resolves a Location header value against the URL it came from (RFC 3986 5.2: absolute URL,
// //authority/path, /path, relative path, ?query) into `out`. NTX_E_PROTOCOL when it is unusable.
Error resolve_location(const Url &base, std::string_view location, Url &out);

}  // namespace ntx::http
