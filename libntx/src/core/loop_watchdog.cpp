#include "core/loop_watchdog.hpp"

#include <fmt/format.h>

namespace ntx::core {

LoopWatchdog::LoopWatchdog(frame::ProtocolFrame& frame, const net::CallRecord* records, unsigned loops,
                           std::chrono::milliseconds limit)
    : frame_(frame), records_(records), loops_(loops), limit_(limit) {
    thread_ = std::thread([this] { run(); });
}

LoopWatchdog::~LoopWatchdog() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

void LoopWatchdog::run() {
    using clock = std::chrono::steady_clock;
    struct Seen {
        uint32_t seq = 0;
        clock::time_point since;
        uint32_t reported = 0;  // the seq already counted
        bool counted = false;
    };
    std::vector<Seen> seen(loops_);
    const auto period = std::max(std::chrono::milliseconds(1), limit_ / 4);
    std::unique_lock lock(mutex_);
    while (!cv_.wait_for(lock, period, [this] { return stopping_; })) {
        const auto now = clock::now();
        for (unsigned i = 0; i < loops_; ++i) {
            const net::CallRecord& r = records_[i];
            const bool active = r.active.load(std::memory_order_acquire) != 0;
            const uint32_t seq = r.seq.load(std::memory_order_relaxed);
            Seen& s = seen[i];
            if (!active || seq != s.seq) {
                s.seq = seq;
                s.since = now;
                continue;
            }
            if (now - s.since < limit_ || (s.counted && s.reported == seq)) continue;
            s.reported = seq;
            s.counted = true;
            const uint32_t component = r.component.load(std::memory_order_relaxed);
            const uint32_t action = r.action.load(std::memory_order_relaxed);
            const auto& actions = frame_.script().actions;
            frame_.violation(component, frame::Violation::blocked_loop,
                             fmt::format("{} {}kept loop {} busy for more than {} ms (every user on it waited)",
                                         net::plugin_call_name(r.call.load(std::memory_order_relaxed)),
                                         action < actions.size() ? fmt::format("of action '{}' ", actions[action].name) : "",
                                         i, limit_.count()));
        }
    }
}

}  // namespace ntx::core
