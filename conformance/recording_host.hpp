// The conformance kit's host: an ntx_host_api_t that records every call a plugin makes, checks each
// against the ABI's rules (plugin_abi.h), and runs one single-threaded loop of its own.
//
// The loop lends real sockets (non-blocking, poll) when a scenario runs with the author's parameters,
// and otherwise refuses every connection (NTX_SOCKET_ERROR / NTX_E_CONNECT on the next turn) so a
// smoke run needs no network. Timers run on a clock that jumps to the next timer whenever no real
// descriptor is open, so a plugin's 60 s timer costs nothing in a smoke run.
#pragma once

#include <ntx/host_table.hpp>
#include <ntx/plugin_abi.h>
#include <ntx/status.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace ntx::conformance {

using Params = std::vector<std::pair<std::string, std::string>>;

// Where the plugin is in its life: decides which host functions it may call.
enum class Phase { entry, init, running, releasing, released };

struct ActionRecord {
    uint64_t id = 0;
    uint64_t user = 0;
    std::string call;
    Params params;
    std::vector<ntx_kv_t> kv;
    int outcomes = 0;          // every way the action was ended: complete, fail, negative return, host
    bool live = false;
    bool after_on_error = false;  // the host ended it and on_error returned: the handle is dead for good
    bool ok = false;
    ntx_status_t code = NTX_OK;
    std::string how;           // the first outcome, in words
};

class RecordingHost {
public:
    explicit RecordingHost(bool network);
    ~RecordingHost();
    RecordingHost(const RecordingHost&) = delete;
    RecordingHost& operator=(const RecordingHost&) = delete;

    const ntx_host_api_t* api() const { return &api_; }
    ntx_host_t* handle() { return reinterpret_cast<ntx_host_t*>(this); }
    ntx_loop_t* loop() { return reinterpret_cast<ntx_loop_t*>(&loop_tag_); }

    Phase phase = Phase::entry;

    // ---- actions ----------------------------------------------------------------------------------
    ActionRecord& new_action(uint64_t user, std::string call, Params params, bool null_params);
    ntx_action_t* action_handle(ActionRecord& a) { return reinterpret_cast<ntx_action_t*>(&a); }
    // run_action returned `rc`: a negative one ends the action (a second outcome if it was told already).
    void after_run_action(ActionRecord& a, ntx_status_t rc);
    // The host ends a live action first; the caller then calls on_error and mark_on_error_done.
    void end_by_host(ActionRecord& a, ntx_status_t code);
    void mark_on_error_done(ActionRecord& a) { a.after_on_error = true; }
    void** user_slot(uint64_t user) { return &slots_[user]; }
    const std::map<uint64_t, void*>& slots() const { return slots_; }

    // Which user's context the plugin runs in (run_action, on_error, user_release); what it opens then
    // belongs to that user, and its callbacks run in that user's context again.
    void set_context(uint64_t user) { context_user_ = user; }

    // ---- the loop ---------------------------------------------------------------------------------
    // Turns the loop until `done()` holds, `budget_ms` of loop time passed, or nothing can happen any
    // more (no timers, no sockets with work, no watches). Returns done().
    bool run_until(const std::function<bool()>& done, uint64_t budget_ms);
    uint64_t now() const;

    // Resources still open that were opened in `user`'s context.
    std::size_t open_sockets_of(uint64_t user) const;
    std::size_t armed_timers_of(uint64_t user) const;
    std::size_t open_sockets() const;
    std::size_t armed_timers() const;
    std::size_t watches() const { return watches_.size(); }
    // The host closes what the plugin left (as the real host does before release).
    void close_everything();

    // ---- findings ---------------------------------------------------------------------------------
    std::vector<std::string> violations;  // rules of the ABI broken: the check fails
    std::vector<std::string> warnings;    // advice: the check passes with a warning
    std::vector<std::string> logs;        // what the plugin logged
    std::vector<std::string> calls;       // every host function the plugin called, in order
    uint32_t slow_call_ms = 50;           // a plugin call on the loop longer than this is reported
    // Times a plugin call on the loop thread and warns when it blocks.
    void timed(const char* what, const std::function<void()>& call);
    void violation(std::string what) { violations.push_back(std::move(what)); }
    void warning(std::string what);

    // ABI 1.3 post: public, so that ntx::host_table finds it. Thread-safe: the only hook a plugin's
    // own thread may call; queued and run on the loop thread at the next turn.
    static ntx_status_t h_post(ntx_host_t*, ntx_loop_t*, ntx_post_cb, void*);
    std::size_t posts_run() const { return posts_run_; }

    // ABI 1.5 network policy: with deny_network, every socket_open ends in NTX_SOCKET_ERROR with
    // NTX_E_DENIED (no connect is tried) and connect_allowed answers NTX_E_DENIED, as the real host does
    // when config.yaml's network.allow leaves the address out. `denials` counts both.
    bool deny_network = false;
    std::size_t denials = 0;
    static ntx_status_t h_connect_allowed(ntx_host_t*, ntx_str_t, ntx_str_t, uint16_t);

private:
    struct Socket {
        ntx_socket_t id = 0;
        uint64_t owner = 0;
        int fd = -1;              // -1: a refused (no-network) socket
        int32_t transport = 0;
        bool connecting = false;
        bool connected = false;
        bool dead = false;
        bool closed_by_plugin = false;
        bool want_sent = false;   // NTX_SOCKET_SENT is due once `out` drains
        std::string out;
        uint64_t connect_deadline = 0;
        ntx_socket_cb cb = nullptr;
        void* userdata = nullptr;
    };
    struct Event {
        ntx_socket_t socket;
        int32_t kind;
        ntx_status_t status;
    };
    struct Timer {
        ntx_timer_t id = 0;
        uint64_t owner = 0;
        uint64_t due = 0;
        ntx_timer_cb cb = nullptr;
        void* userdata = nullptr;
        bool armed = true;
    };
    struct Watch {
        uint64_t owner = 0;
        uint32_t events = 0;
        ntx_fd_cb cb = nullptr;
        void* userdata = nullptr;
    };

    static RecordingHost* self(ntx_host_t* host) { return reinterpret_cast<RecordingHost*>(host); }
    // Checks the caller may call `fn` now; false (after recording why) when it may not.
    bool allowed(const char* fn, bool valid_without_loop);
    bool known_loop(const char* fn, ntx_loop_t* loop);
    ActionRecord* find_action(const char* fn, const ntx_action_t* action);
    bool check_result(const char* fn, const ntx_result_t* result);
    void end_by_plugin(ActionRecord& a, bool ok, ntx_status_t code, std::string how);
    Socket* find_socket(ntx_socket_t id);
    void deliver(Socket& s, int32_t kind, ntx_status_t status, const uint8_t* data, std::size_t len);
    void fail_socket(Socket& s, ntx_status_t status);
    bool turn(uint64_t deadline);
    void flush(Socket& s);

    // host table trampolines (ntx::host_table fills api_ with them)
    friend ntx_host_api_t ntx::host_table<RecordingHost>() noexcept;
    static void h_log(ntx_host_t*, const ntx_action_t*, int32_t, ntx_str_t);
    static ntx_status_t h_action_complete(ntx_host_t*, ntx_action_t*, const ntx_result_t*);
    static ntx_status_t h_action_fail(ntx_host_t*, ntx_action_t*, ntx_status_t, ntx_str_t, const ntx_result_t*);
    static ntx_status_t h_progress(ntx_host_t*, const ntx_action_t*, const ntx_progress_t*);
    static ntx_status_t h_request_task(ntx_host_t*, ntx_action_t*, const ntx_task_request_t*, uint64_t*);
    static ntx_status_t h_timer_schedule(ntx_host_t*, ntx_loop_t*, uint64_t, ntx_timer_cb, void*, ntx_timer_t*);
    static ntx_status_t h_timer_cancel(ntx_host_t*, ntx_loop_t*, ntx_timer_t);
    static ntx_status_t h_socket_open(ntx_host_t*, ntx_loop_t*, const ntx_socket_opts_t*, ntx_socket_t*);
    static ntx_status_t h_socket_send(ntx_host_t*, ntx_socket_t, ntx_bytes_t);
    static ntx_status_t h_socket_close(ntx_host_t*, ntx_socket_t);
    static ntx_status_t h_socket_set_rate(ntx_host_t*, ntx_socket_t, const ntx_rate_t*);
    static ntx_status_t h_fd_watch(ntx_host_t*, ntx_loop_t*, int, uint32_t, ntx_fd_cb, void*);
    static ntx_status_t h_fd_unwatch(ntx_host_t*, ntx_loop_t*, int);
    static uint64_t h_now_ms(ntx_host_t*);

    ntx_host_api_t api_ = ntx::host_table<RecordingHost>();
    bool network_;
    int loop_tag_ = 0;
    std::thread::id loop_thread_;
    uint64_t skew_ms_ = 0;     // how far the clock jumped ahead of real time
    uint64_t context_user_ = 0;

    std::deque<ActionRecord> actions_;  // deque: handles (addresses) stay valid
    std::map<uint64_t, void*> slots_;
    std::deque<Socket> sockets_;
    std::deque<Event> events_;
    std::deque<Timer> timers_;
    std::map<int, Watch> watches_;
    struct Posted {
        ntx_post_cb cb;
        void* userdata;
    };
    std::mutex post_mutex_;  // guards posted_ and the phase as post reads it
    std::vector<Posted> posted_;
    std::vector<std::string> post_violations_;
    bool uses_post_ = false;  // the plugin posted once: an idle loop waits for more instead of ending
    std::size_t posts_run_ = 0;
    ntx_socket_t next_socket_ = 1;
    ntx_timer_t next_timer_ = 1;
};

// Known status codes of this ABI, their names (NTX_E_TIMEOUT...) and texts: the host's own table.
using ntx::known_status;
using ntx::status_name;
using ntx::status_text;

}  // namespace ntx::conformance
