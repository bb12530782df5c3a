#include "recording_host.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>
#include <cstring>

namespace ntx::conformance {
namespace {

uint64_t real_ms() {
    using namespace std::chrono;
    return static_cast<uint64_t>(duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count());
}

std::string text(ntx_str_t s) {
    if (!s.ptr) return {};
    return std::string(s.ptr, s.len);  // reads every byte: a bad view crashes here, inside the plugin's call
}

constexpr uint64_t kDefaultConnectTimeoutMs = 10000;  // as the real host

}  // namespace

RecordingHost::RecordingHost(bool network) : network_(network), loop_thread_(std::this_thread::get_id()) {}

RecordingHost::~RecordingHost() {
    for (auto& s : sockets_)
        if (s.fd >= 0) ::close(s.fd);
}

void RecordingHost::warning(std::string what) {
    if (std::find(warnings.begin(), warnings.end(), what) == warnings.end()) warnings.push_back(std::move(what));
}

void RecordingHost::timed(const char* what, const std::function<void()>& call) {
    const uint64_t start = real_ms();
    call();
    const uint64_t took = real_ms() - start;
    if (took > slow_call_ms)
        warning(std::string(what) + " took " + std::to_string(took) + " ms on the loop thread: a plugin must never block");
}

// ---- rules ------------------------------------------------------------------------------------------

bool RecordingHost::allowed(const char* fn, bool valid_without_loop) {
    if (calls.size() < 10000) calls.emplace_back(fn);
    if (std::this_thread::get_id() != loop_thread_) {
        violation(std::string(fn) + " called from a thread other than the loop's");
        return false;
    }
    switch (phase) {
    case Phase::entry:
        if (valid_without_loop) return true;
        violation(std::string(fn) + " called from ntx_plugin_entry (no work belongs there)");
        return false;
    case Phase::init:
    case Phase::releasing:
        if (valid_without_loop) return true;
        violation(std::string(fn) + " called inside " + (phase == Phase::init ? "init" : "release") +
                  ": no loop runs there, only log, now_ms and strerror are valid");
        return false;
    case Phase::released:
        violation(std::string(fn) + " called after release returned");
        return false;
    case Phase::running: return true;
    }
    return true;
}

bool RecordingHost::known_loop(const char* fn, ntx_loop_t* l) {
    if (l == loop()) return true;
    violation(std::string(fn) + " with a loop handle the host never gave (use ctx->loop)");
    return false;
}

ActionRecord* RecordingHost::find_action(const char* fn, const ntx_action_t* action) {
    for (auto& a : actions_)
        if (reinterpret_cast<const ntx_action_t*>(&a) == action) return &a;
    violation(std::string(fn) + " with an action handle the host never gave");
    return nullptr;
}

bool RecordingHost::check_result(const char* fn, const ntx_result_t* r) {
    if (!r) return true;
    if (!NTX_HAS_MEMBER(r, ntx_result_t, field_count)) {
        violation(std::string(fn) + ": result.size is " + std::to_string(r->size) +
                  ", too small for its fields (set size = sizeof(ntx_result_t)); the host ignores such a result");
        return false;
    }
    if (r->field_count && !r->fields) {
        violation(std::string(fn) + ": result.field_count is " + std::to_string(r->field_count) + " but fields is NULL");
        return false;
    }
    for (std::size_t i = 0; i < r->field_count; ++i) {  // the host copies every field now: so does the kit
        const ntx_kv_t& kv = r->fields[i];
        if ((kv.key.len && !kv.key.ptr) || (kv.value.len && !kv.value.ptr)) {
            violation(std::string(fn) + ": result field " + std::to_string(i) + " has a NULL pointer with a length");
            return false;
        }
        (void)text(kv.key);
        (void)text(kv.value);
    }
    // 1.6: the protocol's name is copied too; it must be a short printable token ("h2", "ftp").
    if (NTX_HAS_MEMBER(r, ntx_result_t, foreign_bytes_received) && r->protocol.len) {
        if (!r->protocol.ptr) {
            violation(std::string(fn) + ": result.protocol has a NULL pointer with a length");
            return false;
        }
        const std::string p = text(r->protocol);
        const bool token = p.size() <= 32 && std::all_of(p.begin(), p.end(), [](char c) { return c > ' ' && c < 127; });
        if (!token)
            violation(std::string(fn) + ": result.protocol '" + p.substr(0, 40) +
                      "' is not a short name (at most 32 printable characters, no spaces, as \"h2\" or \"ftp\")");
    }
    return true;
}

// ---- actions -----------------------------------------------------------------------------------------

ActionRecord& RecordingHost::new_action(uint64_t user, std::string call, Params params, bool null_params) {
    ActionRecord& a = actions_.emplace_back();
    a.id = actions_.size();
    a.user = user;
    a.call = std::move(call);
    a.params = std::move(params);
    for (const auto& [k, v] : a.params) a.kv.push_back(ntx_kv_t{{k.data(), k.size()}, {v.data(), v.size()}});
    (void)null_params;
    a.live = true;
    return a;
}

void RecordingHost::end_by_plugin(ActionRecord& a, bool ok, ntx_status_t code, std::string how) {
    ++a.outcomes;
    if (a.outcomes == 1) {
        a.ok = ok;
        a.code = code;
        a.how = std::move(how);
    }
    a.live = false;
}

void RecordingHost::after_run_action(ActionRecord& a, ntx_status_t rc) {
    if (rc > 0) {
        violation("run_action(" + a.call + ") returned " + std::to_string(rc) + ": statuses are 0 or negative");
        return;
    }
    if (rc == NTX_OK) return;
    if (!known_status(rc))
        violation("run_action(" + a.call + ") returned " + std::to_string(rc) + ", not a status code of this ABI");
    if (a.outcomes > 0) {
        violation("run_action(" + a.call + ") returned " + std::string(status_name(rc)) + " after it had already ended the action ("
                  + a.how + "): a negative return is an outcome of its own, so the action ended twice");
        ++a.outcomes;
        return;
    }
    end_by_plugin(a, false, rc, std::string("refused by run_action: ") + status_name(rc) + " (" + status_text(rc) + ")");
}

void RecordingHost::end_by_host(ActionRecord& a, ntx_status_t code) {
    ++a.outcomes;
    a.live = false;
    a.ok = false;
    a.code = code;
    a.how = std::string("ended by the host: ") + status_name(code);
}

// ---- the host table: actions, log, progress -------------------------------------------------------------

void RecordingHost::h_log(ntx_host_t* host, const ntx_action_t* action, int32_t level, ntx_str_t message) {
    RecordingHost& h = *self(host);
    if (!h.allowed("log", true)) return;
    if (action) {
        ActionRecord* a = h.find_action("log", action);
        if (a && a->after_on_error) h.violation("log tagged with action " + std::to_string(a->id) + " after its on_error returned (the handle is dead)");
    }
    if (level < NTX_LOG_TRACE || level > NTX_LOG_ERROR) h.warning("log with level " + std::to_string(level) + " outside NTX_LOG_*");
    if (message.len && !message.ptr) {
        h.violation("log with a NULL message and a length");
        return;
    }
    h.logs.push_back(text(message));
}

ntx_status_t RecordingHost::h_action_complete(ntx_host_t* host, ntx_action_t* action, const ntx_result_t* result) {
    RecordingHost& h = *self(host);
    if (!h.allowed("action_complete", false)) return NTX_E_STATE;
    ActionRecord* a = h.find_action("action_complete", action);
    if (!a) return NTX_E_STATE;
    if (!a->live) {
        h.violation("action_complete on action " + std::to_string(a->id) + " (" + a->call + ") that had already ended (" + a->how +
                    (a->after_on_error ? "; its on_error had returned" : "") + ")");
        ++a->outcomes;
        return NTX_E_STATE;
    }
    h.check_result("action_complete", result);
    h.end_by_plugin(*a, true, NTX_OK, "completed");
    return NTX_OK;
}

ntx_status_t RecordingHost::h_action_fail(ntx_host_t* host, ntx_action_t* action, ntx_status_t code, ntx_str_t reason,
                                          const ntx_result_t* result) {
    RecordingHost& h = *self(host);
    if (!h.allowed("action_fail", false)) return NTX_E_STATE;
    ActionRecord* a = h.find_action("action_fail", action);
    if (!a) return NTX_E_STATE;
    if (!a->live) {
        h.violation("action_fail on action " + std::to_string(a->id) + " (" + a->call + ") that had already ended (" + a->how +
                    (a->after_on_error ? "; its on_error had returned" : "") + ")");
        ++a->outcomes;
        return NTX_E_STATE;
    }
    if (code >= 0) h.violation("action_fail(" + a->call + ") with code " + std::to_string(code) + ": a failure carries a negative status");
    else if (!known_status(code)) h.violation("action_fail(" + a->call + ") with code " + std::to_string(code) + ", not a status code of this ABI");
    if (reason.len && !reason.ptr) h.violation("action_fail with a NULL reason and a length");
    h.check_result("action_fail", result);
    std::string why = reason.ptr ? text(reason) : std::string();
    h.end_by_plugin(*a, false, code, std::string("failed: ") + status_name(code) + (why.empty() ? "" : " (" + why + ")"));
    return NTX_OK;
}

ntx_status_t RecordingHost::h_progress(ntx_host_t* host, const ntx_action_t* action, const ntx_progress_t* p) {
    RecordingHost& h = *self(host);
    if (!h.allowed("progress", false)) return NTX_E_STATE;
    if (action) {
        ActionRecord* a = h.find_action("progress", action);
        if (a && !a->live) h.violation("progress for action " + std::to_string(a->id) + " after it ended");
    }
    if (!p) return NTX_E_INVALID;
    if (!NTX_HAS_MEMBER(p, ntx_progress_t, field_count)) {
        h.violation("progress.size is " + std::to_string(p->size) + ", too small (set size = sizeof(ntx_progress_t))");
        return NTX_E_INVALID;
    }
    for (std::size_t i = 0; p->fields && i < p->field_count; ++i) {
        (void)text(p->fields[i].key);
        (void)text(p->fields[i].value);
    }
    return NTX_OK;
}

ntx_status_t RecordingHost::h_request_task(ntx_host_t* host, ntx_action_t* action, const ntx_task_request_t*, uint64_t*) {
    RecordingHost& h = *self(host);
    if (!h.allowed("request_task", false)) return NTX_E_STATE;
    ActionRecord* a = h.find_action("request_task", action);
    if (a && !a->live) h.violation("request_task for action " + std::to_string(a->id) + " after it ended");
    return NTX_E_UNSUPPORTED;  // as the real host in this version
}

// ---- timers --------------------------------------------------------------------------------------------

ntx_status_t RecordingHost::h_timer_schedule(ntx_host_t* host, ntx_loop_t* loop, uint64_t delay_ms, ntx_timer_cb cb,
                                             void* userdata, ntx_timer_t* timer) {
    RecordingHost& h = *self(host);
    if (!h.allowed("timer_schedule", false)) return NTX_E_STATE;
    if (!h.known_loop("timer_schedule", loop)) return NTX_E_STATE;
    if (!cb || !timer) return NTX_E_INVALID;
    Timer& t = h.timers_.emplace_back();
    t.id = h.next_timer_++;
    t.owner = h.context_user_;
    t.due = h.now() + delay_ms;
    t.cb = cb;
    t.userdata = userdata;
    *timer = t.id;
    return NTX_OK;
}

ntx_status_t RecordingHost::h_timer_cancel(ntx_host_t* host, ntx_loop_t* loop, ntx_timer_t timer) {
    RecordingHost& h = *self(host);
    if (!h.allowed("timer_cancel", false)) return NTX_E_STATE;
    if (!h.known_loop("timer_cancel", loop)) return NTX_E_STATE;
    for (auto& t : h.timers_)
        if (t.id == timer) t.armed = false;
    return NTX_OK;  // fired, cancelled or unknown: a no-op
}

// ---- sockets -------------------------------------------------------------------------------------------

RecordingHost::Socket* RecordingHost::find_socket(ntx_socket_t id) {
    for (auto& s : sockets_)
        if (s.id == id) return &s;
    return nullptr;
}

ntx_status_t RecordingHost::h_connect_allowed(ntx_host_t* host, ntx_str_t name, ntx_str_t address, uint16_t port) {
    RecordingHost& h = *self(host);
    h.calls.push_back("connect_allowed");
    if (port == 0 || (name.len && !name.ptr) || (address.len && !address.ptr)) return NTX_E_INVALID;
    if (!h.deny_network) return NTX_OK;
    ++h.denials;
    return NTX_E_DENIED;
}

ntx_status_t RecordingHost::h_socket_open(ntx_host_t* host, ntx_loop_t* loop, const ntx_socket_opts_t* opts,
                                          ntx_socket_t* out) {
    RecordingHost& h = *self(host);
    if (!h.allowed("socket_open", false)) return NTX_E_STATE;
    if (!h.known_loop("socket_open", loop)) return NTX_E_STATE;
    if (!opts || !out) return NTX_E_INVALID;
    if (!NTX_HAS_MEMBER(opts, ntx_socket_opts_t, userdata)) {
        h.violation("socket_open: opts.size is " + std::to_string(opts->size) +
                    ", too small for ntx_socket_opts_t (set size = sizeof(ntx_socket_opts_t)); the host refuses it");
        return NTX_E_INVALID;
    }
    if (!opts->on_event) return NTX_E_INVALID;
    if (opts->host.len && !opts->host.ptr) return NTX_E_INVALID;
    // 1.6: an ALPN list must be in RFC 7301's wire format (each name after its one-byte length); the
    // host refuses a malformed one, and offers one only on TLS.
    if (NTX_HAS_MEMBER(opts, ntx_socket_opts_t, tls_alpn) && opts->tls_alpn.len) {
        if (!opts->tls_alpn.ptr) {
            h.violation("socket_open: tls_alpn has a NULL pointer with a length");
            return NTX_E_INVALID;
        }
        const std::string wire(opts->tls_alpn.ptr, opts->tls_alpn.len);
        bool ok = wire.size() <= 0xffff;
        for (std::size_t at = 0; ok && at < wire.size();) {
            const std::size_t n = static_cast<unsigned char>(wire[at]);
            ok = n > 0 && at + 1 + n <= wire.size();
            at += 1 + n;
        }
        if (!ok) {
            h.violation("socket_open: tls_alpn is not an ALPN list in wire format (each name preceded by its length "
                        "in one byte, e.g. \"\\x02h2\\x08http/1.1\"); the host refuses it with NTX_E_INVALID");
            return NTX_E_INVALID;
        }
        if (opts->transport != NTX_TRANSPORT_TLS)
            h.warning("socket_open: tls_alpn given for a socket that is not TLS: the host ignores it");
    }
    if (opts->transport != NTX_TRANSPORT_TCP && opts->transport != NTX_TRANSPORT_UDP) return NTX_E_UNSUPPORTED;
    std::string name = text(opts->host);
    Socket& s = h.sockets_.emplace_back();
    s.id = h.next_socket_++;
    s.owner = h.context_user_;
    s.transport = opts->transport;
    s.cb = opts->on_event;
    s.userdata = opts->userdata;
    *out = s.id;
    // Every outcome of connecting is an event on a later turn, never inside socket_open.
    if (h.deny_network) {
        ++h.denials;
        h.events_.push_back({s.id, NTX_SOCKET_ERROR, NTX_E_DENIED});
        return NTX_OK;
    }
    if (!h.network_) {
        h.events_.push_back({s.id, NTX_SOCKET_ERROR, NTX_E_CONNECT});
        return NTX_OK;
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = opts->transport == NTX_TRANSPORT_UDP ? SOCK_DGRAM : SOCK_STREAM;
    addrinfo* res = nullptr;
    std::string port = std::to_string(opts->port);
    if (name.empty() || getaddrinfo(name.c_str(), port.c_str(), &hints, &res) != 0 || !res) {
        h.events_.push_back({s.id, NTX_SOCKET_ERROR, NTX_E_RESOLVE});
        return NTX_OK;
    }
    int fd = ::socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int rc = fd < 0 ? -1 : ::connect(fd, res->ai_addr, res->ai_addrlen);
    const bool in_progress = rc != 0 && errno == EINPROGRESS;
    freeaddrinfo(res);
    if (fd < 0 || (rc != 0 && !in_progress)) {
        if (fd >= 0) ::close(fd);
        h.events_.push_back({s.id, NTX_SOCKET_ERROR, NTX_E_CONNECT});
        return NTX_OK;
    }
    s.fd = fd;
    s.connecting = in_progress;
    s.connect_deadline = h.now() + (opts->connect_timeout_ms ? opts->connect_timeout_ms : kDefaultConnectTimeoutMs);
    if (!in_progress) {
        s.connecting = true;  // connected at once: still announced on the next turn
        h.events_.push_back({s.id, NTX_SOCKET_CONNECTED, NTX_OK});
    }
    return NTX_OK;
}

ntx_status_t RecordingHost::h_socket_send(ntx_host_t* host, ntx_socket_t id, ntx_bytes_t data) {
    RecordingHost& h = *self(host);
    if (!h.allowed("socket_send", false)) return NTX_E_STATE;
    Socket* s = h.find_socket(id);
    if (!s) {
        h.violation("socket_send on socket " + std::to_string(id) + ", which the host never opened");
        return NTX_E_STATE;
    }
    if (s->dead) {
        h.violation("socket_send on socket " + std::to_string(id) + std::string(s->closed_by_plugin ? " after socket_close" : " after its final event (CLOSED or ERROR)"));
        return NTX_E_STATE;
    }
    if (data.len && !data.ptr) return NTX_E_INVALID;
    if (data.len) s->out.append(reinterpret_cast<const char*>(data.ptr), data.len);  // copied, as the host does
    s->want_sent = true;
    return NTX_OK;
}

ntx_status_t RecordingHost::h_socket_close(ntx_host_t* host, ntx_socket_t id) {
    RecordingHost& h = *self(host);
    if (!h.allowed("socket_close", false)) return NTX_E_STATE;
    Socket* s = h.find_socket(id);
    if (!s) {
        h.violation("socket_close on socket " + std::to_string(id) + ", which the host never opened");
        return NTX_E_STATE;
    }
    if (s->dead) {
        h.violation("socket_close on socket " + std::to_string(id) + std::string(s->closed_by_plugin ? ", already closed" : " after its final event (CLOSED or ERROR): it was dead already"));
        return NTX_E_STATE;
    }
    s->dead = true;
    s->closed_by_plugin = true;
    if (s->fd >= 0) ::close(s->fd);
    s->fd = -1;
    return NTX_OK;
}

ntx_status_t RecordingHost::h_socket_set_rate(ntx_host_t* host, ntx_socket_t id, const ntx_rate_t* rate) {
    RecordingHost& h = *self(host);
    if (!h.allowed("socket_set_rate", false)) return NTX_E_STATE;
    if (!rate) return NTX_E_INVALID;
    if (!NTX_HAS_MEMBER(rate, ntx_rate_t, per_ms)) {
        h.violation("socket_set_rate: rate.size is " + std::to_string(rate->size) + ", too small (set size = sizeof(ntx_rate_t))");
        return NTX_E_INVALID;
    }
    Socket* s = h.find_socket(id);
    if (!s || s->dead) {
        h.violation("socket_set_rate on a socket that is not open");
        return NTX_E_STATE;
    }
    if (rate->per_ms == 0 && (rate->send_bytes || rate->recv_bytes)) return NTX_E_INVALID;
    return NTX_OK;  // the kit does not throttle
}

// ---- fd-watch ------------------------------------------------------------------------------------------

ntx_status_t RecordingHost::h_fd_watch(ntx_host_t* host, ntx_loop_t* loop, int fd, uint32_t events, ntx_fd_cb cb,
                                       void* userdata) {
    RecordingHost& h = *self(host);
    if (!h.allowed("fd_watch", false)) return NTX_E_STATE;
    if (!h.known_loop("fd_watch", loop)) return NTX_E_STATE;
    if (fd < 0 || !cb || (events & ~(NTX_FD_READ | NTX_FD_WRITE)) != 0) return NTX_E_INVALID;
    if (::fcntl(fd, F_GETFD) < 0) return NTX_E_INVALID;
    h.watches_[fd] = Watch{h.context_user_, events, cb, userdata};
    return NTX_OK;
}

ntx_status_t RecordingHost::h_fd_unwatch(ntx_host_t* host, ntx_loop_t* loop, int fd) {
    RecordingHost& h = *self(host);
    if (!h.allowed("fd_unwatch", false)) return NTX_E_STATE;
    if (!h.known_loop("fd_unwatch", loop)) return NTX_E_STATE;
    h.watches_.erase(fd);
    return NTX_OK;
}

ntx_status_t RecordingHost::h_post(ntx_host_t* host, ntx_loop_t* l, ntx_post_cb cb, void* userdata) {
    RecordingHost& h = *self(host);
    std::lock_guard lock(h.post_mutex_);
    if (!cb) {
        h.post_violations_.emplace_back("post with a NULL callback");
        return NTX_E_INVALID;
    }
    // Any thread; but only while loops run: in entry, init, release or after it there is no loop.
    if (h.phase != Phase::running) {
        h.post_violations_.emplace_back("post while no loop runs (entry, init, release or after it)");
        return NTX_E_STATE;
    }
    if (l != h.loop()) {
        h.post_violations_.emplace_back("post with a loop handle the host never gave (use ctx->loop)");
        return NTX_E_STATE;
    }
    h.posted_.push_back({cb, userdata});
    h.uses_post_ = true;
    return NTX_OK;
}

uint64_t RecordingHost::h_now_ms(ntx_host_t* host) {
    RecordingHost& h = *self(host);
    h.allowed("now_ms", true);
    return h.now();
}

// ---- the loop ------------------------------------------------------------------------------------------

uint64_t RecordingHost::now() const { return real_ms() + skew_ms_; }

void RecordingHost::deliver(Socket& s, int32_t kind, ntx_status_t status, const uint8_t* data, std::size_t len) {
    ntx_socket_event_t ev{};
    ev.size = sizeof(ev);
    ev.kind = kind;
    ev.socket = s.id;
    ev.status = status;
    ev.data = ntx_bytes_t{data, len};
    const ntx_socket_cb cb = s.cb;  // the deque may grow inside the callback; copy what we need first
    void* ud = s.userdata;
    const uint64_t owner = s.owner;
    const uint64_t saved = context_user_;
    context_user_ = owner;
    timed("a socket callback", [&] { cb(ud, &ev); });
    context_user_ = saved;
}

void RecordingHost::fail_socket(Socket& s, ntx_status_t status) {
    s.dead = true;  // dead after the callback; marked first so that a use inside it is caught
    if (s.fd >= 0) ::close(s.fd);
    s.fd = -1;
    const ntx_socket_t id = s.id;
    Socket* again = find_socket(id);
    if (again) deliver(*again, status == NTX_OK ? NTX_SOCKET_CLOSED : NTX_SOCKET_ERROR, status, nullptr, 0);
}

void RecordingHost::flush(Socket& s) {
    while (!s.out.empty() && s.fd >= 0) {
        ssize_t n = ::send(s.fd, s.out.data(), s.out.size(), MSG_NOSIGNAL);
        if (n > 0) {
            s.out.erase(0, static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        fail_socket(s, NTX_E_IO);
        return;
    }
    if (s.out.empty() && s.want_sent && !s.dead) {
        s.want_sent = false;
        deliver(s, NTX_SOCKET_SENT, NTX_OK, nullptr, 0);
    }
}

// One turn: queued events, due timers, then the descriptors (waiting no later than `deadline`).
// Returns false when nothing could ever happen any more.
bool RecordingHost::turn(uint64_t deadline) {
    bool progressed = false;
    std::vector<Posted> posted;
    {
        std::lock_guard lock(post_mutex_);
        posted.swap(posted_);
        for (auto& v : post_violations_) violation(std::move(v));  // noted on another thread
        post_violations_.clear();
    }
    for (const Posted& p : posted) {
        timed("a posted callback", [&] { p.cb(p.userdata); });
        ++posts_run_;
        progressed = true;
    }
    std::deque<Event> events;
    events.swap(events_);
    for (const Event& e : events) {
        Socket* s = find_socket(e.socket);
        if (!s || s->dead) continue;  // closed before the event's turn: nothing follows socket_close
        progressed = true;
        if (e.kind == NTX_SOCKET_CONNECTED) {
            s->connecting = false;
            s->connected = true;
            deliver(*s, NTX_SOCKET_CONNECTED, NTX_OK, nullptr, 0);
        } else {
            fail_socket(*s, e.status);
        }
    }
    // Only the timers that existed at the start of the turn: one re-armed at 0 ms waits for the next.
    for (std::size_t i = 0, n = timers_.size(); i < n; ++i) {
        if (!timers_[i].armed || timers_[i].due > now()) continue;
        timers_[i].armed = false;
        const Timer t = timers_[i];
        const uint64_t saved = context_user_;
        context_user_ = t.owner;
        timed("a timer callback", [&] { t.cb(t.userdata, t.id); });
        context_user_ = saved;
        progressed = true;
    }
    for (std::size_t i = 0; i < sockets_.size(); ++i) {
        Socket& s = sockets_[i];
        if (s.fd >= 0 && s.connecting && now() >= s.connect_deadline) {
            progressed = true;
            fail_socket(s, NTX_E_TIMEOUT);
        }
    }
    if (progressed || !events_.empty()) return true;

    std::vector<pollfd> fds;
    std::vector<std::pair<bool, uint64_t>> what;  // (is a socket, socket id or fd)
    for (auto& s : sockets_) {
        if (s.fd < 0 || s.dead) continue;
        short ev = 0;
        if (s.connecting) ev = POLLOUT;
        else ev = static_cast<short>(POLLIN | (s.out.empty() && !s.want_sent ? 0 : POLLOUT));
        fds.push_back({s.fd, ev, 0});
        what.emplace_back(true, s.id);
    }
    for (auto& [fd, w] : watches_) {
        short ev = static_cast<short>(((w.events & NTX_FD_READ) ? POLLIN : 0) | ((w.events & NTX_FD_WRITE) ? POLLOUT : 0));
        fds.push_back({fd, ev, 0});
        what.emplace_back(false, static_cast<uint64_t>(fd));
    }
    uint64_t next_due = UINT64_MAX;
    for (const auto& t : timers_)
        if (t.armed) next_due = std::min(next_due, t.due);
    const uint64_t t_now = now();
    if (fds.empty()) {
        // A plugin whose own thread will post (it posted before, or an action waits with nothing
        // else to wait for) may still post: wait a little, bounded by the budget.
        const bool waiting = std::any_of(actions_.begin(), actions_.end(), [](const ActionRecord& a) { return a.live; });
        if (next_due == UINT64_MAX && (uses_post_ || waiting) && t_now < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
            return true;
        }
        if (next_due == UINT64_MAX) return false;  // idle for good
        // Nothing real to wait for: jump the clock to the next timer (or the deadline).
        skew_ms_ += std::min(next_due, deadline) - std::min(t_now, std::min(next_due, deadline));
        return true;
    }
    uint64_t wake = std::min(next_due, deadline);
    for (const auto& s : sockets_)
        if (s.fd >= 0 && s.connecting) wake = std::min(wake, s.connect_deadline);
    int timeout = wake <= t_now ? 0 : static_cast<int>(std::min<uint64_t>(wake - t_now, 100));
    int n = ::poll(fds.data(), fds.size(), timeout);
    if (n <= 0) return true;
    for (std::size_t i = 0; i < fds.size(); ++i) {
        if (!fds[i].revents) continue;
        if (!what[i].first) {
            auto it = watches_.find(static_cast<int>(what[i].second));
            if (it == watches_.end()) continue;  // unwatched by an earlier callback
            uint32_t ready = ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) ? NTX_FD_READ : 0) |
                             ((fds[i].revents & (POLLOUT | POLLERR)) ? NTX_FD_WRITE : 0);
            ready &= it->second.events;
            if (!ready) continue;
            const Watch w = it->second;
            const uint64_t saved = context_user_;
            context_user_ = w.owner;
            timed("an fd-watch callback", [&] { w.cb(w.userdata, static_cast<int>(what[i].second), ready); });
            context_user_ = saved;
            continue;
        }
        Socket* s = find_socket(what[i].second);
        if (!s || s->dead || s->fd < 0) continue;
        if (s->connecting) {
            int err = 0;
            socklen_t len = sizeof err;
            getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
            if (err != 0) {
                fail_socket(*s, NTX_E_CONNECT);
                continue;
            }
            s->connecting = false;
            s->connected = true;
            deliver(*s, NTX_SOCKET_CONNECTED, NTX_OK, nullptr, 0);
            continue;
        }
        if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
            uint8_t buf[65536];
            ssize_t got = ::recv(s->fd, buf, sizeof buf, 0);
            if (got > 0) {
                // A heap copy of exactly the bytes read, gone after the callback (the ABI's borrowed view).
                std::unique_ptr<uint8_t[]> copy(new uint8_t[static_cast<std::size_t>(got)]);
                std::memcpy(copy.get(), buf, static_cast<std::size_t>(got));
                deliver(*s, NTX_SOCKET_DATA, NTX_OK, copy.get(), static_cast<std::size_t>(got));
            } else if (got == 0) {
                fail_socket(*s, NTX_OK);  // CLOSED
                continue;
            } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
                fail_socket(*s, NTX_E_IO);
                continue;
            }
            s = find_socket(what[i].second);
        }
        if (s && !s->dead && s->fd >= 0 && (fds[i].revents & POLLOUT)) flush(*s);
    }
    return true;
}

bool RecordingHost::run_until(const std::function<bool()>& done, uint64_t budget_ms) {
    const uint64_t deadline = now() + budget_ms;
    // Bounded twice: by loop time, and by turns (a plugin re-arming 0 ms timers forever).
    for (int turns = 0; turns < 200000 && !done() && now() < deadline; ++turns)
        if (!turn(deadline)) break;
    return done();
}

std::size_t RecordingHost::open_sockets_of(uint64_t user) const {
    std::size_t n = 0;
    for (const auto& s : sockets_) n += (!s.dead && s.owner == user) ? 1 : 0;
    return n;
}

std::size_t RecordingHost::armed_timers_of(uint64_t user) const {
    std::size_t n = 0;
    for (const auto& t : timers_) n += (t.armed && t.owner == user) ? 1 : 0;
    return n;
}

std::size_t RecordingHost::open_sockets() const {
    std::size_t n = 0;
    for (const auto& s : sockets_) n += s.dead ? 0 : 1;
    return n;
}

std::size_t RecordingHost::armed_timers() const {
    std::size_t n = 0;
    for (const auto& t : timers_) n += t.armed ? 1 : 0;
    return n;
}

void RecordingHost::close_everything() {
    for (auto& s : sockets_) {
        if (s.fd >= 0) ::close(s.fd);
        s.fd = -1;
        s.dead = true;
    }
    for (auto& t : timers_) t.armed = false;
    watches_.clear();
    events_.clear();
}

}  // namespace ntx::conformance
