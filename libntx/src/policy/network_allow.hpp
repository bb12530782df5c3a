// config.yaml `network.allow`: the addresses, host names and ports a run may connect to. Parsed once at
// planning (dsl/config_pass), read-only afterwards and shared by every loop (net/loop checks each
// connect, the host table's connect_allowed answers plugins that open their own sockets).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ntx::policy {

// One `allow` entry: an address block (CIDR, or one address) or a host name (exact, or `*.suffix` for
// any name under it), and the ports it opens (none listed: every port).
struct AllowEntry {
    enum class Kind { v4, v6, name } kind = Kind::name;
    std::array<uint8_t, 16> address{};  // v4: the first 4 bytes
    unsigned prefix = 0;                // bits of `address` that must match
    std::string name;                   // lower case, no trailing dot; "*.x" for a suffix
    std::vector<std::pair<uint16_t, uint16_t>> ports;  // inclusive ranges; empty = all
    std::string text;                   // as written (messages)
};

struct AllowParse {
    std::optional<AllowEntry> entry;
    std::string error;    // when !entry
    size_t column = 0;    // where in the text the problem starts (0-based)
};

// Parses one entry: `127.0.0.0/8`, `10.1.2.3`, `::1/128`, `[::1]:8080`, `localhost:80,443`,
// `*.test.local:8000-8100`, `127.0.0.1:1-65535`.
AllowParse parse_allow_entry(std::string_view text);

class NetworkAllow {
public:
    NetworkAllow() = default;
    explicit NetworkAllow(std::vector<AllowEntry> entries) : entries_(std::move(entries)), active_(true) {}

    // No `network.allow` in config.yaml: everything is allowed.
    bool active() const { return active_; }
    // Whether a connect to `address` (an IP literal; empty when not resolved yet) on `port`, reached by
    // the name `host` (what the plugin asked for; may itself be an IP literal), is allowed: some entry
    // opens the port and either names `host` or holds `address`. An address that does not parse is
    // allowed only through a name entry.
    bool allows(std::string_view host, std::string_view address, uint16_t port) const;
    // Whether some name entry opens `host` on `port`: then every address it resolves to is allowed.
    bool allows_name(std::string_view host, uint16_t port) const;
    const std::vector<AllowEntry>& entries() const { return entries_; }
    // "127.0.0.1, localhost:80" (messages)
    std::string describe() const;

private:
    std::vector<AllowEntry> entries_;
    bool active_ = false;
};

}  // namespace ntx::policy
