// pair_pool: a leased pool of records (ip:port pairs and the like) read from a CSV or YAML manifest.
// Users lease an item for their life; exclusive pools never hand one item to two users at once.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dsl/script.hpp"

namespace ntx::resource {

class PairPool {
public:
    // Reads the manifest; problems go to `diagnostics` with file:line:col.
    static std::unique_ptr<PairPool> load(const dsl::PoolSpec& spec, std::vector<Diagnostic>& diagnostics);

    const std::string& name() const { return name_; }
    size_t size() const { return items_.size(); }
    // Index of a field name, or -1.
    int field_index(std::string_view field) const;
    std::string_view value(uint32_t item, int field) const { return items_[item][static_cast<size_t>(field)]; }

    // Leases an item, or nullopt when an exclusive pool is dry (the caller waits and tries again).
    // Thread-safe; called at user start and end, never per request.
    std::optional<uint32_t> acquire();
    void release(uint32_t item);
    uint64_t leases_held() const;
    uint64_t peak_leases() const;

private:
    std::string name_;
    std::vector<std::string> fields_;
    std::vector<std::vector<std::string>> items_;
    dsl::Guard guard_ = dsl::Guard::exclusive;
    dsl::LeaseStrategy strategy_ = dsl::LeaseStrategy::round_robin;

    mutable std::mutex mutex_;
    std::deque<uint32_t> free_;          // exclusive: items not leased, in hand-out order
    std::vector<uint32_t> lease_count_;  // shared: current leases per item
    uint32_t next_ = 0;                  // shared round-robin cursor
    uint64_t held_ = 0, peak_ = 0;
};

}  // namespace ntx::resource
