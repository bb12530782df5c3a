// The host table (ntx_host_api_t) of a host whose hooks are the static members h_log ... h_now_ms (and
// h_post, ABI 1.3, and h_connect_allowed, ABI 1.5, if it has them) of one class, with the ABI's own
// strerror. The one filler every host uses: the runtime (frame/host_api.cpp, whose members are references to its functions), the
// conformance kit's host and the test host (ntx::plugin_test_host). A function appended to the ABI is
// filled here once (optional for hooks classes written before it, as h_post is).
// Header-only. A class with private hooks befriends it:
//     friend ntx_host_api_t ntx::host_table<MyHost>() noexcept;
#pragma once

#include "ntx/export.hpp"
#include "ntx/plugin_abi.h"
#include "ntx/status.hpp"

#include <type_traits>

NTX_BEGIN_NAMESPACE

namespace detail {
// Whether Hooks has h_post (ABI 1.3): a host written before it leaves the member NULL.
template <class Hooks, class = void>
struct has_post : std::false_type {};
template <class Hooks>
struct has_post<Hooks, std::void_t<decltype(&Hooks::h_post)>> : std::true_type {};

// Whether Hooks has h_connect_allowed (ABI 1.5).
template <class Hooks, class = void>
struct has_connect_allowed : std::false_type {};
template <class Hooks>
struct has_connect_allowed<Hooks, std::void_t<decltype(&Hooks::h_connect_allowed)>> : std::true_type {};
}  // namespace detail

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
    if constexpr (detail::has_post<Hooks>::value) api.post = &Hooks::h_post;
    if constexpr (detail::has_connect_allowed<Hooks>::value) api.connect_allowed = &Hooks::h_connect_allowed;
    return api;
}

NTX_END_NAMESPACE
