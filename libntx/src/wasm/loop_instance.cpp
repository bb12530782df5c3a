#include "wasm/loop_instance.hpp"

#include "wasm/guest_block.hpp"

namespace ntx::wasm {

namespace {
wi::Value u32v(uint32_t v) { return wi::Value::Make(v); }
}  // namespace

Guest::Call call_init(Guest& guest, const RunState& run, ntx_status_t& rc) {
    Block b;
    uint32_t ctx = b.reserve(36);
    b.set<uint32_t>(ctx, 36);
    b.set_str(ctx + 4, run.component);
    b.set_str(ctx + 12, run.res_dir);
    b.set_str(ctx + 20, run.config_json);
    b.set<uint32_t>(ctx + 28, run.loop_count);
    Guest::Call c;
    uint32_t at = b.place(guest, c);
    if (!at) return c;
    c = guest.call("ntx_init", {u32v(at + ctx)});
    if (!c.ok()) return c;
    rc = c.results.at(0).Get<int32_t>();
    guest.give_back(at);
    return c;
}

LoopInstance::LoopInstance(RunState& r, uint32_t i) : run(r), index(i) {
    binding.host = run.host;
    binding.api = run.api;
    binding.loop = this;
    binding.component = &run.component;
}

LoopInstance::~LoopInstance() = default;

void LoopInstance::log(int32_t level, const std::string& message) {
    if (run.api) run.api->log(run.host, nullptr, level, ntx_str_t{message.data(), message.size()});
}

bool LoopInstance::start(std::string& error, ntx_status_t& refused) {
    refused = NTX_OK;
    auto g = run.module->instantiate();
    g->user = &binding;
    if (!g->start(error)) return false;
    Guest::Call c = call_init(*g, run, refused);
    if (!c.ok()) {
        error = "ntx_init trapped: " + c.message;
        return false;
    }
    if (refused != NTX_OK) {
        error = "ntx_init refused: " + std::string(run.api->strerror(refused));
        return false;
    }
    guest = std::move(g);
    return true;
}

Guest* LoopInstance::ready() {
    if (guest) return guest.get();
    std::string error;
    ntx_status_t refused;
    if (!start(error, refused)) {
        log(NTX_LOG_ERROR, "wasm plugin '" + run.component + "': a new instance for loop " + std::to_string(index) +
                               " did not start: " + error);
        return nullptr;
    }
    return guest.get();
}

void LoopInstance::reset(const Guest::Call& call, const char* where) {
    const bool fuel = call.outcome == Guest::Outcome::fuel;
    std::string reason = std::string(fuel ? "wasm budget exhausted in " : "wasm trap in ") + where + ": " + call.message;
    log(NTX_LOG_ERROR, "wasm plugin '" + run.component + "' (loop " + std::to_string(index) + "): " + reason +
                           "; the instance is re-created");
    guest.reset();
    generation = static_cast<uint16_t>((generation + 1) & 0x7fff) ? static_cast<uint16_t>((generation + 1) & 0x7fff) : 1;
    close_all();
    auto actions = std::move(actions_);
    actions_.clear();
    handles_.clear();
    for (auto& [handle, action] : actions)
        run.api->action_fail(run.host, action, fuel ? NTX_E_LIMIT : NTX_E_TRAP, ntx_str_t{reason.data(), reason.size()},
                             nullptr);
}

void LoopInstance::close_all() {
    if (!run.api) return;
    for (auto& [id, s] : sockets_) run.api->socket_close(run.host, id);
    sockets_.clear();
    for (auto& [id, t] : timers_) run.api->timer_cancel(run.host, loop, id);
    timers_.clear();
}

uint32_t LoopInstance::enter(ntx_action_t* action) {
    uint32_t h = next_handle_++;
    if (next_handle_ == 0) next_handle_ = 1;
    actions_[h] = action;
    handles_[action] = h;
    return h;
}

ntx_action_t* LoopInstance::find(uint32_t handle) const {
    auto it = actions_.find(handle);
    return it == actions_.end() ? nullptr : it->second;
}

ntx_action_t* LoopInstance::take(uint32_t handle) {
    auto it = actions_.find(handle);
    if (it == actions_.end()) return nullptr;
    ntx_action_t* a = it->second;
    actions_.erase(it);
    handles_.erase(a);
    return a;
}

void LoopInstance::forget(ntx_action_t* action) {
    auto it = handles_.find(action);
    if (it == handles_.end()) return;
    actions_.erase(it->second);
    handles_.erase(it);
}

ntx_status_t LoopInstance::socket_open(const ntx_socket_opts_t& opts_in, uint32_t cb, uint32_t userdata, ntx_socket_t& id) {
    if (!loop) return NTX_E_STATE;
    auto s = std::make_unique<SocketBinding>(SocketBinding{this, 0, cb, userdata});
    ntx_socket_opts_t opts = opts_in;
    opts.on_event = &LoopInstance::on_socket;
    opts.userdata = s.get();
    ntx_status_t rc = run.api->socket_open(run.host, loop, &opts, &id);
    if (rc != NTX_OK) return rc;
    s->id = id;
    sockets_[id] = std::move(s);
    return NTX_OK;
}

ntx_status_t LoopInstance::socket_close(ntx_socket_t id) {
    auto it = sockets_.find(id);
    if (it == sockets_.end()) return NTX_E_STATE;  // not this instance's, or dead
    sockets_.erase(it);
    return run.api->socket_close(run.host, id);
}

ntx_status_t LoopInstance::timer_schedule(uint64_t delay_ms, uint32_t cb, uint32_t userdata, ntx_timer_t& id) {
    if (!loop) return NTX_E_STATE;
    auto t = std::make_unique<TimerBinding>(TimerBinding{this, 0, cb, userdata});
    ntx_status_t rc = run.api->timer_schedule(run.host, loop, delay_ms, &LoopInstance::on_timer, t.get(), &id);
    if (rc != NTX_OK) return rc;
    t->id = id;
    timers_[id] = std::move(t);
    return NTX_OK;
}

ntx_status_t LoopInstance::timer_cancel(ntx_timer_t id) {
    auto it = timers_.find(id);
    if (it == timers_.end()) return NTX_OK;  // fired or cancelled already: a no-op, as for the host
    timers_.erase(it);
    return run.api->timer_cancel(run.host, loop, id);
}

void LoopInstance::on_socket(void* userdata, const ntx_socket_event_t* ev) {
    auto* s = static_cast<SocketBinding*>(userdata);
    LoopInstance& li = *s->owner;
    const uint32_t cb = s->cb, guest_userdata = s->userdata;
    const ntx_socket_t id = s->id;
    // CLOSED and ERROR are final: the socket is dead after this callback, so the binding goes first
    // (a reset during the dispatch must not close it again).
    std::unique_ptr<SocketBinding> dead;
    if (ev->kind == NTX_SOCKET_CLOSED || ev->kind == NTX_SOCKET_ERROR) {
        auto it = li.sockets_.find(id);
        if (it != li.sockets_.end()) {
            dead = std::move(it->second);
            li.sockets_.erase(it);
        }
    }
    if (!li.guest) return;
    Guest& g = *li.guest;
    BlockLease lease(li.block, li.block_busy);
    Block& b = *lease;
    uint32_t at = b.reserve(40);
    b.set<uint32_t>(at, 40);
    b.set<int32_t>(at + 4, ev->kind);
    b.set<uint64_t>(at + 8, id);
    b.set<int32_t>(at + 16, ev->status);
    b.set_str(at + 20, std::string_view(reinterpret_cast<const char*>(ev->data.ptr), ev->data.ptr ? ev->data.len : 0));
    std::string_view reason;
    if (NTX_HAS_MEMBER(ev, ntx_socket_event_t, reason) && ev->reason.ptr) reason = {ev->reason.ptr, ev->reason.len};
    b.set_str(at + 28, reason);
    Guest::Call c;
    uint32_t base = b.place(g, c);
    if (base) c = g.call("ntx_on_socket", {u32v(cb), u32v(guest_userdata), u32v(base + at)});
    if (!c.ok()) {
        li.reset(c, "ntx_on_socket");
        return;
    }
    g.give_back(base);
}

void LoopInstance::on_timer(void* userdata, ntx_timer_t timer) {
    auto* t = static_cast<TimerBinding*>(userdata);
    LoopInstance& li = *t->owner;
    auto it = li.timers_.find(timer);
    if (it == li.timers_.end()) return;
    std::unique_ptr<TimerBinding> fired = std::move(it->second);
    li.timers_.erase(it);
    if (!li.guest) return;
    Guest::Call c = li.guest->call("ntx_on_timer", {u32v(fired->cb), u32v(fired->userdata), wi::Value::Make(uint64_t{timer})});
    if (!c.ok()) li.reset(c, "ntx_on_timer");
}

}  // namespace ntx::wasm
