// Command line of ntx-target: what it is asked to do, parsed and validated.
#pragma once

#include <boost/asio/ip/address.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace ntx_target {

struct Options {
    boost::asio::ip::address listen;   // loopback only
    std::string listen_text = "127.0.0.1";
    std::uint16_t port_first = 20000;
    std::uint16_t port_last = 20999;
    unsigned threads = 1;
    std::string ready_file;            // empty: none
    std::size_t body_size = 512;
    unsigned max_seconds = 3600;       // 0: no limit
};

// Parses argv. On success returns the options; otherwise returns std::nullopt and sets exit_code
// (0 after --help, 2 for a usage error, whose message has already been printed to stderr).
std::optional<Options> parse_options(int argc, char** argv, int& exit_code);

}  // namespace ntx_target
