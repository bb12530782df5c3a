// One CURLM per host loop, driven by that loop through the ABI's fd-watch and timer hooks
// (libcurl's multi_socket API): curl says which descriptors to watch (CURLMOPT_SOCKETFUNCTION) and
// when to wake it (CURLMOPT_TIMERFUNCTION); the loop's readiness and timer callbacks hand control
// back with curl_multi_socket_action. Nothing here blocks and no thread is made.
#pragma once

#include <ntx/sdk/error.hpp>

#include <curl/curl.h>
#include <ntx/plugin_abi.h>

#include <cstdint>
#include <vector>

namespace ntx::ftp {

using sdk::Error;

struct PluginState;
class Session;

class CurlLoop {
public:
    CurlLoop(const PluginState &plugin, ntx_loop_t *loop);
    ~CurlLoop();
    CurlLoop(const CurlLoop &) = delete;
    CurlLoop &operator=(const CurlLoop &) = delete;

    // Creates the multi handle and installs the callbacks.
    Error init();

    ntx_loop_t *loop() const noexcept { return loop_; }

    // Starts a transfer: curl asks for a 0 ms timer, the loop runs it on a later turn.
    CURLMcode add(CURL *easy) noexcept;
    // Stops a transfer (done or abandoned). curl may unwatch descriptors and move its timer here, but
    // no transfer ends from inside this call.
    void remove(CURL *easy) noexcept;

    // The sessions whose transfer is in flight (see check_stalled).
    void track(Session *session);
    void untrack(Session *session) noexcept;

    // From release on (no loop runs any more) callbacks stop calling the host.
    void detach_host() noexcept { attached_ = false; }

private:
    static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) noexcept;
    static int on_timer(CURLM *multi, long timeout_ms, void *userp) noexcept;
    static void fd_ready(void *userdata, int fd, std::uint32_t events) noexcept;
    static void timer_fired(void *userdata, ntx_timer_t timer) noexcept;
    static void kick_fired(void *userdata, ntx_timer_t timer) noexcept;

    void drive(curl_socket_t fd, int mask) noexcept;
    void finish_transfers() noexcept;
    void cancel_timer() noexcept;  // curl's timer
    void cancel_kick() noexcept;   // the stall check's pass
    void check_stalled() noexcept;
    void request_kick(std::uint64_t delay_ms) noexcept;

    const PluginState &plugin_;
    ntx_loop_t *loop_;
    CURLM *multi_ = nullptr;
    ntx_timer_t timer_ = 0;
    ntx_timer_t kick_timer_ = 0;
    bool attached_ = true;
    std::vector<Session *> active_;
};

}  // namespace ntx::ftp
