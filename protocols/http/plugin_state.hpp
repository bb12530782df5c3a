// What init creates and every callback shares. The host link (res_dir: relative ca-file paths are
// taken from here) and config are read-only after init, so loops may use them concurrently; the
// counters are the only shared writable state, touched on rare events (a refused cookie, a user's
// end), never per request.
#pragma once

#include "config.hpp"
#include "h2_pool.hpp"

#include <ntx/sdk/host_link.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace ntx::http {

// Summed over all users; logged when the plugin is released (the ABI has no plugin counters).
struct PluginCounters {
    std::atomic<std::uint64_t> cookies_malformed{0};  // Set-Cookie without name=value, bad characters
    std::atomic<std::uint64_t> cookies_foreign{0};    // Set-Cookie for a domain the request's host is not in
    std::atomic<std::uint64_t> cookies_oversized{0};  // Set-Cookie over max-cookie-bytes
    std::atomic<std::uint64_t> cookies_evicted{0};    // dropped to keep a jar within max-cookies / max-cookie-jar-bytes
    std::atomic<std::uint64_t> bodies_decoded{0};     // responses whose Content-Encoding was decoded
    std::atomic<std::uint64_t> encoded_bytes{0};      // their bodies as received
    std::atomic<std::uint64_t> decoded_bytes{0};      // their bodies decoded
};

struct PluginState : sdk::HostLink {
    Config config;
    mutable PluginCounters counters;
    // Shared h2c connections (max-streams > 1), one pool per loop: made on the loop's first such action
    // and used only on that loop's thread; the vector is sized at init and never resized.
    mutable std::vector<std::unique_ptr<H2Pool>> h2_pools;
};

}  // namespace ntx::http
