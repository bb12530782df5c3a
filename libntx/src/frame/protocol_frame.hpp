// ProtocolFrame: the layer between the scheduler and the plugins. It owns the loaded components,
// lends them the host table, owns the action tokens plugins hold (a slot and a generation, never a
// scheduler pointer: a stale token is refused), enforces action deadlines, turns every way an action
// can end into exactly one outcome handed to its loop's ActionSink, and keeps the plugins' per-user
// slots. It includes nothing of the scheduler's.
#pragma once

#include "net/run_clock.hpp"
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <spdlog/logger.h>
#include <string>
#include <vector>

#include "core/log_mask.hpp"
#include "dsl/script.hpp"
#include "frame/action_sink.hpp"
#include "frame/violations.hpp"
#include "net/loop.hpp"
#include "plugin/plugin_loader.hpp"

namespace ntx::frame {
class ProtocolFrame;
}

// The opaque host context of the C ABI: one per loaded component.
struct ntx_host {
    ntx::frame::ProtocolFrame* frame = nullptr;
    uint32_t component = 0;
};

namespace ntx::frame {

struct Component {
    const dsl::ComponentSpec* spec = nullptr;
    std::shared_ptr<plugin::LoadedPlugin> plugin;  // null for the built-in resource-manager
    void* state = nullptr;
    ntx_host host;
    bool initialized = false;
};

// What dispatch needs beside the slot: the scheduler renders the parameters (its variables and
// templates), the frame only hands them over.
struct DispatchRequest {
    uint32_t action = 0;
    uint64_t task_id = 0;
    const ntx_kv_t* params = nullptr;
    size_t param_count = 0;
    const uint32_t* param_flags = nullptr;  // NTX_PARAM_* per param, or null (none)
    std::chrono::steady_clock::time_point started;  // when its latency starts (an open model's intended start)
};

class ProtocolFrame {
public:
    ProtocolFrame(const dsl::Script& script, std::shared_ptr<spdlog::logger> log);
    ~ProtocolFrame();

    const ntx_host_api_t* host_api() const { return &api_; }
    std::vector<Component>& components() { return components_; }

    // Calls init on every plugin; throws RuntimeFailure when one refuses.
    void init_all(uint32_t loop_count);
    // Calls release on every initialized plugin (after every loop stopped).
    void release_all();

    // The run's loops, each with the sink its actions end into, and the run's start (the clock plugins
    // read through now_ms). Before any slot is opened.
    void attach_loops(std::vector<net::Loop*> loops, std::vector<ActionSink*> sinks,
                      std::chrono::steady_clock::time_point started);
    // The record of the main thread's plugin calls (init, release); the loops keep their own
    // (net::Loop::call_record). May stay null: nothing recorded.
    void set_main_call_record(net::CallRecord* r) { main_call_ = r; }

    // Whether `loop` is one of the run's loops (plugins hand loop pointers back to the host).
    bool owns_loop(const ntx_loop_t* loop) const;
    // After the loops are gone: no socket or timer call can reach them any more.
    void detach_loops();

    // On `loop`'s thread: a slot for `owner` (user `user_id`), and its end (the plugins' per-user
    // slots are handed back with user_release, the deadline timer stops, later tokens are refused).
    SlotId open_slot(uint32_t loop, void* owner, uint64_t user_id);
    void close_slot(SlotId& slot);
    bool in_action(SlotId slot) const { return slot.valid() && slot_at(slot).live; }

    // Starts the request's action on `slot` (on its loop).
    void dispatch(SlotId slot, const DispatchRequest& rq);
    // Starts and at once ends the request's action as failed before the plugin saw it (its parameters
    // could not be rendered): counted like any failure.
    void fail(SlotId slot, const DispatchRequest& rq, ntx_status_t code, std::string_view reason);
    // Ends the slot's in-flight action from the host side (timeout, stop) and tells the plugin (on_error).
    void cancel(SlotId slot, Outcome outcome, ntx_status_t code, std::string_view reason);
    // Ends the action `token` names with the report of `caller` (the component whose host table was
    // called, or kHost); NTX_E_STATE if it is not live (stale, ended, off its loop: a plugin's is a
    // counted violation). An end past the action's deadline counts as a timeout.
    static constexpr uint32_t kHost = UINT32_MAX;
    ntx_status_t end(const ntx_action_t* token, uint32_t caller, Outcome outcome, ntx_status_t code,
                     std::string_view reason, const ntx_result_t* result);
    // Whether the calling thread is the loop the token names (plugins may call from any thread).
    bool on_token_loop(const ntx_action_t* token) const;
    // Whether the calling thread is `loop`'s (a loop of the run's).
    bool on_loop(const net::Loop* loop) const { return loop && loop->on_loop_thread(); }
    // The host table's post: thread-safe.
    ntx_status_t post(uint32_t component, ntx_loop_t* loop, ntx_post_cb cb, void* userdata);

    // A breach of the contract by `component`: counted; the first of its kind logged at warn.
    void violation(uint32_t component, Violation kind, std::string_view detail);
    const Violations& violations() const { return violations_; }
    // For the host table: the plugin calls that belong to a live action's owner.
    ntx_status_t request_task(const ntx_action_t* token, uint32_t action,
                              std::vector<std::pair<std::string, std::string>> overrides, uint64_t& task_id);
    void plugin_progress(const ntx_action_t* token, uint32_t component, const ntx_progress_t& p);
    // The user, task and action of the token's action (for log lines); false for a stale token.
    bool describe(const ntx_action_t* token, uint64_t& user_id, uint64_t& task_id, uint32_t& action) const;

    // For the host table.
    net::Loop* loop_of_socket(ntx_socket_t id) const;
    uint64_t now_ms() const {
        return static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(net::RunClock::now() - started_).count());
    }
    spdlog::logger& log() { return *log_; }
    const dsl::Script& script() const { return script_; }

    // log.mask, for text the host keeps outside the log (the report's first error of each kind).
    const core::Masker& masker() const { return masker_; }

private:
    struct Slot {
        explicit Slot(boost::asio::io_context& io) : timer(io) {}
        void* owner = nullptr;
        uint64_t user_id = 0;
        uint64_t task_id = 0;
        uint32_t generation = 0;
        uint32_t action = 0;
        bool live = false;  // an action is in flight and not ended yet
        bool ended_by_host = false;  // the current generation's action was ended by the host (timeout, stop)
        bool open = false;
        std::vector<void*> plugin_slots;  // per component, handed to plugins as user_data
        std::chrono::steady_clock::time_point started;
        // The action deadline, armed lazily: dispatch only records `deadline`; the timer waits for the
        // earliest deadline it was armed with and, when it fires early (for an action that ended
        // since), re-arms for the current one. No timer operation per action.
        net::RunTimer timer;
        bool timer_armed = false;
        std::chrono::steady_clock::time_point timer_expiry;
        std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
    };
    struct LoopSlots {
        ActionSink* sink = nullptr;
        std::deque<Slot> slots;       // stable: a pending timer wait refers to its slot
        std::vector<uint32_t> free;   // closed slots, reused
    };

    Slot& slot_at(SlotId id) { return tables_[id.loop].slots[id.index]; }
    const Slot& slot_at(SlotId id) const { return tables_[id.loop].slots[id.index]; }
    // The live slot a token names, or null (malformed, stale, ended; with `live` false: an ended action's
    // slot too while no later action began on it).
    Slot* live_slot(const ntx_action_t* token, SlotId& id, bool live = true);
    static ntx_action_t* token(SlotId id, uint32_t generation);
    // Begins an action on the slot: a new generation, live, started and deadline set.
    ntx_action_t* begin(SlotId id, Slot& s, const DispatchRequest& rq, uint64_t timeout_ms);
    void arm_action_timer(SlotId id, Slot& s);

    const dsl::Script& script_;
    std::shared_ptr<spdlog::logger> log_;
    core::Masker masker_;  // log.mask
    std::vector<Component> components_;
    std::vector<net::Loop*> loops_;
    std::vector<LoopSlots> tables_;  // per loop, touched on that loop's thread only
    std::chrono::steady_clock::time_point started_ = net::RunClock::now();
    ntx_host_api_t api_{};
    net::CallRecord* main_call_ = nullptr;
    Violations violations_;
    // post() reads the loops from any thread: it holds this while attach/detach change them.
    mutable std::mutex post_mutex_;
    bool accepting_posts_ = false;
};

// The host table every plugin gets (host_api.cpp).
ntx_host_api_t make_host_api();
const char* status_text(ntx_status_t status);
// Short name of a status for reports ("connect", "timeout" ...).
const char* status_kind(ntx_status_t status);

}  // namespace ntx::frame
