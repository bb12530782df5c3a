// What every connection shares: the counters and the per-port assets.
#pragma once

#include "asset_store.hpp"
#include "stats.hpp"

#include <atomic>
#include <cstdint>

namespace ntx_target {

struct ServerContext {
    ServerContext(std::uint16_t first_port, std::uint16_t last_port, std::size_t body_size)
        : assets(first_port, last_port, body_size) {}

    Stats stats;
    AssetStore assets;
    std::atomic<std::uint64_t> orders{0};  // POST /api/orders numbers its orders from 1
};

}  // namespace ntx_target
