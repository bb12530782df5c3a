#include "frame/protocol_frame.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <fmt/format.h>

#include "ntx/diagnostics.hpp"
#include "scheduler/scheduler.hpp"
#include "scheduler/shard.hpp"

namespace ntx::frame {

using scheduler::Outcome;
using scheduler::User;

ProtocolFrame::ProtocolFrame(const dsl::Script& script, std::shared_ptr<spdlog::logger> log)
    : script_(script), log_(std::move(log)), masker_(script.config.log_mask), api_(make_host_api()) {
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
        ntx_status_t rc = c.plugin->api.init(&c.host, &ctx, &c.state);
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
        c.plugin->api.release(c.state);
        c.state = nullptr;
    }
}

void ProtocolFrame::attach_loops(std::vector<net::Loop*> loops, std::chrono::steady_clock::time_point started) {
    loops_ = std::move(loops);
    started_ = started;
}

net::Loop* ProtocolFrame::loop_of_socket(ntx_socket_t id) const {
    uint32_t i = net::Loop::id_loop(id);
    return i < loops_.size() ? loops_[i] : nullptr;
}

void ProtocolFrame::dispatch(User& u, uint32_t action_index) {
    const dsl::ActionSpec& a = script_.actions[action_index];
    Component& c = components_[a.component];
    net::Loop& loop = u.shard.loop();

    u.current ^= 1;
    ntx_action& handle = u.handle();
    handle.live = true;
    const auto now = std::chrono::steady_clock::now();
    u.action_started = u.intended_start ? *u.intended_start : now;
    u.intended_start.reset();

    // Render `with` into buffers the user keeps: no allocation once they have grown.
    size_t n = a.with.size();
    if (u.param_values.size() < n) u.param_values.resize(n);
    u.params.resize(n);
    std::string error;
    for (size_t i = 0; i < n; ++i) {
        std::string& value = u.param_values[i];
        value.clear();
        if (!u.overrides.empty()) {
            // A dynamic task: the plugin's values replace the template's.
            auto o = std::find_if(u.overrides.begin(), u.overrides.end(), [&](const auto& kv) { return kv.first == a.with[i].first; });
            if (o != u.overrides.end()) {
                u.params[i] = ntx_kv_t{{o->first.data(), o->first.size()}, {o->second.data(), o->second.size()}};
                continue;
            }
        }
        if (!a.with[i].second.render(u, value, error)) {
            end(handle, Outcome::error, NTX_E_INVALID, error, nullptr);
            return;
        }
        u.params[i] = ntx_kv_t{{a.with[i].first.data(), a.with[i].first.size()}, {value.data(), value.size()}};
    }
    if (u.dynamic) {
        ++u.shard.action_stats(u.scenario, action_index).dynamic;
        // Overrides the template does not name are added (an ad-hoc task's whole `with`).
        for (const auto& [key, value] : u.overrides)
            if (std::none_of(a.with.begin(), a.with.end(), [&](const auto& w) { return w.first == key; }))
                u.params.push_back(ntx_kv_t{{key.data(), key.size()}, {value.data(), value.size()}});
        n = u.params.size();
    }

    uint64_t timeout = a.timeout_ms ? a.timeout_ms : script_.config.action_timeout_ms;
    if (timeout) {
        u.action_deadline = now + std::chrono::milliseconds(timeout);
        // Usually the timer is already armed for an earlier deadline (a previous action's): it
        // re-arms itself for this one when it fires. Only a sooner deadline re-arms it now.
        if (!u.action_timer_armed || u.action_deadline < u.action_timer_expiry) arm_action_timer(u);
    } else {
        u.action_deadline = std::chrono::steady_clock::time_point::max();
    }

    ntx_action_ctx_t ctx{};
    ctx.size = sizeof(ctx);
    ctx.task_id = u.task_id;
    ctx.user_id = u.user_id;
    ctx.action_id = action_index;
    ctx.action_name = {a.name.data(), a.name.size()};
    ctx.call = {a.call.data(), a.call.size()};
    ctx.params = u.params.data();
    ctx.param_count = n;
    ctx.timeout_ms = static_cast<uint32_t>(timeout);
    ctx.loop = loop.handle();
    ctx.loop_index = loop.index();
    ctx.user_data = &u.plugin_slots[a.component];
    ctx.flags = a.save_slot ? NTX_ACTION_WANTS_RESULT : 0u;
    ntx_status_t rc = c.plugin->api.run_action(c.state, &handle, &ctx);
    if (rc != NTX_OK && handle.live)
        end(handle, Outcome::error, rc < 0 ? rc : NTX_E_INTERNAL, "run_action refused the action", nullptr);
}

void ProtocolFrame::arm_action_timer(User& u) {
    u.action_timer_armed = true;
    u.action_timer_expiry = u.action_deadline;
    u.action_timer.expires_at(u.action_deadline);  // a wait still pending completes as cancelled
    u.action_timer.async_wait([this, &u](const boost::system::error_code& ec) {
        if (ec) return;  // re-armed, or the user left (Shard::finish): `u` may be gone, never touched
        if (!u.in_action() || u.action_deadline == std::chrono::steady_clock::time_point::max()) {
            u.action_timer_armed = false;  // nothing to watch: the next dispatch arms it again
            return;
        }
        if (std::chrono::steady_clock::now() < u.action_deadline) return arm_action_timer(u);  // a later action's
        u.action_timer_armed = false;
        cancel(u, Outcome::timeout, NTX_E_TIMEOUT, "action timeout");
    });
}

ntx_status_t ProtocolFrame::end(ntx_action& handle, Outcome outcome, ntx_status_t code, std::string_view reason,
                                const ntx_result_t* result) {
    if (!handle.live) return NTX_E_STATE;
    handle.live = false;
    User& u = *handle.user;
    auto elapsed = std::chrono::steady_clock::now() - u.action_started;
    const dsl::ActionSpec& a = script_.actions[u.action];
    scheduler::ActionStats& st = u.shard.action_stats(u.scenario, u.action);
    switch (outcome) {
    case Outcome::ok:
        ++st.ok;
        st.latency.record(static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count()));
        break;
    case Outcome::error:
        st.count_error(code, now_ms(), u.user_id, u.task_id, [&] {
            std::string r = masker_.empty() ? std::string(reason) : masker_.mask(reason);
            return r.empty() ? std::string(status_kind(code)) : r;
        });
        break;
    case Outcome::timeout: ++st.timeouts; break;
    case Outcome::cancelled: ++st.cancelled; break;
    }
    // A plugin's result is read only as far as its size says, and fields only when they exist.
    if (result && NTX_HAS_MEMBER(result, ntx_result_t, field_count)) {
        if (NTX_HAS_MEMBER(result, ntx_result_t, bytes_received)) {
            st.bytes_sent += result->bytes_sent;
            st.bytes_received += result->bytes_received;
        }
        if (NTX_HAS_MEMBER(result, ntx_result_t, status)) st.count_status(result->status);
        // save-as keeps what the plugin reported on failures too (an HTTP 503's status and body).
        if ((outcome == Outcome::ok || outcome == Outcome::error) && a.save_slot && result->field_count && result->fields) {
            save_result(u, a, *result);
        }
    }
    if (outcome != Outcome::ok && log_->should_log(spdlog::level::debug))
        log_->debug("[user={} task={} action={}] {}: {}", u.user_id, u.task_id, a.name, status_kind(code), reason);
    // Continue on the next turn of the loop, never inside the plugin's call.
    u.shard.continue_later(u, outcome);
    return NTX_OK;
}

void ProtocolFrame::save_result(User& u, const dsl::ActionSpec& a, const ntx_result_t& result) {
    const uint32_t slot = *a.save_slot;
    auto copy_into = [&](dsl::Fields& fields) {  // reuses the strings' capacity
        fields.resize(result.field_count);
        for (size_t i = 0; i < result.field_count; ++i) {
            const ntx_kv_t& kv = result.fields[i];
            fields[i].first.assign(kv.key.ptr ? kv.key.ptr : "", kv.key.len);
            fields[i].second.assign(kv.value.ptr ? kv.value.ptr : "", kv.value.len);
        }
    };
    auto& sched = u.shard.scheduler();
    const dsl::Fields* saved;
    if (script_.variable_scopes[slot] == dsl::VarScope::global) {
        dsl::Fields fields;
        copy_into(fields);
        sched.globals().store(slot, std::move(fields));
        saved = u.variable(slot);
    } else {
        copy_into(u.variables[slot]);
        u.variable_set[slot] = true;
        if (!u.branch_written.empty()) u.branch_written[slot] = true;  // a parallel branch hands it back
        saved = &u.variables[slot];
        // scope workbook: the body is also the entry's registers.<name>.
        const auto& wb_fields = script_.variable_workbook_field;
        if (slot < wb_fields.size() && wb_fields[slot] != UINT32_MAX) {
            std::string_view body;
            for (const auto& [k, v] : *saved)
                if (k == "body") body = v;
            u.shard.workbook_set(u, wb_fields[slot], body);
        }
    }
    if (!a.persist || !saved) return;
    // persist: the saved fields as one JSON object, in a file named by the user's context.
    std::string name, error;
    if (!a.persist->filename.render(u, name, error)) {
        sched.persister().fail(fmt::format("action '{}': persist filename: {}", a.name, error));
        return;
    }
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos || name.find('\0') != std::string::npos) {
        sched.persister().fail(fmt::format("action '{}': persist filename '{}' is not a bare file name", a.name, name));
        return;
    }
    boost::json::object o;
    for (const auto& [k, v] : *saved) o[k] = masker_.masks(k) && !v.empty() ? std::string_view("***") : std::string_view(v);
    std::filesystem::path dir = a.persist->dir.is_absolute() ? a.persist->dir : sched.persist_base() / a.persist->dir;
    sched.persister().write(dir / name, boost::json::serialize(o));
}

void ProtocolFrame::cancel(User& u, Outcome outcome, ntx_status_t code, std::string_view reason) {
    ntx_action& handle = u.handle();
    if (!handle.live) return;
    end(handle, outcome, code, reason, nullptr);
    uint32_t component = script_.actions[u.action].component;
    Component& c = components_[component];
    c.plugin->api.on_error(c.state, &handle, &u.plugin_slots[component], code, {reason.data(), reason.size()});
}

bool ProtocolFrame::owns_loop(const ntx_loop_t* loop) const {
    for (const net::Loop* l : loops_)
        if (reinterpret_cast<const ntx_loop_t*>(l) == loop) return true;
    return false;
}

void ProtocolFrame::detach_loops() { loops_.clear(); }

void ProtocolFrame::release_user(User& u) {
    for (uint32_t i = 0; i < u.plugin_slots.size(); ++i) {
        void*& slot = u.plugin_slots[i];
        if (!slot) continue;
        Component& c = components_[i];
        if (c.plugin && c.plugin->api.user_release) c.plugin->api.user_release(c.state, u.user_id, slot);
        slot = nullptr;
    }
}

}  // namespace ntx::frame
