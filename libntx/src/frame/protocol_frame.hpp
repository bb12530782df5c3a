// ProtocolFrame: the layer between the scheduler and the plugins. It owns the loaded components,
// lends them the host table, renders each action's parameters, enforces action deadlines, turns
// every way an action can end into exactly one counted outcome, and keeps the per-user plugin slots.
#pragma once

#include <chrono>
#include <memory>
#include <spdlog/logger.h>
#include <string>
#include <vector>

#include "core/log_mask.hpp"
#include "dsl/script.hpp"
#include "net/loop.hpp"
#include "plugin/plugin_loader.hpp"
#include "scheduler/stats.hpp"
#include "scheduler/user.hpp"

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

    // The run's loops and its start (the clock plugins read through now_ms).
    void attach_loops(std::vector<net::Loop*> loops, std::chrono::steady_clock::time_point started);

    // Starts `action` for `u` (on u's loop).
    void dispatch(scheduler::User& u, uint32_t action);
    // Ends u's in-flight action from the host side (timeout, stop) and tells the plugin (on_error).
    void cancel(scheduler::User& u, scheduler::Outcome outcome, ntx_status_t code, std::string_view reason);
    // Ends the action on `handle` with the plugin's report; NTX_E_STATE if that handle is not live.
    ntx_status_t end(ntx_action& handle, scheduler::Outcome outcome, ntx_status_t code, std::string_view reason,
                     const ntx_result_t* result);
    // Whether `loop` is one of the run's loops (plugins hand loop pointers back to the host).
    bool owns_loop(const ntx_loop_t* loop) const;
    // After the loops are gone: no socket or timer call can reach them any more.
    void detach_loops();
    // Hands each plugin's per-user slot back to it (user_release).
    void release_user(scheduler::User& u);

    // For the host table.
    net::Loop* loop_of_socket(ntx_socket_t id) const;
    uint64_t now_ms() const {
        return static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_).count());
    }
    spdlog::logger& log() { return *log_; }
    const dsl::Script& script() const { return script_; }

    // log.mask, for text the host keeps outside the log (the report's first error of each kind).
    const core::Masker& masker() const { return masker_; }

private:
    // save-as: the result's fields into the user's variable (or the run-wide one of a global), then
    // the persist file, if any.
    void save_result(scheduler::User& u, const dsl::ActionSpec& a, const ntx_result_t& result);
    // Waits for u.action_deadline; see User::action_timer.
    void arm_action_timer(scheduler::User& u);

    const dsl::Script& script_;
    std::shared_ptr<spdlog::logger> log_;
    core::Masker masker_;  // log.mask: the fields of persisted results it names are written as ***
    std::vector<Component> components_;
    std::vector<net::Loop*> loops_;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    ntx_host_api_t api_{};
};

// The host table every plugin gets (host_api.cpp).
ntx_host_api_t make_host_api();
const char* status_text(ntx_status_t status);
// Short name of a status for reports ("connect", "timeout" ...).
const char* status_kind(ntx_status_t status);

}  // namespace ntx::frame
