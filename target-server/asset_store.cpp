#include "asset_store.hpp"

namespace ntx_target {

std::string make_default_asset(std::uint16_t port, std::size_t body_size) {
    std::string head = "{\"port\":" + std::to_string(port) + ",\"asset\":\"";
    constexpr std::string_view tail = "\"}";
    std::string out = head;
    std::size_t envelope = head.size() + tail.size();
    if (body_size > envelope) {
        static constexpr std::string_view pad = "abcdefghijklmnopqrstuvwxyz0123456789";
        std::size_t n = body_size - envelope;
        out.reserve(body_size);
        for (std::size_t i = 0; i < n; ++i) out.push_back(pad[i % pad.size()]);
    }
    out.append(tail);
    return out;
}

const Body& PortAsset::default_locked() {
    if (!default_) default_ = std::make_shared<const std::string>(make_default_asset(port_, body_size_));
    return default_;
}

AssetStore::AssetStore(std::uint16_t first_port, std::uint16_t last_port, std::size_t body_size)
    : first_(first_port) {
    ports_.reserve(std::size_t(last_port - first_port) + 1);
    for (unsigned p = first_port; p <= last_port; ++p)
        ports_.push_back(std::make_unique<PortAsset>(static_cast<std::uint16_t>(p), body_size));
}

void AssetStore::reset_all() {
    for (auto& p : ports_) p->reset();
}

}  // namespace ntx_target
