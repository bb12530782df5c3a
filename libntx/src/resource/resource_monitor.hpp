// The resource manager's own thread during a run (never a shard's loop): it runs the pools' health
// checks (a TCP connect to each item's ip/host:port, with a timeout, every interval) and writes the
// lease trail (leases.jsonl) from the pools' buffers every 200 ms, so neither costs the load anything.
#pragma once

#include <boost/asio.hpp>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "resource/pair_pool.hpp"

namespace ntx::resource {

class ResourceMonitor {
public:
    // `trail` empty: no lease trail is kept. Throws std::runtime_error when the trail cannot be created.
    ResourceMonitor(std::vector<std::unique_ptr<PairPool>>& pools, const std::filesystem::path& trail);
    ~ResourceMonitor();
    ResourceMonitor(const ResourceMonitor&) = delete;
    ResourceMonitor& operator=(const ResourceMonitor&) = delete;

    // Called on the monitor's thread when an item of a pool whose on-failure is rollback goes down.
    void on_down(std::function<void(uint32_t pool, uint32_t item)> f) { on_down_ = std::move(f); }

    // One probe round of every health-checked pool, run to its end on the caller's thread: before the
    // first user starts, so that an item failing its probe is never leased.
    void probe_now();
    // Starts the thread: periodic probe rounds and trail writes.
    void start();
    // Stops and joins the thread (idempotent).
    void stop();
    // Writes what the pools' trails hold now (the caller's thread; after stop(), or before start()).
    void flush();

private:
    struct Round;
    void start_round(uint32_t pool, bool repeat);
    void probe_next(const std::shared_ptr<Round>& round);
    void schedule_flush();

    std::vector<std::unique_ptr<PairPool>>& pools_;
    std::FILE* trail_ = nullptr;
    std::vector<std::vector<std::string>> labels_;  // per pool, per item: its fields joined by ':'
    // Per pool with a health check: each item's endpoint (nullopt when its address does not resolve).
    std::vector<std::vector<std::optional<boost::asio::ip::tcp::endpoint>>> endpoints_;
    std::function<void(uint32_t, uint32_t)> on_down_;
    boost::asio::io_context io_;
    std::vector<std::unique_ptr<boost::asio::steady_timer>> round_timers_;
    std::unique_ptr<boost::asio::steady_timer> flush_timer_;
    std::thread thread_;
    std::string line_;  // reused per trail line
};

}  // namespace ntx::resource
