// The scheduler's side of an action: rendering what the frame dispatches, and the frame's ActionSink,
// where an action's end is counted (ActionStats), its result saved (save-as: the user's variables, the
// run-wide globals, the workbook, persist files), and its user continued on the loop's next turn.
#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>

#include "frame/protocol_frame.hpp"
#include "scheduler/scheduler.hpp"
#include "scheduler/shard.hpp"

namespace ntx::scheduler {

void Shard::dispatch(User& u, uint32_t action) {
    const dsl::ActionSpec& a = scheduler_.script().actions[action];
    auto& frame = scheduler_.frame();
    frame::DispatchRequest rq;
    rq.action = action;
    rq.task_id = u.task_id;
    rq.started = u.intended_start ? *u.intended_start : net::RunClock::now();
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
        if (!a.with[i].second.render(u, value, error)) return frame.fail(u.slot, rq, NTX_E_INVALID, error);
        u.params[i] = ntx_kv_t{{a.with[i].first.data(), a.with[i].first.size()}, {value.data(), value.size()}};
    }
    if (u.dynamic) {
        ++action_stats(u.scenario, action).dynamic;
        // Overrides the template does not name are added (an ad-hoc task's whole `with`).
        for (const auto& [key, value] : u.overrides)
            if (std::none_of(a.with.begin(), a.with.end(), [&](const auto& w) { return w.first == key; }))
                u.params.push_back(ntx_kv_t{{key.data(), key.size()}, {value.data(), value.size()}});
    }
    rq.params = u.params.data();
    rq.param_count = u.params.size();
    u.activity = Activity::action;
    frame.dispatch(u.slot, rq);
}

void Shard::action_ended(const frame::ActionEnd& e) {
    User& u = *static_cast<User*>(e.owner);
    const dsl::ActionSpec& a = scheduler_.script().actions[e.action];
    ActionStats& st = action_stats(u.scenario, e.action);
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(e.elapsed).count();
    u.last_elapsed_us = static_cast<uint32_t>(std::clamp<int64_t>(us, 0, UINT32_MAX));
    switch (e.outcome) {
    case Outcome::ok:
        ++st.ok;
        st.latency.record(static_cast<uint64_t>(std::max<int64_t>(us, 0)));
        break;
    case Outcome::error: {
        const auto& masker = scheduler_.frame().masker();
        st.count_error(e.code, scheduler_.now_ms(), u.user_id, u.task_id, [&] {
            std::string r = masker.empty() ? std::string(e.reason) : masker.mask(e.reason);
            return r.empty() ? std::string(frame::status_kind(e.code)) : r;
        });
        break;
    }
    case Outcome::timeout: ++st.timeouts; break;
    case Outcome::cancelled: ++st.cancelled; break;
    }
    // A plugin's result is read only as far as its size says, and fields only when they exist.
    const ntx_result_t* result = e.result;
    if (result && NTX_HAS_MEMBER(result, ntx_result_t, field_count)) {
        if (NTX_HAS_MEMBER(result, ntx_result_t, bytes_received)) {
            st.bytes_sent += result->bytes_sent;
            st.bytes_received += result->bytes_received;
        }
        if (NTX_HAS_MEMBER(result, ntx_result_t, status)) st.count_status(result->status);
        // save-as keeps what the plugin reported on failures too (an HTTP 503's status and body).
        if ((e.outcome == Outcome::ok || e.outcome == Outcome::error) && a.save_slot && result->field_count && result->fields)
            save_result(u, a, *result);
    }
    continue_later(u, e.outcome);
}

void Shard::save_result(User& u, const dsl::ActionSpec& a, const ntx_result_t& result) {
    const auto& script = scheduler_.script();
    const uint32_t slot = *a.save_slot;
    auto copy_into = [&](dsl::Fields& fields) {  // reuses the strings' capacity
        fields.resize(result.field_count);
        for (size_t i = 0; i < result.field_count; ++i) {
            const ntx_kv_t& kv = result.fields[i];
            fields[i].first.assign(kv.key.ptr ? kv.key.ptr : "", kv.key.len);
            fields[i].second.assign(kv.value.ptr ? kv.value.ptr : "", kv.value.len);
        }
    };
    const dsl::Fields* saved;
    if (script.variable_scopes[slot] == dsl::VarScope::global) {
        dsl::Fields fields;
        copy_into(fields);
        scheduler_.globals().store(slot, std::move(fields));
        saved = u.variable(slot);
    } else {
        copy_into(u.variables[slot]);
        u.variable_set[slot] = true;
        if (!u.branch_written.empty()) u.branch_written[slot] = true;  // a parallel branch hands it back
        saved = &u.variables[slot];
        // scope workbook: the body is also the entry's registers.<name>.
        const auto& wb_fields = script.variable_workbook_field;
        if (slot < wb_fields.size() && wb_fields[slot] != UINT32_MAX) {
            std::string_view body;
            for (const auto& [k, v] : *saved)
                if (k == "body") body = v;
            workbook_set(u, wb_fields[slot], body);
        }
    }
    if (!a.persist || !saved) return;
    // persist: the saved fields as one JSON object, in a file named by the user's context.
    auto& persister = scheduler_.persister();
    std::string name, error;
    if (!a.persist->filename.render(u, name, error)) {
        persister.fail(fmt::format("action '{}': persist filename: {}", a.name, error));
        return;
    }
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos || name.find('\0') != std::string::npos) {
        persister.fail(fmt::format("action '{}': persist filename '{}' is not a bare file name", a.name, name));
        return;
    }
    const auto& masker = scheduler_.frame().masker();
    boost::json::object o;
    // A masked key is *** whole; any other value is masked inside (a url's ?password=, a body's "token": ...).
    for (const auto& [k, v] : *saved) {
        if (masker.masks(k) && !v.empty()) o[k] = "***";
        else o[k] = masker.empty() ? v : masker.mask(v);
    }
    std::filesystem::path dir = a.persist->dir.is_absolute() ? a.persist->dir : scheduler_.persist_base() / a.persist->dir;
    persister.write(dir / name, boost::json::serialize(o));
}

ntx_status_t Shard::request_task(void* owner, uint32_t action, std::vector<std::pair<std::string, std::string>> overrides,
                                 uint64_t& task_id) {
    return request_dynamic_task(*static_cast<User*>(owner), action, std::move(overrides), task_id);
}

void Shard::plugin_progress(void* owner, uint32_t component, const ntx_progress_t& p) {
    push_plugin_progress(*static_cast<User*>(owner), component, p);
}

}  // namespace ntx::scheduler
