#include <ntx/testing/plugin_test_host.hpp>

#include <ntx/status.hpp>

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <stdexcept>

NTX_BEGIN_NAMESPACE
namespace testing {
namespace {

std::string to_string(ntx_str_t s) { return s.ptr ? std::string(s.ptr, s.len) : std::string(); }

}  // namespace

PluginTestHost::PluginTestHost(const std::string &plugin_path) {
    void *lib = dlopen(plugin_path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *err = dlerror();
        throw std::runtime_error("dlopen " + plugin_path + ": " + (err ? err : "unknown error"));
    }
    void *sym = dlsym(lib, NTX_PLUGIN_ENTRY_SYMBOL);
    if (!sym) throw std::runtime_error(plugin_path + " has no " NTX_PLUGIN_ENTRY_SYMBOL);
    entry_ = reinterpret_cast<ntx_plugin_entry_fn>(sym);
}

PluginTestHost::PluginTestHost(ntx_plugin_entry_fn entry) : entry_(entry) {}

PluginTestHost::~PluginTestHost() {
    if (initialized_) {
        for (auto &[user, slot] : users_) {
            if (slot && plugin_.user_release) plugin_.user_release(state_, user, slot);
            slot = nullptr;
        }
        set_phase(Phase::releasing);
        if (plugin_.release) plugin_.release(state_);
    }
}

// ---- plugin lifecycle --------------------------------------------------------------------------------

ntx_status_t PluginTestHost::load(uint32_t plugin_table_size) {
    std::memset(&plugin_, 0, sizeof plugin_);
    plugin_.size = plugin_table_size;
    phase_ = Phase::entry;
    const ntx_status_t st = entry_(&api_, &plugin_);
    loaded_ = st == NTX_OK;
    return st;
}

ntx_status_t PluginTestHost::init(std::string config_json, uint32_t loop_count) {
    if (!loaded_ || !plugin_.init) {
        violation("init without a loaded plugin");
        return NTX_E_STATE;
    }
    ntx_init_ctx_t ctx{};
    ctx.size = sizeof ctx;
    ctx.component = ntx_str_t{"http", 4};
    ctx.res_dir = ntx_str_t{"/nonexistent", 12};
    ctx.config_json = ntx_str_t{config_json.data(), config_json.size()};
    ctx.loop_count = loop_count;
    ctx.host_api = override_init_host_api ? init_host_api : &api_;
    state_ = nullptr;
    set_phase(Phase::init);
    const ntx_status_t st = plugin_.init(host_handle(), &ctx, &state_);
    initialized_ = st == NTX_OK;
    set_phase(Phase::running);
    return st;
}

// ---- validate_action -----------------------------------------------------------------------------------

PluginTestHost::Validation PluginTestHost::validate(std::string call, const Params &params) {
    Validation result;
    if (!loaded_ || !NTX_HAS_MEMBER(&plugin_, ntx_plugin_api_t, validate_action) || !plugin_.validate_action) {
        violation("validate without a loaded plugin that has validate_action");
        result.status = NTX_E_STATE;
        return result;
    }
    std::vector<ntx_kv_t> kv;
    std::vector<uint32_t> flags;
    for (const auto &[key, value] : params) {
        kv.push_back({{key.data(), key.size()}, {value.data(), value.size()}});
        flags.push_back(value.find("{{") != std::string::npos ? NTX_PARAM_TEMPLATED : 0u);
    }
    ntx_validate_ctx_t ctx{};
    ctx.size = sizeof ctx;
    ctx.component = ntx_str_t{"c", 1};
    ctx.action_name = ntx_str_t{"checked", 7};
    ctx.call = ntx_str_t{call.data(), call.size()};
    ctx.params = kv.data();
    ctx.param_count = kv.size();
    ctx.param_flags = flags.data();
    ctx.report = &PluginTestHost::h_report;
    ctx.report_ctx = this;
    validating_ = true;
    validation_ = &result;
    result.status = plugin_.validate_action(&ctx);
    validating_ = false;
    validation_ = nullptr;
    for (const Problem &p : result.problems) {
        if (p.index != NTX_PROBLEM_ACTION && (p.index < 0 || static_cast<std::size_t>(p.index) >= params.size())) {
            violation("validate_action reported param #" + std::to_string(p.index) + " of " +
                      std::to_string(params.size()));
        }
        if (p.message.empty()) violation("validate_action reported a problem without a message");
    }
    if (result.problems.empty() ? result.status == NTX_E_INVALID : result.status != NTX_E_INVALID) {
        violation("validate_action returned " + std::to_string(result.status) + " after " +
                  std::to_string(result.problems.size()) + " problems");
    }
    return result;
}

void PluginTestHost::h_report(void *report_ctx, const ntx_problem_t *problem) {
    auto &h = *static_cast<PluginTestHost *>(report_ctx);
    if (!h.validation_) {
        h.violation("report called outside validate_action");
        return;
    }
    if (!problem || problem->size < sizeof(ntx_problem_t)) {
        h.violation("a problem whose size is smaller than ntx_problem_t");
        return;
    }
    h.validation_->problems.push_back({problem->param_index, to_string(problem->message), to_string(problem->hint)});
}

// ---- actions -------------------------------------------------------------------------------------------

PluginTestHost::ActionId PluginTestHost::run(uint64_t user, std::string call, Params params, uint32_t timeout_ms) {
    auto rec = std::make_unique<ActionRecord>();
    rec->id = actions_.size();
    rec->user = user;
    rec->call = std::move(call);
    rec->name = "action-" + std::to_string(rec->id);
    rec->params = std::move(params);
    for (const auto &[k, v] : rec->params) {
        rec->kv.push_back(ntx_kv_t{ntx_str_t{k.data(), k.size()}, ntx_str_t{v.data(), v.size()}});
    }
    rec->live = true;
    ActionRecord &a = *rec;
    actions_.push_back(std::move(rec));

    void *&slot = users_[user];
    ntx_action_ctx_t ctx{};
    ctx.size = sizeof ctx;
    ctx.task_id = task_id != 0 ? task_id : a.id + 1;
    ctx.user_id = user;
    auto script_action = std::find(script_actions_.begin(), script_actions_.end(), a.call);
    if (script_action == script_actions_.end()) script_action = script_actions_.insert(script_actions_.end(), a.call);
    ctx.action_id = static_cast<uint32_t>(script_action - script_actions_.begin());
    ctx.action_name = ntx_str_t{a.name.data(), a.name.size()};
    ctx.call = ntx_str_t{a.call.data(), a.call.size()};
    ctx.params = a.kv.empty() ? nullptr : a.kv.data();
    ctx.param_count = a.kv.size();
    ctx.timeout_ms = timeout_ms;
    ctx.loop = loop_handle();
    ctx.loop_index = 0;
    ctx.user_data = &slot;
    ctx.flags = action_flags;

    const ntx_status_t st = plugin_.run_action(state_, reinterpret_cast<ntx_action_t *>(&a), &ctx);
    a.run_status = st;
    if (st < 0) {
        if (!a.live) {
            violation("run_action returned " + std::to_string(st) + " after ending the action through the host");
        } else {
            a.live = false;
            a.outcome.ended = true;
            a.outcome.ok = false;
            a.outcome.code = st;
            a.outcome.reason = "run_action returned an error";
        }
    } else if (st > 0) {
        violation("run_action returned a positive status");
    }
    return a.id;
}

ntx_action_t *PluginTestHost::handle(ActionId id) const {
    return reinterpret_cast<ntx_action_t *>(actions_.at(id).get());
}

PluginTestHost::ActionRecord *PluginTestHost::find_action(const ntx_action_t *action) {
    for (auto &a : actions_) {
        if (reinterpret_cast<const ntx_action_t *>(a.get()) == action) return a.get();
    }
    return nullptr;
}

void PluginTestHost::cancel(ActionId id, ntx_status_t code) {
    ActionRecord &a = *actions_.at(id);
    if (!a.live) throw std::logic_error("cancel: action " + std::to_string(id) + " already ended");
    a.live = false;
    a.outcome.ended = true;
    a.outcome.ended_by_host = true;
    a.outcome.ok = false;
    a.outcome.code = code;
    a.outcome.reason = ntx::status_text(code);
    const std::string reason = a.outcome.reason;
    plugin_.on_error(state_, reinterpret_cast<ntx_action_t *>(&a), &users_[a.user], code,
                     ntx_str_t{reason.data(), reason.size()});
}

void PluginTestHost::release_user(uint64_t user) {
    auto it = users_.find(user);
    if (it == users_.end() || !it->second) return;
    for (const auto &a : actions_) {
        if (a->user == user && a->live) violation("user_release with a live action");
    }
    void *data = it->second;
    it->second = nullptr;
    plugin_.user_release(state_, user, data);
}

void *PluginTestHost::user_data(uint64_t user) const {
    auto it = users_.find(user);
    return it == users_.end() ? nullptr : it->second;
}

void PluginTestHost::record_end(ActionRecord &a, bool ok, ntx_status_t code, ntx_str_t reason, const ntx_result_t *result) {
    a.live = false;
    Outcome &o = a.outcome;
    o.ended = true;
    o.ok = ok;
    o.code = code;
    o.reason = to_string(reason);
    o.has_result = result != nullptr;
    if (result) {
        if (result->size < sizeof(ntx_result_t)) violation("result.size smaller than ntx_result_t");
        if (result->field_count && !result->fields) violation("result with field_count but no fields");
        for (std::size_t i = 0; result->fields && i < result->field_count; ++i) {
            const std::string key = to_string(result->fields[i].key);
            if (o.fields.count(key)) violation("duplicate result field " + key);
            o.fields[key] = to_string(result->fields[i].value);
        }
        o.bytes_sent = result->bytes_sent;
        o.bytes_received = result->bytes_received;
        if (NTX_HAS_MEMBER(result, ntx_result_t, status)) o.status = result->status;
    }
    if (on_action_end) on_action_end(a.id);
}

// ---- sockets -----------------------------------------------------------------------------------------

SocketRecord *PluginTestHost::find_socket(ntx_socket_t id) {
    for (auto &s : sockets_) {
        if (s.id == id) return &s;
    }
    return nullptr;
}

std::size_t PluginTestHost::open_socket_count() const {
    std::size_t n = 0;
    for (const auto &s : sockets_) n += s.open() ? 1 : 0;
    return n;
}

bool PluginTestHost::deliverable(ntx_socket_t id, SocketRecord *&rec) {
    rec = find_socket(id);
    if (!rec) return false;
    return force_events || rec->open();
}

void PluginTestHost::dispatch(ntx_socket_t id, int32_t kind, ntx_status_t status, const uint8_t *data, std::size_t len,
                        std::string_view reason) {
    SocketRecord *rec = find_socket(id);
    ntx_socket_event_t ev{};
    ev.size = sizeof ev;
    ev.kind = kind;
    ev.socket = id;
    ev.status = status;
    ev.data = ntx_bytes_t{data, len};
    ev.reason = ntx_str_t{reason.data(), reason.size()};
    // Copy the callback first: the plugin may open sockets from inside it.
    const ntx_socket_cb cb = rec->on_event;
    void *ud = rec->userdata;
    cb(ud, &ev);
}

bool PluginTestHost::connect(ntx_socket_t id) {
    SocketRecord *rec = nullptr;
    if (!deliverable(id, rec)) return false;
    rec->connected = true;
    dispatch(id, NTX_SOCKET_CONNECTED, NTX_OK, nullptr, 0);
    return true;
}

bool PluginTestHost::deliver(ntx_socket_t id, std::string_view data, std::size_t fragment) {
    if (fragment == 0) throw std::logic_error("deliver: fragment size 0");
    std::vector<std::size_t> cuts;
    for (std::size_t at = fragment; at < data.size(); at += fragment) cuts.push_back(at);
    return deliver_split(id, data, cuts);
}

bool PluginTestHost::deliver_split(ntx_socket_t id, std::string_view data, const std::vector<std::size_t> &cuts) {
    SocketRecord *rec = nullptr;
    if (!deliverable(id, rec)) return false;
    std::size_t from = 0;
    for (std::size_t i = 0; i <= cuts.size(); ++i) {
        const std::size_t to = i < cuts.size() ? cuts[i] : data.size();
        if (to < from || to > data.size()) throw std::logic_error("deliver_split: bad cut");
        if (to == from) continue;
        if (!deliverable(id, rec)) return true;  // died in between (the plugin closed it): stop
        // An exactly-sized heap copy, alive only for the callback (the ABI's borrowed view).
        auto copy = std::make_unique<uint8_t[]>(to - from);
        std::memcpy(copy.get(), data.data() + from, to - from);
        dispatch(id, NTX_SOCKET_DATA, NTX_OK, copy.get(), to - from);
        from = to;
    }
    return true;
}

bool PluginTestHost::sent_event(ntx_socket_t id) {
    SocketRecord *rec = nullptr;
    if (!deliverable(id, rec)) return false;
    dispatch(id, NTX_SOCKET_SENT, NTX_OK, nullptr, 0);
    return true;
}

bool PluginTestHost::peer_close(ntx_socket_t id) {
    SocketRecord *rec = nullptr;
    if (!deliverable(id, rec)) return false;
    rec->dead = true;  // dead after the callback; marking it first catches sends from inside it
    dispatch(id, NTX_SOCKET_CLOSED, NTX_OK, nullptr, 0);
    return true;
}

bool PluginTestHost::fail_socket(ntx_socket_t id, ntx_status_t status, std::string_view reason) {
    SocketRecord *rec = nullptr;
    if (!deliverable(id, rec)) return false;
    rec->dead = true;
    dispatch(id, NTX_SOCKET_ERROR, status, nullptr, 0, reason);
    return true;
}

// ---- time ------------------------------------------------------------------------------------------------

std::size_t PluginTestHost::advance(uint64_t ms) {
    now_ms_ += ms;
    return fire_due_timers();
}

std::size_t PluginTestHost::fire_due_timers() {
    std::size_t fired = 0;
    for (bool again = true; again;) {
        again = false;
        for (std::size_t i = 0; i < timers_.size(); ++i) {
            TimerRecord &t = timers_[i];
            if (t.cancelled || t.fired || t.due_ms > now_ms_) continue;
            t.fired = true;
            const ntx_timer_cb cb = t.cb;
            void *ud = t.userdata;
            const ntx_timer_t id = t.id;
            cb(ud, id);
            ++fired;
            again = true;  // callbacks may schedule more
        }
    }
    return fired;
}

std::size_t PluginTestHost::pending_timer_count() const {
    std::size_t n = 0;
    for (const auto &t : timers_) n += (!t.cancelled && !t.fired) ? 1 : 0;
    return n;
}

// ---- host table ----------------------------------------------------------------------------------------

void PluginTestHost::h_log(ntx_host_t *host, const ntx_action_t *, int32_t level, ntx_str_t message) {
    self(host, "log", false).logs_.push_back("[" + std::to_string(level) + "] " + to_string(message));
}

ntx_status_t PluginTestHost::h_action_complete(ntx_host_t *host, ntx_action_t *action, const ntx_result_t *result) {
    PluginTestHost &h = self(host, "action_complete");
    ActionRecord *a = h.find_action(action);
    if (!a) {
        h.violation("action_complete on an unknown action");
        return NTX_E_STATE;
    }
    if (!a->live) {
        h.violation("action_complete on dead action " + std::to_string(a->id));
        return NTX_E_STATE;
    }
    h.record_end(*a, true, NTX_OK, ntx_str_t{nullptr, 0}, result);
    return NTX_OK;
}

ntx_status_t PluginTestHost::h_action_fail(ntx_host_t *host, ntx_action_t *action, ntx_status_t code, ntx_str_t reason,
                                     const ntx_result_t *result) {
    PluginTestHost &h = self(host, "action_fail");
    ActionRecord *a = h.find_action(action);
    if (!a) {
        h.violation("action_fail on an unknown action");
        return NTX_E_STATE;
    }
    if (!a->live) {
        h.violation("action_fail on dead action " + std::to_string(a->id));
        return NTX_E_STATE;
    }
    if (code >= 0) h.violation("action_fail with a non-negative code");
    h.record_end(*a, false, code, reason, result);
    return NTX_OK;
}

ntx_status_t PluginTestHost::h_progress(ntx_host_t *host, const ntx_action_t *, const ntx_progress_t *progress) {
    PluginTestHost &h = self(host, "progress");
    if (!progress) return NTX_E_INVALID;
    if (!NTX_HAS_MEMBER(progress, ntx_progress_t, field_count)) {
        h.violation("progress.size smaller than ntx_progress_t");
        return NTX_E_INVALID;
    }
    return NTX_OK;
}

ntx_status_t PluginTestHost::h_request_task(ntx_host_t *host, ntx_action_t *, const ntx_task_request_t *,
                                      uint64_t *task_id) {
    if (task_id) *task_id = self(host, "request_task").next_task_++;
    return NTX_OK;
}

ntx_status_t PluginTestHost::h_timer_schedule(ntx_host_t *host, ntx_loop_t *loop, uint64_t delay_ms, ntx_timer_cb cb,
                                        void *userdata, ntx_timer_t *timer) {
    PluginTestHost &h = self(host, "timer_schedule");
    if (loop != h.loop_handle()) h.violation("timer_schedule on an unknown loop");
    if (!cb || !timer) return NTX_E_INVALID;
    TimerRecord t;
    t.id = h.next_timer_++;
    t.due_ms = h.now_ms_ + delay_ms;
    t.cb = cb;
    t.userdata = userdata;
    h.timers_.push_back(t);
    *timer = t.id;
    return NTX_OK;
}

ntx_status_t PluginTestHost::h_timer_cancel(ntx_host_t *host, ntx_loop_t *, ntx_timer_t timer) {
    PluginTestHost &h = self(host, "timer_cancel");
    for (auto &t : h.timers_) {
        if (t.id == timer) {
            if (!t.fired) t.cancelled = true;
            return NTX_OK;
        }
    }
    return NTX_OK;
}

ntx_status_t PluginTestHost::h_socket_open(ntx_host_t *host, ntx_loop_t *loop, const ntx_socket_opts_t *opts,
                                     ntx_socket_t *socket) {
    PluginTestHost &h = self(host, "socket_open");
    if (loop != h.loop_handle()) h.violation("socket_open on an unknown loop");
    if (!opts || !socket || !opts->on_event) return NTX_E_INVALID;
    if (opts->size < sizeof(ntx_socket_opts_t)) h.violation("socket_opts.size smaller than ntx_socket_opts_t");
    if (h.socket_open_result != NTX_OK) return h.socket_open_result;
    SocketRecord s;
    s.id = h.next_socket_++;
    s.transport = opts->transport;
    s.host = to_string(opts->host);
    s.port = opts->port;
    s.connect_timeout_ms = opts->connect_timeout_ms;
    if (NTX_HAS_MEMBER(opts, ntx_socket_opts_t, tls_ca_file)) {
        s.tls_server_name = to_string(opts->tls_server_name);
        s.tls_flags = opts->tls_flags;
        s.tls_ca_file = to_string(opts->tls_ca_file);
    }
    s.on_event = opts->on_event;
    s.userdata = opts->userdata;
    h.sockets_.push_back(std::move(s));
    *socket = h.sockets_.back().id;
    return NTX_OK;
}

ntx_status_t PluginTestHost::h_socket_send(ntx_host_t *host, ntx_socket_t socket, ntx_bytes_t data) {
    PluginTestHost &h = self(host, "socket_send");
    SocketRecord *s = h.find_socket(socket);
    if (!s) {
        h.violation("socket_send on unknown socket " + std::to_string(socket));
        return NTX_E_STATE;
    }
    if (s->dead) {
        h.violation("socket_send on dead socket " + std::to_string(socket));
        return NTX_E_STATE;
    }
    if (!s->connected) ++s->sends_before_connected;  // allowed: the host queues them (plugin_abi.h, socket_open)
    if (data.len && !data.ptr) return NTX_E_INVALID;
    s->sent.append(reinterpret_cast<const char *>(data.ptr), data.len);
    ++s->send_calls;
    return NTX_OK;
}

ntx_status_t PluginTestHost::h_socket_close(ntx_host_t *host, ntx_socket_t socket) {
    PluginTestHost &h = self(host, "socket_close");
    SocketRecord *s = h.find_socket(socket);
    if (!s) {
        h.violation("socket_close on unknown socket " + std::to_string(socket));
        return NTX_E_STATE;
    }
    if (s->closed_by_plugin) {
        h.violation("socket_close twice on socket " + std::to_string(socket));
        return NTX_E_STATE;
    }
    if (s->dead) {
        h.violation("socket_close on dead socket " + std::to_string(socket));
        return NTX_E_STATE;
    }
    s->closed_by_plugin = true;
    s->dead = true;
    return NTX_OK;
}

ntx_status_t PluginTestHost::h_socket_set_rate(ntx_host_t *host, ntx_socket_t socket, const ntx_rate_t *) {
    return self(host, "socket_set_rate").find_socket(socket) ? NTX_OK : NTX_E_STATE;
}

// fd-watch needs real descriptors: ntx-conformance drives plugins that use it.
ntx_status_t PluginTestHost::h_fd_watch(ntx_host_t *host, ntx_loop_t *, int, uint32_t, ntx_fd_cb, void *) {
    self(host, "fd_watch");
    return NTX_E_UNSUPPORTED;
}

ntx_status_t PluginTestHost::h_fd_unwatch(ntx_host_t *host, ntx_loop_t *, int) {
    self(host, "fd_unwatch");
    return NTX_E_UNSUPPORTED;
}

uint64_t PluginTestHost::h_now_ms(ntx_host_t *host) { return self(host, "now_ms", false).now_ms_; }

// ---- rules and posts --------------------------------------------------------------------------------------

void PluginTestHost::note_call(const char *fn, bool needs_loop) {
    if (std::this_thread::get_id() != loop_thread_) {
        std::lock_guard lock(post_mutex_);
        post_violations_.push_back(std::string(fn) + " called from a thread other than the loop's (only post may be)");
        return;
    }
    if (calls_.size() < 100000) calls_.emplace_back(fn);
    if (validating_) violation(std::string("a host-table call (") + fn + ") inside validate_action");
    if (!needs_loop) return;
    switch (phase_) {
    case Phase::entry: violation(std::string(fn) + " called from ntx_plugin_entry (no work belongs there)"); break;
    case Phase::init:
    case Phase::releasing:
        violation(std::string(fn) + " called inside " + (phase_ == Phase::init ? "init" : "release") +
                  ": no loop runs there, only log, now_ms and strerror are valid");
        break;
    case Phase::running: break;
    }
}

ntx_status_t PluginTestHost::h_post(ntx_host_t *host, ntx_loop_t *loop, ntx_post_cb cb, void *userdata) {
    auto &h = *reinterpret_cast<PluginTestHost *>(host);
    {
        std::lock_guard lock(h.post_mutex_);
        if (!cb) {
            h.post_violations_.emplace_back("post with a NULL callback");
            return NTX_E_INVALID;
        }
        if (h.phase_ != Phase::running) {
            h.post_violations_.emplace_back("post while no loop runs (entry, init or release)");
            return NTX_E_STATE;
        }
        if (loop != h.loop_handle()) {
            h.post_violations_.emplace_back("post with a loop handle the host never gave (use ctx->loop)");
            return NTX_E_STATE;
        }
        h.posted_.push_back({cb, userdata});
    }
    h.post_cv_.notify_all();
    return NTX_OK;
}

std::size_t PluginTestHost::run_posts() {
    std::size_t ran = 0;
    for (;;) {
        std::deque<Posted> batch;
        {
            std::lock_guard lock(post_mutex_);
            for (auto &v : post_violations_) violation(std::move(v));
            post_violations_.clear();
            batch.swap(posted_);
        }
        if (batch.empty()) return ran;
        for (const Posted &p : batch) {
            calls_.emplace_back("post (ran)");
            p.cb(p.userdata);
            ++ran;
        }
    }
}

std::size_t PluginTestHost::wait_posts(std::size_t count, uint32_t timeout_ms) {
    {
        std::unique_lock lock(post_mutex_);
        post_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return posted_.size() >= count; });
    }
    return run_posts();
}

std::size_t PluginTestHost::queued_post_count() const {
    std::lock_guard lock(post_mutex_);
    return posted_.size();
}

}  // namespace testing
NTX_END_NAMESPACE
