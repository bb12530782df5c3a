// ntx::testing::PluginTestHost: an in-process ntx host for a protocol plugin's unit tests
// (CMake target ntx::plugin_test_host, installed with the SDK; docs/plugins.md, "Unit tests").
//
// It implements ntx_host_api_t over plain recorded state, deterministically: sockets never touch the
// network (the test injects connected / data / sent / closed / error events), timers are a list the
// test fires by moving a settable clock, posts (ABI 1.3) wait in a queue the test runs, and every
// action outcome is recorded with a copy of its result fields. Every host function the plugin calls is
// recorded in calls(). It also checks the plugin against the ABI's rules (an action ended twice, a send
// on a dead socket, a host call from ntx_plugin_entry or init that needs a loop, a call from another
// thread, a handle the host never gave...) and records each breach in violations() instead of crashing.
//
// Single-threaded: the thread that constructs it plays the one loop; only post may come from others.
// It needs the C header and ntx/status.hpp only (no libntx): a plugin's test links the plugin (or
// dlopens its .so) and this library.
#pragma once

#include <ntx/export.hpp>
#include <ntx/host_table.hpp>
#include <ntx/plugin_abi.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <thread>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

NTX_BEGIN_NAMESPACE
namespace testing {

using Params = std::vector<std::pair<std::string, std::string>>;

struct SocketRecord {
    ntx_socket_t id = 0;
    int32_t transport = -1;
    std::string host;
    uint16_t port = 0;
    uint32_t connect_timeout_ms = 0;
    // ABI 1.1 TLS settings, as the plugin passed them (for NTX_TRANSPORT_TLS).
    std::string tls_server_name;
    uint32_t tls_flags = 0;
    std::string tls_ca_file;
    ntx_socket_cb on_event = nullptr;
    void *userdata = nullptr;

    std::string sent;           // every byte queued by socket_send, in order
    std::size_t send_calls = 0;
    std::size_t sends_before_connected = 0;  // queued by the host until NTX_SOCKET_CONNECTED (allowed)
    bool connected = false;     // NTX_SOCKET_CONNECTED was delivered
    bool closed_by_plugin = false;
    bool dead = false;          // closed by the plugin, or CLOSED / ERROR delivered

    bool open() const { return !dead; }
};

struct Outcome {
    bool ended = false;
    bool ok = false;              // action_complete (true) or action_fail / host-ended (false)
    bool ended_by_host = false;   // PluginTestHost::cancel ended it (on_error)
    ntx_status_t code = NTX_OK;   // action_fail's code, or the cancel code
    std::string reason;
    bool has_result = false;
    std::map<std::string, std::string> fields;
    uint64_t bytes_sent = 0;
    uint64_t bytes_received = 0;
    uint32_t status = 0;          // ntx_result_t.status (ABI 1.1)

    bool has(const std::string &key) const { return fields.count(key) != 0; }
    std::string field(const std::string &key) const {
        auto it = fields.find(key);
        return it == fields.end() ? std::string() : it->second;
    }
};

struct TimerRecord {
    ntx_timer_t id = 0;
    uint64_t due_ms = 0;
    ntx_timer_cb cb = nullptr;
    void *userdata = nullptr;
    bool cancelled = false;
    bool fired = false;
};

class PluginTestHost {
public:
    using ActionId = std::size_t;

    // Loads the plugin with dlopen(RTLD_NOW | RTLD_LOCAL) and finds its entry; throws std::runtime_error
    // when that fails. Like the real host it never dlcloses the library.
    explicit PluginTestHost(const std::string &plugin_path);
    // Uses an entry function directly (a plugin linked into the test).
    explicit PluginTestHost(ntx_plugin_entry_fn entry);
    // Releases the users still holding state, then the plugin (if init succeeded).
    ~PluginTestHost();
    PluginTestHost(const PluginTestHost &) = delete;
    PluginTestHost &operator=(const PluginTestHost &) = delete;

    // ---- plugin lifecycle ------------------------------------------------------------------------
    // The table handed to the entry; edit it before load() to play another host (abi_major...).
    ntx_host_api_t &host_api() { return api_; }
    // Calls the entry with a zeroed plugin table whose size is `plugin_table_size`.
    ntx_status_t load(uint32_t plugin_table_size = sizeof(ntx_plugin_api_t));
    const ntx_plugin_api_t &plugin() const { return plugin_; }
    // Passes host_api() as the init ctx's host_api (the same table the entry got); with
    // override_init_host_api set, init_host_api (possibly nullptr) instead.
    ntx_status_t init(std::string config_json = "{}", uint32_t loop_count = 1);
    void *plugin_state() const { return state_; }
    bool override_init_host_api = false;
    const ntx_host_api_t *init_host_api = nullptr;

    // ---- actions ---------------------------------------------------------------------------------
    // run_action for `user` with capability `call`; the status run_action returned is kept in
    // run_status(id) (a negative one ends the action: outcome(id) records it as a failure).
    // ctx.flags is action_flags (the script reads every result unless a test clears the bit).
    ActionId run(uint64_t user, std::string call, Params params, uint32_t timeout_ms = 0);
    uint32_t action_flags = NTX_ACTION_WANTS_RESULT;
    // ctx.task_id: each action a task of its own (0), or this task for every action.
    uint64_t task_id = 0;
    ntx_status_t run_status(ActionId id) const { return actions_.at(id)->run_status; }
    const Outcome &outcome(ActionId id) const { return actions_.at(id)->outcome; }
    bool ended(ActionId id) const { return actions_.at(id)->outcome.ended; }
    ntx_action_t *handle(ActionId id) const;
    // The host ends a live action first (timeout / cancel) and calls the plugin's on_error.
    void cancel(ActionId id, ntx_status_t code = NTX_E_TIMEOUT);
    // user_release for a user whose slot is set.
    void release_user(uint64_t user);
    void *user_data(uint64_t user) const;
    // Called inside action_complete / action_fail after the outcome is recorded (reentrancy tests).
    std::function<void(ActionId)> on_action_end;

    // ---- sockets ---------------------------------------------------------------------------------
    std::size_t socket_count() const { return sockets_.size(); }
    SocketRecord &socket(std::size_t index) { return sockets_.at(index); }  // in open order
    SocketRecord &last_socket() { return sockets_.back(); }
    SocketRecord *find_socket(ntx_socket_t id);
    std::size_t open_socket_count() const;
    // Status socket_open returns (and then opens nothing) while not NTX_OK.
    ntx_status_t socket_open_result = NTX_OK;
    // When true, events are delivered even to sockets the plugin closed or that are dead (the ABI
    // says this never happens; robustness tests use it).
    bool force_events = false;

    // Event injection. Each returns false (and delivers nothing) when the socket is unknown, or closed
    // and force_events is off. A delivery that the plugin cuts short by closing the socket returns true.
    bool connect(ntx_socket_t id);
    // Delivers `data` as NTX_SOCKET_DATA events of at most `fragment` bytes each (each fragment in its
    // own heap copy, so a read past it is caught by the sanitizers). Stops early if the socket dies.
    bool deliver(ntx_socket_t id, std::string_view data, std::size_t fragment = std::numeric_limits<std::size_t>::max());
    // Delivers `data` cut at the given offsets (ascending), one event per piece.
    bool deliver_split(ntx_socket_t id, std::string_view data, const std::vector<std::size_t> &cuts);
    bool sent_event(ntx_socket_t id);
    bool peer_close(ntx_socket_t id);
    // `reason` travels in the event's reason member (ABI 1.1).
    bool fail_socket(ntx_socket_t id, ntx_status_t status, std::string_view reason = {});

    // ---- time --------------------------------------------------------------------------------------
    uint64_t now() const { return now_ms_; }
    void set_now(uint64_t ms) { now_ms_ = ms; }
    // Advances the clock and fires the timers that became due.
    std::size_t advance(uint64_t ms);
    // Fires every timer due at now() (including ones scheduled by the callbacks); returns how many.
    std::size_t fire_due_timers();
    std::size_t pending_timer_count() const;
    const std::deque<TimerRecord> &timers() const { return timers_; }

    // ---- validate_action (ABI 1.2) -----------------------------------------------------------------
    struct Problem {
        int32_t index = NTX_PROBLEM_ACTION;  // the param's, or NTX_PROBLEM_ACTION
        std::string message, hint;
    };
    struct Validation {
        ntx_status_t status = NTX_OK;
        std::vector<Problem> problems;
    };
    // Calls the loaded plugin's validate_action (a violation when the table lacks it) with `call` and
    // `params`, flagging NTX_PARAM_TEMPLATED each value that holds "{{". It may come before init, as at
    // planning. A host-table call made during it, a report after it returned, a status that disagrees
    // with the reports or a problem naming no param are violations.
    Validation validate(std::string call, const Params &params);

    // ---- posts (ABI 1.3) ------------------------------------------------------------------------------
    // post is the one host function a plugin's own thread may call: the callback waits in a queue
    // until the test runs it on the loop's (the test's) thread.
    // Runs the queued posts (and those they queue); returns how many ran.
    std::size_t run_posts();
    // Waits until at least `count` posts are queued (a condition variable, signalled by post) or
    // `timeout_ms` passed, then runs the queue; returns how many ran. For a plugin's worker thread.
    std::size_t wait_posts(std::size_t count, uint32_t timeout_ms);
    std::size_t queued_post_count() const;

    // ---- diagnostics ---------------------------------------------------------------------------------
    // The ABI's rules the plugin broke, in words; a test of a well-behaved plugin expects none.
    const std::vector<std::string> &violations() const { return violations_; }
    // What the plugin logged: "[level] message".
    const std::vector<std::string> &logs() const { return logs_; }
    // Every host-table function the plugin called, by its member name ("socket_open"...), in order.
    const std::vector<std::string> &calls() const { return calls_; }

private:
    struct ActionRecord {
        ActionId id = 0;
        uint64_t user = 0;
        bool live = false;
        ntx_status_t run_status = NTX_OK;
        std::string call;
        std::string name;
        Params params;
        std::vector<ntx_kv_t> kv;
        Outcome outcome;
    };

    // Where the plugin is in its life: decides which host functions it may call.
    enum class Phase { entry, init, running, releasing };
    // Records the call of host function `fn` and checks it may come now (the loop's thread; a
    // function that needs a loop only while one runs, never in entry, init or release).
    static PluginTestHost &self(ntx_host_t *host, const char *fn, bool needs_loop = true) {
        PluginTestHost &h = *reinterpret_cast<PluginTestHost *>(host);
        h.note_call(fn, needs_loop);
        return h;
    }
    void note_call(const char *fn, bool needs_loop);
    void set_phase(Phase phase) {
        std::lock_guard lock(post_mutex_);
        phase_ = phase;
    }
    static void h_report(void *report_ctx, const ntx_problem_t *problem);
    ntx_host_t *host_handle() { return reinterpret_cast<ntx_host_t *>(this); }
    ntx_loop_t *loop_handle() { return reinterpret_cast<ntx_loop_t *>(&loop_tag_); }
    ActionRecord *find_action(const ntx_action_t *action);
    void violation(std::string what) { violations_.push_back(std::move(what)); }
    bool deliverable(ntx_socket_t id, SocketRecord *&rec);
    void dispatch(ntx_socket_t id, int32_t kind, ntx_status_t status, const uint8_t *data, std::size_t len,
                  std::string_view reason = {});
    void record_end(ActionRecord &a, bool ok, ntx_status_t code, ntx_str_t reason, const ntx_result_t *result);

    // host table trampolines (ntx::host_table fills api_ with them)
    friend ntx_host_api_t ntx::host_table<PluginTestHost>() noexcept;
    static void h_log(ntx_host_t *host, const ntx_action_t *action, int32_t level, ntx_str_t message);
    static ntx_status_t h_action_complete(ntx_host_t *host, ntx_action_t *action, const ntx_result_t *result);
    static ntx_status_t h_action_fail(ntx_host_t *host, ntx_action_t *action, ntx_status_t code, ntx_str_t reason,
                                      const ntx_result_t *result);
    static ntx_status_t h_progress(ntx_host_t *host, const ntx_action_t *action, const ntx_progress_t *progress);
    static ntx_status_t h_request_task(ntx_host_t *host, ntx_action_t *action, const ntx_task_request_t *request,
                                       uint64_t *task_id);
    static ntx_status_t h_timer_schedule(ntx_host_t *host, ntx_loop_t *loop, uint64_t delay_ms, ntx_timer_cb cb,
                                         void *userdata, ntx_timer_t *timer);
    static ntx_status_t h_timer_cancel(ntx_host_t *host, ntx_loop_t *loop, ntx_timer_t timer);
    static ntx_status_t h_socket_open(ntx_host_t *host, ntx_loop_t *loop, const ntx_socket_opts_t *opts,
                                      ntx_socket_t *socket);
    static ntx_status_t h_socket_send(ntx_host_t *host, ntx_socket_t socket, ntx_bytes_t data);
    static ntx_status_t h_socket_close(ntx_host_t *host, ntx_socket_t socket);
    static ntx_status_t h_socket_set_rate(ntx_host_t *host, ntx_socket_t socket, const ntx_rate_t *rate);
    static ntx_status_t h_fd_watch(ntx_host_t *host, ntx_loop_t *loop, int fd, uint32_t events, ntx_fd_cb cb,
                                   void *userdata);
    static ntx_status_t h_fd_unwatch(ntx_host_t *host, ntx_loop_t *loop, int fd);
    static uint64_t h_now_ms(ntx_host_t *host);

public:
    // ABI 1.3 post, public so that ntx::host_table finds it. Thread-safe.
    static ntx_status_t h_post(ntx_host_t *host, ntx_loop_t *loop, ntx_post_cb cb, void *userdata);

private:

    ntx_plugin_entry_fn entry_ = nullptr;
    ntx_host_api_t api_ = ntx::host_table<PluginTestHost>();
    ntx_plugin_api_t plugin_{};
    bool loaded_ = false;
    bool initialized_ = false;
    bool validating_ = false;
    Phase phase_ = Phase::entry;
    std::thread::id loop_thread_ = std::this_thread::get_id();
    Validation *validation_ = nullptr;  // while validate() runs
    void *state_ = nullptr;
    int loop_tag_ = 0;

    std::vector<std::unique_ptr<ActionRecord>> actions_;
    // ctx.action_id is the action's index in the script (stable for the run): the fake host has one
    // script action per distinct call name, numbered in order of first use.
    std::vector<std::string> script_actions_;
    std::map<uint64_t, void *> users_;  // user id -> the plugin's user_data slot (node addresses are stable)
    std::deque<SocketRecord> sockets_;   // deque: references stay valid while callbacks open more
    ntx_socket_t next_socket_ = 1;
    std::deque<TimerRecord> timers_;
    ntx_timer_t next_timer_ = 1;
    uint64_t now_ms_ = 1000;
    uint64_t next_task_ = 1;

    struct Posted {
        ntx_post_cb cb;
        void *userdata;
    };
    mutable std::mutex post_mutex_;  // guards posted_, post_violations_ and phase_ as post reads it
    std::condition_variable post_cv_;
    std::deque<Posted> posted_;
    std::vector<std::string> post_violations_;  // found on another thread, moved to violations_ by run_posts

    std::vector<std::string> violations_;
    std::vector<std::string> logs_;
    std::vector<std::string> calls_;
};

}  // namespace testing
NTX_END_NAMESPACE
