// The state of one run of a wasm plugin (RunState) and of its instance on one loop (LoopInstance):
// the guest, the actions it holds (as handles it sees), the sockets and timers it opened, and the
// reset that follows a trap or an exhausted budget.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

#include "ntx/plugin_abi.h"
#include "wasm/guest_block.hpp"
#include "wasm/wasm_module.hpp"

namespace ntx::wasm {

class LoopInstance;

// What a guest's host functions act on (Guest::user points here).
struct Binding {
    ntx_host_t* host = nullptr;            // null while probing (describe, validate_action)
    const ntx_host_api_t* api = nullptr;
    LoopInstance* loop = nullptr;          // null outside a loop (init on the main thread, probing)
    const ntx_validate_ctx_t* validating = nullptr;  // during validate_action only
    const std::string* component = nullptr;
};

struct RunState {
    const Module* module = nullptr;
    ntx_host_t* host = nullptr;
    const ntx_host_api_t* api = nullptr;
    std::string component, res_dir, config_json;
    uint32_t loop_count = 1;
    std::vector<std::unique_ptr<LoopInstance>> loops;
};

struct SocketBinding {
    LoopInstance* owner;
    ntx_socket_t id = 0;
    uint32_t cb = 0, userdata = 0;
};
struct TimerBinding {
    LoopInstance* owner;
    ntx_timer_t id = 0;
    uint32_t cb = 0, userdata = 0;
};

// The per-user slot (ntx_action_ctx_t.user_data) holds the guest's pointer, the loop and the guest's
// generation: a pointer of an instance that was reset since is read as NULL.
struct UserSlot {
    static void* encode(uint32_t loop, uint16_t generation, uint32_t guest_ptr) {
        return reinterpret_cast<void*>((uint64_t{1} << 63) | (uint64_t{generation & 0x7fffu} << 48) |
                                       (uint64_t{loop & 0xffffu} << 32) | guest_ptr);
    }
    explicit UserSlot(const void* v) : bits(reinterpret_cast<uint64_t>(v)) {}
    bool present() const { return bits >> 63; }
    uint32_t loop() const { return static_cast<uint32_t>((bits >> 32) & 0xffff); }
    uint16_t generation() const { return static_cast<uint16_t>((bits >> 48) & 0x7fff); }
    uint32_t guest_ptr() const { return static_cast<uint32_t>(bits); }
    uint64_t bits;
};

class LoopInstance {
public:
    LoopInstance(RunState& run, uint32_t index);
    ~LoopInstance();

    RunState& run;
    const uint32_t index;
    ntx_loop_t* loop = nullptr;  // known from the first action on this loop
    Binding binding;
    std::unique_ptr<Guest> guest;
    uint16_t generation = 1;

    // A new guest with ntx_init called; false with `error` when it trapped or refused.
    bool start(std::string& error, ntx_status_t& refused);
    // The guest, started again (after a reset) when needed; nullptr when that failed (logged).
    Guest* ready();
    // The guest trapped or ran out of budget in `where`: log, drop it, fail its actions, close its
    // sockets and cancel its timers. The next action starts a fresh instance.
    void reset(const Guest::Call& call, const char* where);
    bool reset_since(uint16_t gen) const { return generation != gen; }

    // Action handles the guest sees (never 0).
    uint32_t enter(ntx_action_t* action);
    ntx_action_t* take(uint32_t handle);    // ends it: the handle is dead afterwards; null if unknown
    ntx_action_t* find(uint32_t handle) const;
    void forget(ntx_action_t* action);
    bool holds(ntx_action_t* action) const { return handles_.count(action) != 0; }
    uint32_t handle_of(ntx_action_t* action) const {
        auto it = handles_.find(action);
        return it == handles_.end() ? 0 : it->second;
    }
    // At release (no loop runs, every socket and timer is closed already): forget them without a call.
    void abandon() {
        sockets_.clear();
        timers_.clear();
    }

    ntx_status_t socket_open(const ntx_socket_opts_t& opts, uint32_t cb, uint32_t userdata, ntx_socket_t& id);
    ntx_status_t socket_close(ntx_socket_t id);
    bool owns_socket(ntx_socket_t id) const { return sockets_.count(id) != 0; }
    ntx_status_t timer_schedule(uint64_t delay_ms, uint32_t cb, uint32_t userdata, ntx_timer_t& id);
    ntx_status_t timer_cancel(ntx_timer_t id);

    void log(int32_t level, const std::string& message);

    // The block an action's ctx or an event is built in, reused call after call (BlockLease).
    Block block;
    bool block_busy = false;

private:
    static void on_socket(void* userdata, const ntx_socket_event_t* event);
    static void on_timer(void* userdata, ntx_timer_t timer);
    void close_all();

    uint32_t next_handle_ = 1;
    // Open addressing (no allocation per entry once grown): one insert and one erase per action.
    boost::unordered_flat_map<uint32_t, ntx_action_t*> actions_;
    boost::unordered_flat_map<ntx_action_t*, uint32_t> handles_;
    std::unordered_map<ntx_socket_t, std::unique_ptr<SocketBinding>> sockets_;
    std::unordered_map<ntx_timer_t, std::unique_ptr<TimerBinding>> timers_;
};

// Fills ntx_init_ctx_t into a guest and calls ntx_init (init on every instance start).
Guest::Call call_init(Guest& guest, const RunState& run, ntx_status_t& rc);

}  // namespace ntx::wasm
