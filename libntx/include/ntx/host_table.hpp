// The host table (ntx_host_api_t) of a host whose hooks are the static members h_log ... h_now_ms of
// one class, with the ABI's own strerror: how the conformance kit's host and test hosts fill theirs.
// Header-only. A class with private hooks befriends it:
//     friend ntx_host_api_t ntx::host_table<MyHost>() noexcept;
#pragma once

#include "ntx/export.hpp"
#include "ntx/plugin_abi.h"
#include "ntx/status.hpp"

NTX_BEGIN_NAMESPACE

template <class Hooks>
ntx_host_api_t host_table() noexcept {
    ntx_host_api_t api{};
    api.size = sizeof(api);
    api.abi_major = NTX_ABI_MAJOR;
    api.abi_minor = NTX_ABI_MINOR;
    api.log = &Hooks::h_log;
    api.action_complete = &Hooks::h_action_complete;
    api.action_fail = &Hooks::h_action_fail;
    api.progress = &Hooks::h_progress;
    api.request_task = &Hooks::h_request_task;
    api.timer_schedule = &Hooks::h_timer_schedule;
    api.timer_cancel = &Hooks::h_timer_cancel;
    api.socket_open = &Hooks::h_socket_open;
    api.socket_send = &Hooks::h_socket_send;
    api.socket_close = &Hooks::h_socket_close;
    api.socket_set_rate = &Hooks::h_socket_set_rate;
    api.fd_watch = &Hooks::h_fd_watch;
    api.fd_unwatch = &Hooks::h_fd_unwatch;
    api.now_ms = &Hooks::h_now_ms;
    api.strerror = &status_text;
    return api;
}

NTX_END_NAMESPACE
