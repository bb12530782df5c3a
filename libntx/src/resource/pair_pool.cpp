#include "resource/pair_pool.hpp"

#include <algorithm>
#include <fmt/format.h>

#include "resource/manifest.hpp"
#include "segment/segment.hpp"

namespace ntx::resource {

const char* to_string(ReleaseReason r) {
    switch (r) {
    case ReleaseReason::end: return "end";
    case ReleaseReason::expired: return "expired";
    case ReleaseReason::evicted: return "evicted";
    case ReleaseReason::requeue: return "requeue";
    case ReleaseReason::closing: return "closing";
    }
    return "?";
}

const char* to_string(LeaseEvent::Kind k) {
    switch (k) {
    case LeaseEvent::Kind::acquire: return "acquire";
    case LeaseEvent::Kind::release: return "release";
    case LeaseEvent::Kind::renew: return "renew";
    case LeaseEvent::Kind::down: return "down";
    case LeaseEvent::Kind::up: return "up";
    }
    return "?";
}

std::unique_ptr<PairPool> PairPool::load(const dsl::PoolSpec& spec, std::vector<Diagnostic>& diagnostics) {
    size_t errors_before = diagnostics.size();
    ManifestSpec m;
    m.resource = spec.name;
    m.path = spec.manifest;
    m.format = spec.format;
    m.fields = spec.fields;
    m.loc = spec.manifest_loc;
    auto rows = read_manifest(m, diagnostics);
    if (diagnostics.size() != errors_before) return of_items(spec, {});
    if (rows.empty()) {
        diagnostics.push_back({spec.manifest_loc.file, spec.manifest_loc.line, spec.manifest_loc.column,
                               fmt::format("manifest of resource '{}' has no items", spec.name), {}});
        return of_items(spec, {});
    }
    if (spec.capacity) {
        if (*spec.capacity > rows.size()) {
            diagnostics.push_back({spec.loc.file, spec.loc.line, spec.loc.column,
                                   fmt::format("resource '{}': capacity.size is {} but the manifest has {} items", spec.name,
                                               *spec.capacity, rows.size()),
                                   {}});
            return of_items(spec, {});
        }
        rows.resize(*spec.capacity);  // capacity.size: the first N items are the pool
    }
    if (spec.segment.count > 1) {
        // --segment: this instance leases only its items (i mod N == I), so an exclusive item is never
        // leased on two machines at once.
        if (rows.size() < spec.segment.count) {
            diagnostics.push_back({spec.loc.file, spec.loc.line, spec.loc.column,
                                   fmt::format("resource '{}': {} items cannot be partitioned among {} segments (--segment {}): "
                                               "each instance needs at least 1",
                                               spec.name, rows.size(), spec.segment.count, segment::to_string(spec.segment)),
                                   "run at most as many segments as the pool has items"});
            return of_items(spec, {});
        }
        std::vector<std::vector<std::string>> mine;
        for (uint64_t i : segment::items(rows.size(), spec.segment)) mine.push_back(std::move(rows[i]));
        rows = std::move(mine);
    }
    return of_items(spec, std::move(rows));
}

std::unique_ptr<PairPool> PairPool::of_items(const dsl::PoolSpec& spec, std::vector<std::vector<std::string>> items) {
    auto pool = std::make_unique<PairPool>();
    pool->spec_ = spec;
    pool->fields_ = spec.fields;
    pool->items_ = std::move(items);
    const size_t n = pool->items_.size();
    pool->healthy_ = std::make_unique<std::atomic<bool>[]>(n);
    for (size_t i = 0; i < n; ++i) pool->healthy_[i].store(true, std::memory_order_relaxed);
    pool->key_.assign(n, Key{});
    pool->in_available_.assign(n, false);
    pool->holders_.assign(n, 0);
    pool->holder_.assign(n, 0);
    pool->uses_.assign(n, 0);
    pool->stats_.items = n;
    for (uint32_t i = 0; i < n; ++i) pool->make_available(i);
    return pool;
}

int PairPool::field_index(std::string_view field) const {
    for (size_t i = 0; i < fields_.size(); ++i)
        if (fields_[i] == field) return static_cast<int>(i);
    return -1;
}

uint64_t PairPool::now_ms() const {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - origin_).count());
}

void PairPool::keep_trail(bool on) {
    std::lock_guard lock(mutex_);
    keep_trail_ = on;
}

// The key orders available items, best first:
//   exclusive round-robin: the order they became free (the longest idle first)
//   exclusive least-used:  fewest leases so far, then the longest idle
//   shared round-robin:    the order they were last handed out (a rotation)
//   shared least-used:     fewest holders now, then fewest leases so far
void PairPool::make_available(uint32_t item) {
    if (in_available_[item]) available_.erase(key_[item]);
    const bool exclusive = spec_.guard == dsl::Guard::exclusive;
    const bool least = spec_.strategy == dsl::LeaseStrategy::least_used;
    uint64_t order = seq_++;
    if (exclusive) key_[item] = least ? Key{uses_[item], order, item} : Key{order, 0, item};
    else key_[item] = least ? Key{holders_[item], uses_[item], item} : Key{order, 0, item};
    available_.insert(key_[item]);
    in_available_[item] = true;
}

void PairPool::take_out(uint32_t item) {
    if (!in_available_[item]) return;
    available_.erase(key_[item]);
    in_available_[item] = false;
}

void PairPool::trail(LeaseEvent::Kind kind, uint32_t item, uint64_t user, ReleaseReason why) {
    if (!keep_trail_) return;
    LeaseEvent e;
    e.kind = kind;
    e.reason = why;
    e.item = item;
    e.seq = ++trail_seq_;
    e.t_us = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - origin_).count());
    e.user = user;
    trail_.push_back(e);
}

std::optional<PairPool::Grant> PairPool::acquire(uint64_t user) {
    std::lock_guard lock(mutex_);
    if (available_.empty()) return std::nullopt;
    const uint32_t item = std::get<2>(*available_.begin());
    take_out(item);
    ++holders_[item];
    ++uses_[item];
    if (spec_.guard == dsl::Guard::exclusive) holder_[item] = user;
    else make_available(item);  // shared: stays available, further down the order
    ++stats_.acquired;
    stats_.peak_held = std::max(stats_.peak_held, ++stats_.held);
    trail(LeaseEvent::Kind::acquire, item, user);
    return Grant{item, spec_.ttl_ms ? now_ms() + spec_.ttl_ms : 0};
}

void PairPool::release_locked(uint32_t item, uint64_t user, ReleaseReason why) {
    if (holders_[item] == 0) return;  // not held: nothing to give back (never counted twice)
    --holders_[item];
    --stats_.held;
    ++stats_.released;
    trail(LeaseEvent::Kind::release, item, user, why);
    if (spec_.guard == dsl::Guard::exclusive) holder_[item] = 0;
    // Back in the pool unless its item is down (it returns when it recovers). A shared round-robin
    // item keeps its place in the rotation.
    if (counts_health() && !healthy(item)) return;
    if (spec_.guard == dsl::Guard::exclusive || spec_.strategy == dsl::LeaseStrategy::least_used || !in_available_[item])
        make_available(item);
}

void PairPool::release(uint32_t item, uint64_t user, ReleaseReason why) {
    std::lock_guard lock(mutex_);
    release_locked(item, user, why);
}

bool PairPool::refresh(uint32_t item, uint64_t user, uint64_t& expires_ms) {
    const bool down = counts_health() && !healthy(item);
    if (!down && (!expires_ms || now_ms() < expires_ms)) return true;
    std::lock_guard lock(mutex_);
    if (down) {
        ++stats_.evicted;
        release_locked(item, user, ReleaseReason::evicted);
        return false;
    }
    if (spec_.auto_renew) {
        expires_ms = now_ms() + spec_.ttl_ms;
        ++stats_.renewed;
        trail(LeaseEvent::Kind::renew, item, user);
        return true;
    }
    ++stats_.expired;
    release_locked(item, user, ReleaseReason::expired);
    return false;
}

bool PairPool::set_health(uint32_t item, bool up) {
    std::lock_guard lock(mutex_);
    if (healthy(item) == up) return false;
    healthy_[item].store(up, std::memory_order_relaxed);
    trail(up ? LeaseEvent::Kind::up : LeaseEvent::Kind::down, item, 0);
    if (up) {
        ++stats_.recoveries;
        --stats_.down_now;
    } else {
        ++stats_.downs;
        ++stats_.down_now;
    }
    if (!counts_health()) return true;  // on-failure: ignore: recorded, still handed out
    if (!up) take_out(item);
    else if (spec_.guard == dsl::Guard::shared || holders_[item] == 0) make_available(item);
    return true;
}

void PairPool::count_probes(uint64_t probes, uint64_t failures) {
    std::lock_guard lock(mutex_);
    ++stats_.probe_rounds;
    stats_.probes += probes;
    stats_.probe_failures += failures;
}

void PairPool::count_wait() {
    std::lock_guard lock(mutex_);
    ++stats_.waits;
}

void PairPool::end_wait(uint64_t waited_ms, bool timed_out) {
    std::lock_guard lock(mutex_);
    wait_hist_.record(std::max<uint64_t>(1, waited_ms * 1000));
    if (timed_out) ++stats_.wait_timeouts;
}

void PairPool::count_rollback() {
    std::lock_guard lock(mutex_);
    ++stats_.rolled_back;
}

std::vector<LeaseEvent> PairPool::drain_trail() {
    std::vector<LeaseEvent> out;
    std::lock_guard lock(mutex_);
    out.swap(trail_);
    return out;
}

PoolStats PairPool::stats() const {
    std::lock_guard lock(mutex_);
    PoolStats s = stats_;
    s.available = available_.size();
    if (wait_hist_.count()) {
        s.wait_p50_ms = static_cast<double>(wait_hist_.quantile_us(0.50)) / 1000.0;
        s.wait_p99_ms = static_cast<double>(wait_hist_.quantile_us(0.99)) / 1000.0;
        s.wait_max_ms = static_cast<double>(wait_hist_.max_us()) / 1000.0;
    }
    return s;
}

uint64_t PairPool::leases_held() const {
    std::lock_guard lock(mutex_);
    return stats_.held;
}

uint64_t PairPool::peak_leases() const {
    std::lock_guard lock(mutex_);
    return stats_.peak_held;
}

uint64_t PairPool::release_all() {
    std::lock_guard lock(mutex_);
    uint64_t n = 0;
    for (uint32_t i = 0; i < holders_.size(); ++i)
        while (holders_[i] > 0) {
            release_locked(i, spec_.guard == dsl::Guard::exclusive ? holder_[i] : 0, ReleaseReason::closing);
            ++n;
        }
    return n;
}

}  // namespace ntx::resource
