// The progress bus: shards push what changed (workbook entries, plugin progress) into per-shard
// single-producer single-consumer rings, never taking a lock and never blocking (a full ring drops the
// event and counts it). The bus's own thread (a monitor thread, never a shard's loop) drains the rings,
// turns records into ntx::ProgressEvent and delivers them to the subscribers in batches, honouring
// progress.batching (max-batch-size, flush-interval, priority-threshold) and poller.priorities.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ntx/progress.hpp"
#include "progress/config.hpp"
#include "workbook/workbook.hpp"

namespace ntx::progress {

// One slot of a shard's ring. Strings and vectors keep their capacity between uses.
struct Record {
    enum class Kind : uint8_t { entry, plugin } kind = Kind::entry;
    uint64_t user_id = 0, task_id = 0, t_ms = 0;
    uint32_t scenario = 0;
    uint32_t action = workbook::kNoAction;
    // kind entry: the entry's builtins and which of them changed (workbook::Dirty bits)
    uint64_t timeout_at_ms = 0;
    uint32_t response_us = 0;
    uint16_t retry_left = 0;
    uint16_t dirty = 0;
    workbook::State state = workbook::State::executing_running_action;
    workbook::LastEvent last_event = workbook::LastEvent::none;
    bool dynamic = false;
    size_t field_count = 0;  // changed script fields (fields[0, field_count))
    std::vector<std::pair<uint32_t, std::string>> fields;
    // kind plugin
    uint8_t scope = 0;
    double progress = -1;
    uint32_t component = 0;
    size_t kv_count = 0;
    std::vector<std::pair<std::string, std::string>> kv;
};

class Ring {
public:
    explicit Ring(size_t capacity);  // rounded up to a power of two
    // Producer (the shard's thread): a slot to fill then commit(), or nullptr when full (counted).
    Record* claim() {
        const uint64_t tail = tail_.load(std::memory_order_relaxed);
        if (tail - cached_head_ > mask_) {
            cached_head_ = head_.load(std::memory_order_acquire);
            if (tail - cached_head_ > mask_) {
                dropped_.fetch_add(1, std::memory_order_relaxed);
                return nullptr;
            }
        }
        return &slots_[tail & mask_];
    }
    void commit() { tail_.store(tail_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }
    // Consumer (the bus's thread): calls f(const Record&) for each record in order; the count.
    template <class F>
    size_t drain(F&& f) {
        uint64_t head = head_.load(std::memory_order_relaxed);
        const uint64_t tail = tail_.load(std::memory_order_acquire);
        for (uint64_t i = head; i != tail; ++i) f(slots_[i & mask_]);
        head_.store(tail, std::memory_order_release);
        return static_cast<size_t>(tail - head);
    }
    uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
    // Records pushed and not yet drained (any thread: a reading of two atomics, not a snapshot).
    uint64_t depth() const {
        const uint64_t head = head_.load(std::memory_order_acquire);
        const uint64_t tail = tail_.load(std::memory_order_acquire);
        return tail > head ? tail - head : 0;
    }

private:
    std::vector<Record> slots_;
    uint64_t mask_;
    alignas(64) std::atomic<uint64_t> head_{0};  // the consumer's position
    alignas(64) std::atomic<uint64_t> tail_{0};  // the producer's position
    uint64_t cached_head_ = 0;                   // the producer's last view of head_
    alignas(64) std::atomic<uint64_t> dropped_{0};
};

struct BusStats {
    uint64_t events = 0;      // delivered
    uint64_t batches = 0;
    uint64_t dropped = 0;     // lost to full rings
    uint64_t max_batch = 0;   // the largest batch delivered
    uint64_t subscriber_errors = 0;  // a subscriber threw (the bus goes on)
    uint64_t queued = 0;      // records in the shards' rings not yet delivered, when read
};

class Bus {
public:
    // `schema` and `names` must outlive the bus (they render the entries' fields).
    Bus(const ProgressConfig& config, const workbook::Schema& schema, const workbook::Names& names, unsigned shards,
        std::vector<ProgressCallback> subscribers);
    ~Bus();

    // False when nobody subscribes: shards then push nothing.
    bool active() const { return !subscribers_.empty(); }
    Ring& ring(unsigned shard) { return *rings_[shard]; }
    // Any thread (run phase changes): queued under a mutex. The caller sets t_ms (the run's clock).
    void publish(ProgressEvent event);

    // Starts the bus's thread; `t0` is the run's clock origin.
    void start(std::chrono::steady_clock::time_point t0);
    // After the shards stopped pushing: joins the bus's thread, drains every ring, then takes what was
    // published, then `last` (the closing phase event: so it is the stream's last), and delivers it all.
    void finish(std::optional<ProgressEvent> last = std::nullopt);
    BusStats stats() const;

    // The priority of an event of process group `phase` (poller.priorities).
    uint32_t priority(RunPhase phase) const { return config_.priorities[static_cast<size_t>(phase)]; }

private:
    void run();
    void drain(bool side_first);
    void to_event(const Record& r, ProgressEvent& ev) const;
    void deliver(size_t count);
    uint64_t now_ms() const;

    ProgressConfig config_;
    const workbook::Schema& schema_;
    const workbook::Names& names_;
    std::vector<ProgressCallback> subscribers_;
    std::vector<std::unique_ptr<Ring>> rings_;
    std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();

    std::mutex side_mutex_;
    std::vector<ProgressEvent> side_;  // published from any thread

    std::thread thread_;
    std::mutex mutex_;
    std::condition_variable cv_;
    bool finishing_ = false;

    // The bus's thread only (and finish(), after joining it).
    std::vector<ProgressEvent> pending_;
    bool urgent_ = false;
    uint64_t last_flush_ms_ = 0;
    std::atomic<uint64_t> events_{0}, batches_{0}, max_batch_{0}, subscriber_errors_{0};
};

// A subscriber that writes each event as one JSON line (the workbook change stream); `batch` is the
// sequence number of the batch that carried it. Owns the file; flushes after each batch.
ProgressCallback jsonl_writer(const std::string& path);

// One event as a JSON object (what jsonl_writer writes, without the batch number).
std::string event_json(const ProgressEvent& ev, uint64_t batch);

}  // namespace ntx::progress
