// Server-wide request counters behind /_stats: lock-free on the hot path (relaxed atomics), a
// mutex only for paths outside the fixed routes.
#pragma once

#include <boost/beast/http/verb.hpp>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ntx_target {

class Stats {
public:
    void on_connection_open() noexcept {
        connections_.fetch_add(1, std::memory_order_relaxed);
        active_.fetch_add(1, std::memory_order_relaxed);
    }
    void on_connection_close() noexcept { active_.fetch_sub(1, std::memory_order_relaxed); }
    void on_bytes(std::size_t n) noexcept {
        if (n) bytes_received_.fetch_add(n, std::memory_order_relaxed);
    }
    // A request whose start line could not be read (e.g. its header was over the limit).
    void on_unparsed_request() noexcept { requests_.fetch_add(1, std::memory_order_relaxed); }
    // A request with its method and path (target without the query string).
    void on_request(boost::beast::http::verb method, std::string_view path);

    void reset();
    std::string to_json() const;

private:
    enum Method : std::size_t { GET, POST, PUT, PATCH, DELETE_, HEAD, OTHER, method_count };
    static constexpr std::array<std::string_view, 5> fixed_paths_names{
        "/asset", "/slow", "/chunked", "/close", "/"};
    static constexpr std::size_t max_other_paths = 4096;

    alignas(64) std::atomic<std::uint64_t> requests_{0};
    alignas(64) std::atomic<std::uint64_t> bytes_received_{0};
    alignas(64) std::atomic<std::uint64_t> connections_{0};
    std::atomic<std::int64_t> active_{0};
    alignas(64) std::array<std::atomic<std::uint64_t>, method_count> by_method_{};
    alignas(64) std::array<std::atomic<std::uint64_t>, fixed_paths_names.size()> fixed_paths_{};
    std::array<std::atomic<std::uint64_t>, 1000> status_paths_{};  // "/status/NNN"
    mutable std::mutex other_mu_;
    std::unordered_map<std::string, std::uint64_t> other_paths_;  // capped; overflow -> "(other)"
};

}  // namespace ntx_target
