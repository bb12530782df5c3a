#include "frame/protocol_frame.hpp"

#include <fmt/format.h>

#include "ntx/diagnostics.hpp"

namespace ntx::frame {

// A token is a number, never an address: generation (32 bits) | loop (8 bits) | slot (24 bits).
constexpr uint32_t kSlotBits = 24;
constexpr uint32_t kMaxLoops = 256;

ProtocolFrame::ProtocolFrame(const dsl::Script& script, std::shared_ptr<spdlog::logger> log)
    : script_(script), log_(std::move(log)), masker_(script.config.log_mask), api_(make_host_api()),
      violations_(script.components.size()) {
    components_.resize(script.components.size());
    for (uint32_t i = 0; i < components_.size(); ++i) {
        components_[i].spec = &script.components[i];
        components_[i].host = ntx_host{this, i};
    }
}

ProtocolFrame::~ProtocolFrame() { release_all(); }

void ProtocolFrame::init_all(uint32_t loop_count) {
    std::string res_dir = script_.res_dir.string();
    for (auto& c : components_) {
        if (!c.plugin) continue;
        ntx_init_ctx_t ctx{};
        ctx.size = sizeof(ctx);
        ctx.component = {c.spec->name.data(), c.spec->name.size()};
        ctx.res_dir = {res_dir.data(), res_dir.size()};
        ctx.config_json = {c.spec->config_json.data(), c.spec->config_json.size()};
        ctx.loop_count = loop_count;
        ctx.host_api = &api_;
        c.state = c.plugin->initial_state;  // NULL for a .so; an in-process protocol's own object
        ntx_status_t rc;
        {
            net::CallScope mark(main_call_, static_cast<uint32_t>(&c - components_.data()), net::PluginCall::init);
            rc = c.plugin->api.init(&c.host, &ctx, &c.state);
        }
        if (rc != NTX_OK)
            throw RuntimeFailure(fmt::format("plugin '{}' ({}) failed to initialise: {} ({})", c.spec->name,
                                             c.plugin->path.string(), status_text(rc), rc));
        c.initialized = true;
    }
}

void ProtocolFrame::release_all() {
    for (auto& c : components_) {
        if (!c.initialized) continue;
        c.initialized = false;
        net::CallScope mark(main_call_, static_cast<uint32_t>(&c - components_.data()), net::PluginCall::release);
        c.plugin->api.release(c.state);
        c.state = nullptr;
    }
}

void ProtocolFrame::attach_loops(std::vector<net::Loop*> loops, std::vector<ActionSink*> sinks,
                                 std::chrono::steady_clock::time_point started) {
    if (loops.size() > kMaxLoops) throw RuntimeFailure(fmt::format("at most {} event loops, not {}", kMaxLoops, loops.size()));
    std::lock_guard lock(post_mutex_);
    loops_ = std::move(loops);
    tables_ = std::vector<LoopSlots>(loops_.size());  // made in place: a slot is never moved
    for (size_t i = 0; i < tables_.size() && i < sinks.size(); ++i) tables_[i].sink = sinks[i];
    started_ = started;
    accepting_posts_ = true;
}

void ProtocolFrame::detach_loops() {
    std::lock_guard lock(post_mutex_);
    accepting_posts_ = false;
    loops_.clear();
    tables_.clear();  // the slots' timers go before their loops do
}

net::Loop* ProtocolFrame::loop_of_socket(ntx_socket_t id) const {
    uint32_t i = net::Loop::id_loop(id);
    return i < loops_.size() ? loops_[i] : nullptr;
}

bool ProtocolFrame::owns_loop(const ntx_loop_t* loop) const {
    for (const net::Loop* l : loops_)
        if (reinterpret_cast<const ntx_loop_t*>(l) == loop) return true;
    return false;
}

// ---- slots and tokens ------------------------------------------------------------------------------------
// The generation is never 0, so no token is null.

ntx_action_t* ProtocolFrame::token(SlotId id, uint32_t generation) {
    uint64_t v = (uint64_t{generation} << 32) | (uint64_t{id.loop} << kSlotBits) | id.index;
    return reinterpret_cast<ntx_action_t*>(static_cast<uintptr_t>(v));
}

bool ProtocolFrame::on_token_loop(const ntx_action_t* t) const {
    const auto v = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(t));
    const auto loop = static_cast<uint32_t>((v >> kSlotBits) & (kMaxLoops - 1));
    return loop < loops_.size() && loops_[loop]->on_loop_thread();
}

ntx_status_t ProtocolFrame::post(uint32_t component, ntx_loop_t* loop, ntx_post_cb cb, void* userdata) {
    if (!cb) return NTX_E_INVALID;
    std::lock_guard lock(post_mutex_);
    if (!accepting_posts_) return loops_.empty() ? NTX_E_STATE : NTX_E_CANCELLED;
    for (net::Loop* l : loops_)
        if (l->handle() == loop) {
            // Asio's scheduler locks its queue (UNSAFE_IO leaves only the reactor unlocked): any thread may post.
            boost::asio::post(l->io(), [l, cb, userdata, component] {
                net::CallScope mark(l->call_record(), component, net::PluginCall::posted);
                cb(userdata);
            });
            return NTX_OK;
        }
    return NTX_E_STATE;
}

void ProtocolFrame::violation(uint32_t component, Violation kind, std::string_view detail) {
    if (!violations_.count(component, kind)) return;
    const auto& c = components_[component];
    log_->warn("plugin '{}' (component '{}') broke the plugin contract: {}: {} (logged once; every one is counted in "
               "report.json's plugin_violations)",
               c.plugin ? c.plugin->api.name : "?", c.spec->name, violation_name(kind), detail);
}

ProtocolFrame::Slot* ProtocolFrame::live_slot(const ntx_action_t* t, SlotId& id, bool live) {
    const auto v = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(t));
    id.index = static_cast<uint32_t>(v & ((1u << kSlotBits) - 1));
    id.loop = static_cast<uint32_t>((v >> kSlotBits) & (kMaxLoops - 1));
    const auto generation = static_cast<uint32_t>(v >> 32);
    if (id.loop >= tables_.size() || id.index >= tables_[id.loop].slots.size()) return nullptr;
    Slot& s = tables_[id.loop].slots[id.index];
    return (s.live || !live) && s.open && s.generation == generation ? &s : nullptr;
}

SlotId ProtocolFrame::open_slot(uint32_t loop, void* owner, uint64_t user_id) {
    if (loop >= tables_.size() || loop >= kMaxLoops) return {};
    LoopSlots& t = tables_[loop];
    SlotId id{loop, 0};
    if (!t.free.empty()) {
        id.index = t.free.back();
        t.free.pop_back();
    } else {
        if (t.slots.size() >= (1u << kSlotBits)) throw RuntimeFailure("more than 16M users on one loop");
        id.index = static_cast<uint32_t>(t.slots.size());
        t.slots.emplace_back(loops_[loop]->io());
    }
    Slot& s = t.slots[id.index];
    s.owner = owner;
    s.user_id = user_id;
    s.task_id = 0;
    s.live = false;
    s.open = true;
    s.plugin_slots.assign(components_.size(), nullptr);
    s.deadline = std::chrono::steady_clock::time_point::max();
    return id;
}

void ProtocolFrame::close_slot(SlotId& id) {
    if (!id.valid() || id.loop >= tables_.size() || id.index >= tables_[id.loop].slots.size()) {
        id = {};
        return;
    }
    Slot& s = slot_at(id);
    if (s.timer_armed) {
        s.timer.cancel();  // its handler returns on the cancel
        s.timer_armed = false;
    }
    for (uint32_t i = 0; i < s.plugin_slots.size(); ++i) {
        void*& slot = s.plugin_slots[i];
        if (!slot) continue;
        Component& c = components_[i];
        if (c.plugin && c.plugin->api.user_release) {
            net::CallScope mark(id.loop < loops_.size() ? loops_[id.loop]->call_record() : nullptr, i,
                                net::PluginCall::user_release);
            c.plugin->api.user_release(c.state, s.user_id, slot);
        }
        slot = nullptr;
    }
    s.live = false;
    s.open = false;
    s.owner = nullptr;
    ++s.generation;  // whatever token is still out there is stale now
    if (s.generation == 0) s.generation = 1;
    tables_[id.loop].free.push_back(id.index);
    id = {};
}

// ---- actions -----------------------------------------------------------------------------------------------

ntx_action_t* ProtocolFrame::begin(SlotId id, Slot& s, const DispatchRequest& rq, uint64_t timeout_ms) {
    if (++s.generation == 0) s.generation = 1;
    s.live = true;
    s.ended_by_host = false;
    s.action = rq.action;
    s.task_id = rq.task_id;
    s.started = rq.started;
    if (timeout_ms) {
        s.deadline = net::RunClock::now() + std::chrono::milliseconds(timeout_ms);
        // Usually the timer is already armed for an earlier deadline (a previous action's): it
        // re-arms itself for this one when it fires. Only a sooner deadline re-arms it now.
        if (!s.timer_armed || s.deadline < s.timer_expiry) arm_action_timer(id, s);
    } else {
        s.deadline = std::chrono::steady_clock::time_point::max();
    }
    return token(id, s.generation);
}

void ProtocolFrame::dispatch(SlotId id, const DispatchRequest& rq) {
    const dsl::ActionSpec& a = script_.actions[rq.action];
    Component& c = components_[a.component];
    net::Loop& loop = *loops_[id.loop];
    Slot& s = slot_at(id);
    const uint64_t timeout = a.timeout_ms ? a.timeout_ms : script_.config.action_timeout_ms;
    ntx_action_t* t = begin(id, s, rq, timeout);

    ntx_action_ctx_t ctx{};
    ctx.size = sizeof(ctx);
    ctx.task_id = rq.task_id;
    ctx.user_id = s.user_id;
    ctx.action_id = rq.action;
    ctx.action_name = {a.name.data(), a.name.size()};
    ctx.call = {a.call.data(), a.call.size()};
    ctx.params = rq.params;
    ctx.param_count = rq.param_count;
    ctx.param_flags = rq.param_flags;
    ctx.timeout_ms = static_cast<uint32_t>(timeout);
    ctx.loop = loop.handle();
    ctx.loop_index = loop.index();
    ctx.user_data = &s.plugin_slots[a.component];
    ctx.flags = a.wants_result() ? NTX_ACTION_WANTS_RESULT : 0u;
    ntx_status_t rc;
    {
        net::CallScope mark(loop.call_record(), a.component, net::PluginCall::run_action, rq.action);
        rc = c.plugin->api.run_action(c.state, t, &ctx);
    }
    if (rc != NTX_OK && s.live && s.generation == static_cast<uint32_t>(reinterpret_cast<uintptr_t>(t) >> 32))
        end(t, kHost, Outcome::error, rc < 0 ? rc : NTX_E_INTERNAL, "run_action refused the action", nullptr);
}

void ProtocolFrame::fail(SlotId id, const DispatchRequest& rq, ntx_status_t code, std::string_view reason) {
    Slot& s = slot_at(id);
    end(begin(id, s, rq, 0), kHost, Outcome::error, code, reason, nullptr);
}

void ProtocolFrame::arm_action_timer(SlotId id, Slot& s) {
    s.timer_armed = true;
    s.timer_expiry = s.deadline;
    s.timer.expires_at(s.deadline);  // a wait still pending completes as cancelled
    s.timer.async_wait([this, id, &s](const boost::system::error_code& ec) {
        if (ec) return;  // re-armed, or the slot closed (its user left): never touched
        if (!s.live || s.deadline == std::chrono::steady_clock::time_point::max()) {
            s.timer_armed = false;  // nothing to watch: the next dispatch arms it again
            return;
        }
        if (net::RunClock::now() < s.deadline) return arm_action_timer(id, s);  // a later action's
        s.timer_armed = false;
        cancel(id, Outcome::timeout, NTX_E_TIMEOUT, "action timeout");
    });
}

namespace {

constexpr size_t kMaxResultFields = size_t{1} << 16;

// Whether a plugin's result can be read as it says: arrays where counts say, counts of sane size.
bool readable(const ntx_result_t& r) {
    if (!NTX_HAS_MEMBER(&r, ntx_result_t, field_count)) return true;  // too small to hold fields: none read
    if (!r.field_count) return true;
    if (!r.fields || r.field_count > kMaxResultFields) return false;
    for (size_t i = 0; i < r.field_count; ++i) {
        const ntx_kv_t& f = r.fields[i];
        if ((!f.key.ptr && f.key.len) || (!f.value.ptr && f.value.len)) return false;
    }
    return true;
}

}  // namespace

ntx_status_t ProtocolFrame::end(const ntx_action_t* t, uint32_t caller, Outcome outcome, ntx_status_t code,
                                std::string_view reason, const ntx_result_t* result) {
    if (caller != kHost && !on_token_loop(t)) {
        violation(caller, Violation::off_loop, "action_complete/action_fail called from a thread that is not the action's loop");
        return NTX_E_STATE;
    }
    SlotId id;
    Slot* s = live_slot(t, id, false);
    if (!s || !s->live) {
        if (caller == kHost) return NTX_E_STATE;
        if (!s) violation(caller, Violation::stale_handle, "an action ended with the handle of an earlier action");
        else if (s->ended_by_host) violation(caller, Violation::after_cancel, "an action ended after the host ended it (on_error)");
        else violation(caller, Violation::double_completion, "an action ended twice");
        return NTX_E_STATE;
    }
    ntx_result_t fixed;
    if (result && caller != kHost && !result->size) result = nullptr;
    if (result && caller != kHost && script_.actions[s->action].save_slot && !readable(*result)) {
        violation(caller, Violation::bad_result, "a result whose fields array does not match field_count (fields dropped)");
        fixed = *result;
        fixed.field_count = 0;
        fixed.fields = nullptr;
        result = &fixed;
    }
    s->live = false;
    const auto now = net::RunClock::now();
    if ((outcome == Outcome::ok || outcome == Outcome::error) && now > s->deadline) {
        // The deadline passed while the loop could not run its timer (a call blocked it): a timeout.
        outcome = Outcome::timeout;
        code = NTX_E_TIMEOUT;
        reason = "ended after its deadline (its loop was blocked)";
    }
    ActionEnd e;
    e.owner = s->owner;
    e.action = s->action;
    e.outcome = outcome;
    e.code = code;
    e.reason = reason;
    e.result = result;
    e.elapsed = now - s->started;
    if (outcome != Outcome::ok && log_->should_log(spdlog::level::debug))
        log_->debug("[user={} task={} action={}] {}: {}", s->user_id, s->task_id, script_.actions[s->action].name,
                    status_kind(code), reason);
    // The sink counts it and lets its owner go on on the loop's next turn, never inside the plugin's call.
    tables_[id.loop].sink->action_ended(e);
    return NTX_OK;
}

void ProtocolFrame::cancel(SlotId id, Outcome outcome, ntx_status_t code, std::string_view reason) {
    if (!in_action(id)) return;
    Slot& s = slot_at(id);
    ntx_action_t* t = token(id, s.generation);
    end(t, kHost, outcome, code, reason, nullptr);
    s.ended_by_host = true;
    uint32_t component = script_.actions[s.action].component;
    Component& c = components_[component];
    net::CallScope mark(loops_[id.loop]->call_record(), component, net::PluginCall::on_error, s.action);
    c.plugin->api.on_error(c.state, t, &s.plugin_slots[component], code, {reason.data(), reason.size()});
}

ntx_status_t ProtocolFrame::request_task(const ntx_action_t* t, uint32_t action,
                                         std::vector<std::pair<std::string, std::string>> overrides, uint64_t& task_id) {
    // Only from the action's own loop: the scheduler's state is that loop's alone.
    if (!on_token_loop(t)) return NTX_E_STATE;
    SlotId id;
    Slot* s = live_slot(t, id);
    if (!s) return NTX_E_STATE;
    return tables_[id.loop].sink->request_task(s->owner, action, std::move(overrides), task_id);
}

void ProtocolFrame::plugin_progress(const ntx_action_t* t, uint32_t component, const ntx_progress_t& p) {
    if (!on_token_loop(t)) return;
    SlotId id;
    Slot* s = live_slot(t, id);
    if (!s) return;
    tables_[id.loop].sink->plugin_progress(s->owner, component, p);
}

bool ProtocolFrame::describe(const ntx_action_t* t, uint64_t& user_id, uint64_t& task_id, uint32_t& action) const {
    if (!on_token_loop(t)) return false;  // the slots are the loop's: not read from another thread
    SlotId id;
    const Slot* s = const_cast<ProtocolFrame*>(this)->live_slot(t, id, false);
    if (!s) return false;
    user_id = s->user_id;
    task_id = s->task_id;
    action = s->action;
    return true;
}

}  // namespace ntx::frame
