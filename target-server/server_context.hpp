// What every connection shares: the counters and the per-port assets.
#pragma once

#include "asset_store.hpp"
#include "stats.hpp"

namespace ntx_target {

struct ServerContext {
    ServerContext(std::uint16_t first_port, std::uint16_t last_port, std::size_t body_size)
        : assets(first_port, last_port, body_size) {}

    Stats stats;
    AssetStore assets;
};

}  // namespace ntx_target
