// ntx::Protocol: a protocol written as a C++ class inside the harness (no .so), for example to drive a
// client library the harness already has. Header-only, on top of the plugin C ABI (ntx/plugin_abi.h):
// Protocol::entry() fills the same ntx_plugin_api_t table a plugin .so fills, with static trampolines
// into the virtual functions below, and Host::register_protocol() makes a script's `entry: <name>`
// resolve to it. So an in-process protocol gets exactly what a plugin gets: the same checks (ABI
// version, semver version, capabilities), the same host table (timers, sockets, logging), the same
// threading rules and the same counted outcomes. Nothing of this class crosses libntx's ABI: only the
// C table does.
//
// Threading (the C ABI's rules): run_action and on_cancel for a user run on that user's loop thread;
// different loops call the same Protocol concurrently, so what a Protocol shares between users must be
// read-only or protected. init and release run on the thread that starts the run.
// Ownership: the Protocol object is the harness's and must outlive every run that uses it. One object
// may serve several runs at once (each run gets its own RunContext).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ntx/export.hpp"
#include "ntx/host.hpp"
#include "ntx/plugin_abi.h"

NTX_BEGIN_NAMESPACE

class Protocol;

// What one run lent the protocol in init: the host table and the component's host context.
struct RunContext {
    Protocol* protocol = nullptr;
    ntx_host_t* host = nullptr;
    const ntx_host_api_t* api = nullptr;
    std::string component;   // the component's name in the script
    std::string config_json;  // its section of resource/config.yaml, as JSON
};

// A handle that ends an action later (from a timer or a socket callback on the action's loop).
// Copyable; valid until the action ended (complete/fail) or the host cancelled it (on_cancel).
class PendingAction {
public:
    PendingAction() = default;
    PendingAction(const RunContext* run, ntx_action_t* action) : run_(run), action_(action) {}

    // Ends the action as a success; `fields` are what the script's save-as reads (copied by the host).
    ntx_status_t complete(std::initializer_list<std::pair<std::string_view, std::string_view>> fields = {},
                          uint32_t status = 0) const {
        std::vector<ntx_kv_t> kv;
        kv.reserve(fields.size());
        for (const auto& [k, v] : fields) kv.push_back({{k.data(), k.size()}, {v.data(), v.size()}});
        ntx_result_t result{};
        result.size = sizeof(result);
        result.fields = kv.data();
        result.field_count = kv.size();
        result.status = status;
        return run_->api->action_complete(run_->host, action_, &result);
    }
    // Ends the action as an error: `code` is an NTX_E_* status (< 0), `reason` a short text.
    ntx_status_t fail(ntx_status_t code, std::string_view reason) const {
        return run_->api->action_fail(run_->host, action_, code, {reason.data(), reason.size()}, nullptr);
    }
    ntx_action_t* handle() const { return action_; }
    const RunContext& run() const { return *run_; }

private:
    const RunContext* run_ = nullptr;
    ntx_action_t* action_ = nullptr;
};

// The action Protocol::run_action is asked to start. Valid only during that call (its parameters are
// borrowed from the host); to end the action later, keep pending().
class Action {
public:
    Action(const RunContext& run, ntx_action_t* action, const ntx_action_ctx_t& ctx)
        : run_(run), action_(action), ctx_(ctx) {}

    std::string_view call() const { return {ctx_.call.ptr, ctx_.call.len}; }
    std::string_view name() const { return {ctx_.action_name.ptr, ctx_.action_name.len}; }
    uint64_t user_id() const { return ctx_.user_id; }
    uint64_t task_id() const { return ctx_.task_id; }
    // A rendered `with` parameter (nested keys as "a.b"); empty when absent.
    std::string_view param(std::string_view key) const {
        for (size_t i = 0; i < ctx_.param_count; ++i)
            if (std::string_view(ctx_.params[i].key.ptr, ctx_.params[i].key.len) == key)
                return {ctx_.params[i].value.ptr, ctx_.params[i].value.len};
        return {};
    }
    bool has_param(std::string_view key) const {
        for (size_t i = 0; i < ctx_.param_count; ++i)
            if (std::string_view(ctx_.params[i].key.ptr, ctx_.params[i].key.len) == key) return true;
        return false;
    }
    // The script reads this action's result (save-as): report fields; otherwise they may be skipped.
    bool wants_result() const { return (ctx_.flags & NTX_ACTION_WANTS_RESULT) != 0; }
    // The per-user slot of this component (the C ABI's user_data): the protocol's per-user state.
    void** user_slot() const { return ctx_.user_data; }
    const ntx_action_ctx_t& ctx() const { return ctx_; }
    const RunContext& run() const { return run_; }

    // Ends the action now (see PendingAction). At most one of complete/fail, once.
    ntx_status_t complete(std::initializer_list<std::pair<std::string_view, std::string_view>> fields = {},
                          uint32_t status = 0) {
        ended_ = true;
        return pending().complete(fields, status);
    }
    ntx_status_t fail(ntx_status_t code, std::string_view reason) {
        ended_ = true;
        return pending().fail(code, reason);
    }
    // To end it later, on this action's loop.
    PendingAction pending() const { return PendingAction(&run_, action_); }
    bool ended() const { return ended_; }

private:
    const RunContext& run_;
    ntx_action_t* action_;
    const ntx_action_ctx_t& ctx_;
    bool ended_ = false;
};

class Protocol {
public:
    // `name` and `version` (semver) are what the plugin table declares; `capabilities` are the calls
    // run_action accepts. The script's component checks them as it checks a plugin's.
    Protocol(std::string name, std::string version, std::vector<std::string> capabilities)
        : name_(std::move(name)), version_(std::move(version)), capabilities_(std::move(capabilities)) {
        for (const auto& c : capabilities_) capability_ptrs_.push_back(c.c_str());
    }
    virtual ~Protocol() = default;
    Protocol(const Protocol&) = delete;
    Protocol& operator=(const Protocol&) = delete;

    const std::string& name() const { return name_; }

    // Once per run, before any action. Non-zero refuses the run (RuntimeFailure).
    virtual ntx_status_t init(const RunContext&) { return NTX_OK; }
    // Starts an action. End it now (action.complete / fail) or later through action.pending(). An
    // exception that escapes ends the action as NTX_E_INTERNAL (if it had not ended yet).
    virtual void run_action(Action& action) = 0;
    // The host ended the action first (NTX_E_TIMEOUT, NTX_E_CANCELLED): stop its work and forget its
    // PendingAction. Must be overridden by a protocol that ends actions later.
    virtual void on_cancel(const RunContext&, ntx_action_t* /*action*/, void** /*user_slot*/, ntx_status_t /*code*/,
                           std::string_view /*reason*/) {}
    // A user ended whose slot the protocol had set: free what it points at.
    virtual void user_release(const RunContext&, uint64_t /*user_id*/, void* /*user_data*/) {}
    // Once per run, after every loop stopped.
    virtual void release(const RunContext&) {}

    // The entry function Host::register_protocol takes: fills the plugin table like a plugin's
    // ntx_plugin_entry. The table points into this object.
    ProtocolEntry entry() {
        return [this](const ntx_host_api_t*, ntx_plugin_api_t* t) -> ntx_status_t {
            t->abi_major = NTX_ABI_MAJOR;
            t->abi_minor = NTX_ABI_MINOR;
            t->name = name_.c_str();
            t->version = version_.c_str();
            t->capabilities = capability_ptrs_.data();
            t->capability_count = capability_ptrs_.size();
            t->init = &Protocol::c_init;
            t->run_action = &Protocol::c_run_action;
            t->on_error = &Protocol::c_on_error;
            t->user_release = &Protocol::c_user_release;
            t->release = &Protocol::c_release;
            return NTX_OK;
        };
    }

private:
    // The C ABI's hooks. init finds this object in *plugin_state (register_protocol's init_state) and
    // replaces it with the run's own RunContext. No exception crosses the C boundary.
    static ntx_status_t c_init(ntx_host_t* host, const ntx_init_ctx_t* ctx, void** plugin_state) noexcept {
        auto* self = static_cast<Protocol*>(*plugin_state);
        if (!self) return NTX_E_STATE;
        try {
            auto* run = new RunContext{self, host, ctx->host_api, std::string(ctx->component.ptr, ctx->component.len),
                                       std::string(ctx->config_json.ptr, ctx->config_json.len)};
            ntx_status_t rc = self->init(*run);
            if (rc != NTX_OK) {
                delete run;
                return rc;
            }
            *plugin_state = run;
            return NTX_OK;
        } catch (...) {
            return NTX_E_INTERNAL;
        }
    }
    static ntx_status_t c_run_action(void* state, ntx_action_t* handle, const ntx_action_ctx_t* ctx) noexcept {
        auto* run = static_cast<RunContext*>(state);
        Action action(*run, handle, *ctx);
        try {
            run->protocol->run_action(action);
            return NTX_OK;
        } catch (const std::exception& e) {
            if (action.ended()) return NTX_OK;
            std::string_view what = e.what();
            run->api->log(run->host, handle, NTX_LOG_ERROR, {what.data(), what.size()});
            return NTX_E_INTERNAL;
        } catch (...) {
            return action.ended() ? NTX_OK : NTX_E_INTERNAL;
        }
    }
    static void c_on_error(void* state, ntx_action_t* action, void** user_data, ntx_status_t code,
                           ntx_str_t reason) noexcept {
        auto* run = static_cast<RunContext*>(state);
        try {
            run->protocol->on_cancel(*run, action, user_data, code, {reason.ptr, reason.len});
        } catch (...) {
        }
    }
    static void c_user_release(void* state, uint64_t user_id, void* user_data) noexcept {
        auto* run = static_cast<RunContext*>(state);
        try {
            run->protocol->user_release(*run, user_id, user_data);
        } catch (...) {
        }
    }
    static void c_release(void* state) noexcept {
        auto* run = static_cast<RunContext*>(state);
        try {
            run->protocol->release(*run);
        } catch (...) {
        }
        delete run;
    }

    std::string name_, version_;
    std::vector<std::string> capabilities_;
    std::vector<const char*> capability_ptrs_;
};

// Registers `protocol` with `host` under its name: a script's `entry: <name>` then runs it.
inline void register_protocol(Host& host, Protocol& protocol) {
    host.register_protocol(protocol.name(), protocol.entry(), &protocol);
}

NTX_END_NAMESPACE
