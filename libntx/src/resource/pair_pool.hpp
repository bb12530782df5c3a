// pair_pool: a leased pool of records (ip:port pairs and the like) read from a CSV or YAML manifest.
// Users lease an item at their start; exclusive pools never hand one item to two users at once.
// Leases may carry a ttl (checked by their holder at its task boundaries, never mid-action), items
// may be taken out by a health check and put back when they recover, and every acquire and release
// can be kept for the lease trail (leases.jsonl). Thread-safe: touched at user start, task boundaries
// and end, never per request.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "dsl/script.hpp"
#include "report/latency_histogram.hpp"

namespace ntx::resource {

// Why a lease ended (the trail's `reason`).
enum class ReleaseReason : uint8_t {
    end,       // the user ended (every exit path: done, error_out, timeout_out, stop, rollback, cancel)
    expired,   // its ttl passed (no auto-renew), seen at the holder's task boundary
    evicted,   // its item failed its health check, seen at the holder's task boundary
    requeue,   // the user had to wait for another pool and gave its leases back meanwhile
    closing,   // still held when the run ended: a leak, returned by the closing sweep
};
const char* to_string(ReleaseReason r);

// One entry of the lease trail.
struct LeaseEvent {
    enum class Kind : uint8_t { acquire, release, renew, down, up } kind = Kind::acquire;
    ReleaseReason reason = ReleaseReason::end;
    uint32_t item = 0;
    uint64_t seq = 0;   // per pool, in the order the pool saw them (under its lock)
    uint64_t t_us = 0;  // since the pool's clock origin (the run's start)
    uint64_t user = 0;  // 0 for down / up
};
const char* to_string(LeaseEvent::Kind k);

struct PoolStats {
    uint64_t items = 0;
    uint64_t acquired = 0, released = 0, renewed = 0, expired = 0, evicted = 0, rolled_back = 0;
    uint64_t held = 0, peak_held = 0;
    uint64_t waits = 0, wait_timeouts = 0;  // users that found the pool dry; of them, those that gave up
    double wait_p50_ms = 0, wait_p99_ms = 0, wait_max_ms = 0;
    uint64_t probe_rounds = 0, probes = 0, probe_failures = 0;
    uint64_t downs = 0, recoveries = 0, down_now = 0;
    uint64_t available = 0;  // items that may be handed out now (exclusive: free and up; shared: up)
};

class PairPool {
public:
    // Reads the manifest; problems go to `diagnostics` with file:line:col.
    static std::unique_ptr<PairPool> load(const dsl::PoolSpec& spec, std::vector<Diagnostic>& diagnostics);
    // A pool of the given items (what load() makes once the manifest is read).
    static std::unique_ptr<PairPool> of_items(const dsl::PoolSpec& spec, std::vector<std::vector<std::string>> items);

    const dsl::PoolSpec& spec() const { return spec_; }
    const std::string& name() const { return spec_.name; }
    size_t size() const { return items_.size(); }
    // Index of a field name, or -1.
    int field_index(std::string_view field) const;
    std::string_view value(uint32_t item, int field) const { return items_[item][static_cast<size_t>(field)]; }

    // The pool's clock (ttl, wait times, the trail): milliseconds since `origin`, set before the run.
    void set_clock_origin(std::chrono::steady_clock::time_point origin) { origin_ = origin; }
    uint64_t now_ms() const;
    // Keep every acquire / release / renew / down / up for drain_trail() (off by default).
    void keep_trail(bool on);

    struct Grant {
        uint32_t item;
        uint64_t expires_ms;  // pool clock; 0 = never
    };
    // Leases an item to `user`, or nullopt when none is available (an exclusive pool is dry, or every
    // item is down): the caller waits and tries again.
    std::optional<Grant> acquire(uint64_t user);
    void release(uint32_t item, uint64_t user, ReleaseReason why = ReleaseReason::end);
    // At its holder's task boundary: true keeps the lease (renewed when its ttl passed and auto-renew
    // is on: `expires_ms` moves on); false means it was given back (its ttl passed, or its item is
    // down and on-failure is not ignore) and the holder must acquire again. Lock-free when nothing is due.
    bool refresh(uint32_t item, uint64_t user, uint64_t& expires_ms);

    // Health: lock-free read; set_health returns true when the state changed.
    bool healthy(uint32_t item) const { return healthy_[item].load(std::memory_order_relaxed); }
    bool set_health(uint32_t item, bool up);
    void count_probes(uint64_t probes, uint64_t failures);

    // Waiting users: a wait starts (the pool was dry), a wait ends (leased after `waited_ms`, or gave up).
    void count_wait();
    void end_wait(uint64_t waited_ms, bool timed_out);
    void count_rollback();

    std::vector<LeaseEvent> drain_trail();
    PoolStats stats() const;
    uint64_t leases_held() const;
    uint64_t peak_leases() const;
    // Closing: returns every lease still held (a leak: users always release theirs), counted in the
    // trail with reason `closing`; the number returned.
    uint64_t release_all();

private:
    using Key = std::tuple<uint64_t, uint64_t, uint32_t>;
    void make_available(uint32_t item);  // (re)inserts with its strategy key
    void take_out(uint32_t item);
    bool counts_health() const { return spec_.health.set && spec_.health.on_failure != dsl::OnProbeFailure::ignore; }
    void release_locked(uint32_t item, uint64_t user, ReleaseReason why);
    void trail(LeaseEvent::Kind kind, uint32_t item, uint64_t user, ReleaseReason why = ReleaseReason::end);

    dsl::PoolSpec spec_;
    std::vector<std::string> fields_;
    std::vector<std::vector<std::string>> items_;
    std::chrono::steady_clock::time_point origin_ = std::chrono::steady_clock::now();
    std::unique_ptr<std::atomic<bool>[]> healthy_;

    mutable std::mutex mutex_;
    std::set<Key> available_;         // items that may be handed out now, best first
    std::vector<Key> key_;            // each item's key while in available_
    std::vector<bool> in_available_;
    std::vector<uint32_t> holders_;   // current leases per item
    std::vector<uint64_t> holder_;    // exclusive: the user holding the item (0 = none)
    std::vector<uint64_t> uses_;      // leases ever handed out per item
    uint64_t seq_ = 0;                // hand-out / release order (round-robin)
    PoolStats stats_;
    report::LatencyHistogram wait_hist_;  // microseconds
    bool keep_trail_ = false;
    uint64_t trail_seq_ = 0;
    std::vector<LeaseEvent> trail_;
};

}  // namespace ntx::resource
