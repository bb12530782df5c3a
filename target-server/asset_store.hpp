// The per-port asset behind /asset: an immutable body shared by pointer, swapped under a small
// per-port mutex, so readers send it without copying and writers never disturb a send in flight.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace ntx_target {

using Body = std::shared_ptr<const std::string>;

class PortAsset {
public:
    PortAsset(std::uint16_t port, std::size_t body_size) : port_(port), body_size_(body_size) {}

    std::uint16_t port() const noexcept { return port_; }
    // The current asset; the default one is built on first use (so a wide range with a large
    // --body-size costs memory only for the ports actually read).
    Body get() {
        std::lock_guard lock(mu_);
        if (!current_) current_ = default_locked();
        return current_;
    }
    void set(Body b) {
        std::unique_lock lock(mu_);
        current_.swap(b);
        lock.unlock();  // the old body (b) is released outside the lock
    }
    void reset() { set(nullptr); }

private:
    const Body& default_locked();

    std::uint16_t port_;
    std::size_t body_size_;
    std::mutex mu_;
    Body default_;  // built lazily
    Body current_;  // null: the default
};

// {"port":P,"asset":"..."} padded with deterministic characters to exactly body_size bytes (or just
// the envelope when body_size is smaller than it).
std::string make_default_asset(std::uint16_t port, std::size_t body_size);

class AssetStore {
public:
    AssetStore(std::uint16_t first_port, std::uint16_t last_port, std::size_t body_size);

    PortAsset& at(std::uint16_t port) { return *ports_[port - first_]; }
    void reset_all();

private:
    std::uint16_t first_;
    std::vector<std::unique_ptr<PortAsset>> ports_;
};

}  // namespace ntx_target
