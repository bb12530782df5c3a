// Which plugin call a thread is in: one record per event loop (and one for the main thread), written by
// that thread around every call into a plugin and read by others (the loop watchdog, and after a crash
// the supervising process, when the records live in a shared mapping: core/crash_trace.cpp). A few
// relaxed stores per call, on a cache line of the loop's own: no lock, no clock read.
#pragma once

#include <atomic>
#include <cstdint>

namespace ntx::net {

// The hooks the host calls. Values are stable: the supervising process reads them.
enum class PluginCall : uint32_t {
    none = 0,
    init = 1,
    run_action = 2,
    on_error = 3,
    user_release = 4,
    release = 5,
    socket_event = 6,
    timer = 7,
    fd_event = 8,
    posted = 9,
};

inline const char* plugin_call_name(uint32_t call) {
    switch (static_cast<PluginCall>(call)) {
    case PluginCall::init: return "init";
    case PluginCall::run_action: return "run_action";
    case PluginCall::on_error: return "on_error";
    case PluginCall::user_release: return "user_release";
    case PluginCall::release: return "release";
    case PluginCall::socket_event: return "socket callback";
    case PluginCall::timer: return "timer callback";
    case PluginCall::fd_event: return "fd-watch callback";
    case PluginCall::posted: return "posted callback";
    default: return "?";
    }
}

constexpr uint32_t kNoAction = UINT32_MAX;

// One thread's record. Only its own thread writes it.
struct alignas(64) CallRecord {
    std::atomic<uint32_t> seq{0};       // +1 on every plugin call: the watchdog sees whether it moved
    std::atomic<uint32_t> active{0};    // 1 while a plugin call is in flight
    std::atomic<uint32_t> component{0};
    std::atomic<uint32_t> call{0};      // PluginCall
    std::atomic<uint32_t> action{kNoAction};
    std::atomic<int32_t> tid{0};        // the thread's kernel id (a crash handler matches it)
    std::atomic<uint32_t> reported{0};  // the watchdog's: the seq it already warned about
};
static_assert(sizeof(CallRecord) == 64);

// Marks a plugin call on `r` (may be null: nothing recorded). Nested marks (a plugin call inside
// another, e.g. on_error from a host call) restore the outer one.
class CallScope {
public:
    CallScope(CallRecord* r, uint32_t component, PluginCall call, uint32_t action = kNoAction) noexcept : r_(r) {
        if (!r_) return;
        prev_active_ = r_->active.load(std::memory_order_relaxed);
        if (prev_active_) {
            prev_component_ = r_->component.load(std::memory_order_relaxed);
            prev_call_ = r_->call.load(std::memory_order_relaxed);
            prev_action_ = r_->action.load(std::memory_order_relaxed);
        }
        r_->component.store(component, std::memory_order_relaxed);
        r_->call.store(static_cast<uint32_t>(call), std::memory_order_relaxed);
        r_->action.store(action, std::memory_order_relaxed);
        r_->seq.store(r_->seq.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        r_->active.store(1, std::memory_order_release);
    }
    ~CallScope() {
        if (!r_) return;
        if (prev_active_) {
            r_->component.store(prev_component_, std::memory_order_relaxed);
            r_->call.store(prev_call_, std::memory_order_relaxed);
            r_->action.store(prev_action_, std::memory_order_relaxed);
            r_->seq.store(r_->seq.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        }
        r_->active.store(prev_active_, std::memory_order_release);
    }
    CallScope(const CallScope&) = delete;
    CallScope& operator=(const CallScope&) = delete;

private:
    CallRecord* r_;
    uint32_t prev_active_ = 0, prev_component_ = 0, prev_call_ = 0, prev_action_ = kNoAction;
};

}  // namespace ntx::net
