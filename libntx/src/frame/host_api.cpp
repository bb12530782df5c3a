// The runtime table lent to plugins (ntx_host_api_t): thin C entry points that route to
// ProtocolFrame (actions, logging) and to the loops (sockets, timers, fd-watch).
#include <ntx/host_table.hpp>
#include <ntx/status.hpp>

#include <spdlog/spdlog.h>

#include "frame/protocol_frame.hpp"

namespace ntx::frame {
namespace {


spdlog::level::level_enum to_level(int32_t level) {
    switch (level) {
    case NTX_LOG_TRACE: return spdlog::level::trace;
    case NTX_LOG_DEBUG: return spdlog::level::debug;
    case NTX_LOG_INFO: return spdlog::level::info;
    case NTX_LOG_WARN: return spdlog::level::warn;
    default: return spdlog::level::err;
    }
}

std::string_view view(ntx_str_t s) { return s.ptr ? std::string_view(s.ptr, s.len) : std::string_view(); }

void host_log(ntx_host_t* host, const ntx_action_t* action, int32_t level, ntx_str_t message) noexcept {
    if (!host) return;
    try {
    auto& log = host->frame->log();
    auto lvl = to_level(level);
    if (!log.should_log(lvl)) return;
    const auto& name = host->frame->script().components[host->component].name;
    uint64_t user_id = 0, task_id = 0;
    uint32_t a = 0;
    // describe() reads the action's loop's slots: only on that loop (log may be called from any thread).
    if (action && host->frame->describe(action, user_id, task_id, a)) {
        log.log(lvl, "[{} user={} task={} action={}] {}", name, user_id, task_id, host->frame->script().actions[a].name,
                view(message));
    } else {
        log.log(lvl, "[{}] {}", name, view(message));
    }
    } catch (...) {
        // A log line that cannot be written is dropped; never an exception into the plugin.
    }
}

// No exception may cross back into a plugin's C frames.
template <class F>
ntx_status_t guarded(F&& f) noexcept {
    try {
        return f();
    } catch (const std::bad_alloc&) {
        return NTX_E_NOMEM;
    } catch (...) {
        return NTX_E_INTERNAL;
    }
}

ntx_status_t host_action_complete(ntx_host_t* host, ntx_action_t* action, const ntx_result_t* result) {
    if (!host || !action) return NTX_E_INVALID;
    return guarded([&] { return host->frame->end(action, host->component, Outcome::ok, NTX_OK, {}, result); });
}

ntx_status_t host_action_fail(ntx_host_t* host, ntx_action_t* action, ntx_status_t code, ntx_str_t reason,
                              const ntx_result_t* result) {
    if (!host || !action) return NTX_E_INVALID;
    if (code >= 0 || code < -1000) {  // a failure must carry an error code
        if (host->frame->on_token_loop(action))
            host->frame->violation(host->component, Violation::bad_code, "action_fail with a code that is not an error status");
        code = NTX_E_INTERNAL;
    }
    Outcome outcome = code == NTX_E_TIMEOUT ? Outcome::timeout : Outcome::error;
    return guarded([&] { return host->frame->end(action, host->component, outcome, code, view(reason), result); });
}

ntx_status_t host_progress(ntx_host_t* host, const ntx_action_t* action, const ntx_progress_t* progress) {
    if (!host || !progress || !NTX_HAS_MEMBER(progress, ntx_progress_t, progress)) return NTX_E_INVALID;
    if (action && !host->frame->on_token_loop(action)) {
        host->frame->violation(host->component, Violation::off_loop, "progress called from a thread that is not the action's loop");
        return NTX_E_STATE;
    }
    auto& log = host->frame->log();
    return guarded([&] {
        if (log.should_log(spdlog::level::debug)) {
            uint64_t user_id = 0, task_id = 0;
            uint32_t a = 0;
            if (action) host->frame->describe(action, user_id, task_id, a);
            log.debug("[{} user={}] progress scope={} value={}", host->frame->script().components[host->component].name,
                      user_id, progress->scope, progress->progress);
        }
        // To the progress bus through the action's sink (on its loop: no lock). A call outside a live
        // action has no owner: it is logged only.
        if (action) host->frame->plugin_progress(action, host->component, *progress);
        return NTX_OK;
    });
}

ntx_status_t host_request_task(ntx_host_t* host, ntx_action_t* action, const ntx_task_request_t* request,
                               uint64_t* task_id) {
    if (!host || !action || !request || !task_id || !NTX_HAS_MEMBER(request, ntx_task_request_t, param_count))
        return NTX_E_INVALID;
    if (!host->frame->on_token_loop(action)) {
        host->frame->violation(host->component, Violation::off_loop, "request_task called from a thread that is not the action's loop");
        return NTX_E_STATE;
    }
    uint64_t user_id = 0, task_id_now = 0;
    uint32_t current = 0;
    if (!host->frame->describe(action, user_id, task_id_now, current)) return NTX_E_STATE;
    if (request->param_count && !request->params) return NTX_E_INVALID;
    return guarded([&]() -> ntx_status_t {
        const auto& script = host->frame->script();
        std::string_view name = view(request->template_action);
        std::string_view call = NTX_HAS_MEMBER(request, ntx_task_request_t, call) ? view(request->call) : std::string_view();
        // Template: a script action by name. Ad hoc: this plugin's action for `call`.
        uint32_t found = UINT32_MAX;
        for (uint32_t i = 0; i < script.actions.size() && found == UINT32_MAX; ++i) {
            const auto& a = script.actions[i];
            if (!name.empty() ? (!a.ad_hoc && a.name == name) : (a.ad_hoc && a.component == host->component && a.call == call))
                found = i;
        }
        if (found == UINT32_MAX) return NTX_E_INVALID;
        std::vector<std::pair<std::string, std::string>> overrides;
        overrides.reserve(request->param_count);
        for (size_t i = 0; i < request->param_count; ++i) {
            const ntx_kv_t& kv = request->params[i];
            if (!kv.key.ptr || !kv.key.len) return NTX_E_INVALID;
            overrides.emplace_back(std::string(view(kv.key)), std::string(view(kv.value)));
        }
        // NTX_E_STATE unless the action is live and the call comes from its own loop.
        return host->frame->request_task(action, found, std::move(overrides), *task_id);
    });
}

// The loop a plugin names, if it is one of the run's (and the run still has loops) and the caller
// runs on it; a call from another thread is a counted violation.
net::Loop* loop_of(ntx_host_t* host, ntx_loop_t* loop) {
    if (!host || !loop || !host->frame->owns_loop(loop)) return nullptr;
    net::Loop* l = net::Loop::from(loop);
    if (!l->on_loop_thread()) {
        host->frame->violation(host->component, Violation::off_loop, "a loop-bound host function called from another thread");
        return nullptr;
    }
    return l;
}

// The loop a socket id names, if the caller runs on it (as loop_of).
net::Loop* socket_loop(ntx_host_t* host, ntx_socket_t socket) {
    net::Loop* l = host ? host->frame->loop_of_socket(socket) : nullptr;
    if (l && !l->on_loop_thread()) {
        host->frame->violation(host->component, Violation::off_loop, "a socket function called from another thread");
        return nullptr;
    }
    return l;
}

ntx_status_t host_post(ntx_host_t* host, ntx_loop_t* loop, ntx_post_cb cb, void* userdata) {
    if (!host) return NTX_E_INVALID;
    return guarded([&] { return host->frame->post(host->component, loop, cb, userdata); });
}

ntx_status_t host_timer_schedule(ntx_host_t* host, ntx_loop_t* loop, uint64_t delay_ms, ntx_timer_cb cb,
                                 void* userdata, ntx_timer_t* timer) {
    net::Loop* l = loop_of(host, loop);
    if (!l) return NTX_E_STATE;
    l->set_caller(host->component);
    return guarded([&] { return l->timer_schedule(delay_ms, cb, userdata, timer); });
}

ntx_status_t host_timer_cancel(ntx_host_t* host, ntx_loop_t* loop, ntx_timer_t timer) {
    net::Loop* l = loop_of(host, loop);
    if (!l) return NTX_E_STATE;
    return guarded([&] { return l->timer_cancel(timer); });
}

ntx_status_t host_socket_open(ntx_host_t* host, ntx_loop_t* loop, const ntx_socket_opts_t* opts, ntx_socket_t* socket) {
    net::Loop* l = loop_of(host, loop);
    if (!l) return NTX_E_STATE;
    if (!opts || opts->size < offsetof(ntx_socket_opts_t, userdata) + sizeof(void*)) return NTX_E_INVALID;
    l->set_caller(host->component);
    return guarded([&] { return l->socket_open(*opts, socket); });
}

ntx_status_t host_socket_send(ntx_host_t* host, ntx_socket_t socket, ntx_bytes_t data) {
    net::Loop* loop = socket_loop(host, socket);
    if (!loop) return NTX_E_STATE;
    return guarded([&] { return loop->socket_send(socket, data); });
}

ntx_status_t host_socket_close(ntx_host_t* host, ntx_socket_t socket) {
    net::Loop* loop = socket_loop(host, socket);
    if (!loop) return NTX_E_STATE;
    return guarded([&] { return loop->socket_close(socket); });
}

ntx_status_t host_socket_set_rate(ntx_host_t* host, ntx_socket_t socket, const ntx_rate_t* rate) {
    net::Loop* loop = socket_loop(host, socket);
    if (!rate || !NTX_HAS_MEMBER(rate, ntx_rate_t, per_ms)) return NTX_E_INVALID;
    if (!loop) return NTX_E_STATE;
    return guarded([&] { return loop->socket_set_rate(socket, *rate); });
}

ntx_status_t host_fd_watch(ntx_host_t* host, ntx_loop_t* loop, int fd, uint32_t events, ntx_fd_cb cb, void* userdata) {
    net::Loop* l = loop_of(host, loop);
    if (!l) return NTX_E_STATE;
    l->set_caller(host->component);
    return guarded([&] { return l->fd_watch(fd, events, cb, userdata); });
}

ntx_status_t host_fd_unwatch(ntx_host_t* host, ntx_loop_t* loop, int fd) {
    net::Loop* l = loop_of(host, loop);
    if (!l) return NTX_E_STATE;
    return guarded([&] { return l->fd_unwatch(fd); });
}

uint64_t host_now_ms(ntx_host_t* host) { return host ? host->frame->now_ms() : 0; }

ntx_status_t host_connect_allowed(ntx_host_t* host, ntx_str_t name, ntx_str_t address, uint16_t port) {
    if (!host || port == 0 || (name.len && !name.ptr) || (address.len && !address.ptr)) return NTX_E_INVALID;
    return guarded([&] {
        const policy::NetworkAllow& allow = host->frame->script().config.network_allow;
        if (!allow.active()) return NTX_OK;
        if (allow.allows(view(name), view(address), port)) return NTX_OK;
        return NTX_E_DENIED;
    });
}

}  // namespace

const char* status_text(ntx_status_t status) { return ntx::status_text(status); }

const char* status_kind(ntx_status_t status) { return ntx::status_kind(status); }

namespace {

// The hooks under the names ntx::host_table fills the table from (h_<member>), so that the runtime, the
// conformance kit and the test host share one filler (ntx/host_table.hpp): a function appended to the
// ABI is added there once, and here as one more line.
struct RuntimeHooks {
    static constexpr auto& h_log = host_log;
    static constexpr auto& h_action_complete = host_action_complete;
    static constexpr auto& h_action_fail = host_action_fail;
    static constexpr auto& h_progress = host_progress;
    static constexpr auto& h_request_task = host_request_task;
    static constexpr auto& h_timer_schedule = host_timer_schedule;
    static constexpr auto& h_timer_cancel = host_timer_cancel;
    static constexpr auto& h_socket_open = host_socket_open;
    static constexpr auto& h_socket_send = host_socket_send;
    static constexpr auto& h_socket_close = host_socket_close;
    static constexpr auto& h_socket_set_rate = host_socket_set_rate;
    static constexpr auto& h_fd_watch = host_fd_watch;
    static constexpr auto& h_fd_unwatch = host_fd_unwatch;
    static constexpr auto& h_now_ms = host_now_ms;
    static constexpr auto& h_post = host_post;
    static constexpr auto& h_connect_allowed = host_connect_allowed;
};

}  // namespace

ntx_host_api_t make_host_api() { return ntx::host_table<RuntimeHooks>(); }

}  // namespace ntx::frame
