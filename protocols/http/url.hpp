// Parsing of the `url` action parameter: http://host[:port]/path?query
#pragma once

#include "error.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace ntx::http {

struct Url {
    std::string host;         // what the host's socket_open resolves: a name or a numeric address (IPv6 without brackets)
    std::uint16_t port = 80;
    std::string host_header;  // value of the Host header: host, [v6], plus ":port" unless the port is 80
    std::string target;       // request-target: path and query, always starting with '/'; the fragment is dropped
};

// Parses `text` into `out` (written only on success; its strings keep their capacity). https:// gives NTX_E_UNSUPPORTED; anything else malformed NTX_E_INVALID.
Error parse_url(std::string_view text, Url &out);

}  // namespace ntx::http
