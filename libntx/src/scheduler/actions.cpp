// The scheduler's side of an action: rendering what the frame dispatches, and the frame's ActionSink,
// where an action's end is counted (ActionStats), its result saved (save-as: the user's variables, the
// run-wide globals, the workbook, persist files), and its user continued on the loop's next turn.
#include <boost/json.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

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
    u.param_flags.assign(n, 0);
    bool shared = false;
    const auto& constants = scheduler_.script().constants;
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
        // `{{blob.x}}` as the whole value: the blob's own bytes (one buffer for every user, immutable
        // for the run), not a copy per user.
        if (const dsl::TemplatePart* part = a.with[i].second.single_variable();
            part && part->slot < constants.size() && constants[part->slot]) {
            const auto& fields = *constants[part->slot];
            auto f = std::find_if(fields.begin(), fields.end(), [&](const auto& kv) { return kv.first == part->text; });
            if (f != fields.end()) {
                u.params[i] = ntx_kv_t{{a.with[i].first.data(), a.with[i].first.size()}, {f->second.data(), f->second.size()}};
                u.param_flags[i] = NTX_PARAM_SHARED;
                shared = true;
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
    u.param_flags.resize(u.params.size(), 0);
    rq.params = u.params.data();
    rq.param_count = u.params.size();
    rq.param_flags = shared ? u.param_flags.data() : nullptr;
    u.activity = Activity::action;
    frame.dispatch(u.slot, rq);
}

void Shard::action_ended(const frame::ActionEnd& e) {
    User& u = *static_cast<User*>(e.owner);
    const dsl::ActionSpec& a = scheduler_.script().actions[e.action];
    ActionStats& st = action_stats(u.scenario, e.action);
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(e.elapsed).count();
    u.last_elapsed_us = static_cast<uint32_t>(std::clamp<int64_t>(us, 0, UINT32_MAX));
    // What the result says may turn an ok action into a failed one (an extract that found nothing).
    Outcome outcome = e.outcome;
    ntx_status_t code = e.code;
    ExtractMiss miss;
    uint32_t unexpected_status = 0;  // expect-status turned it into an error
    // A plugin's result is read only as far as its size says, and fields only when they exist.
    const ntx_result_t* result = e.result;
    if (result && NTX_HAS_MEMBER(result, ntx_result_t, field_count)) {
        if (NTX_HAS_MEMBER(result, ntx_result_t, bytes_received)) {
            st.bytes_sent += result->bytes_sent;
            st.bytes_received += result->bytes_received;
        }
        if (NTX_HAS_MEMBER(result, ntx_result_t, foreign_bytes_received)) {  // 1.6
            if (result->protocol.ptr) st.count_protocol(std::string_view(result->protocol.ptr, result->protocol.len));
            // Bytes on the plugin's own sockets join the loop's socket totals (this shard's loop thread).
            loop_.bytes_sent += result->foreign_bytes_sent;
            loop_.bytes_received += result->foreign_bytes_received;
        }
        if (NTX_HAS_MEMBER(result, ntx_result_t, status)) {
            st.count_status(result->status);
            // expect-status decides which answers count as success, both ways (a 404 may be ok, a 200 not).
            if (!a.expect_status.empty() && result->status &&
                (outcome == Outcome::ok || (outcome == Outcome::error && code == NTX_E_STATUS))) {
                bool expected = std::find(a.expect_status.begin(), a.expect_status.end(), result->status) != a.expect_status.end();
                outcome = expected ? Outcome::ok : Outcome::error;
                code = expected ? NTX_OK : NTX_E_STATUS;
                unexpected_status = expected ? 0 : result->status;
            }
        }
        // save-as keeps what the plugin reported on failures too (an HTTP 503's status and body).
        if ((outcome == Outcome::ok || outcome == Outcome::error) && a.save_slot && result->field_count && result->fields)
            miss = save_result(u, a, *result);
        if (miss && outcome == Outcome::ok) {
            outcome = Outcome::error;
            code = metrics::kErrorExtract;
        }
    }
    if (!a.checks.empty() && outcome != Outcome::cancelled && !run_checks(u, a, e.result, outcome == Outcome::timeout, st) &&
        a.check_fails_action && outcome == Outcome::ok) {
        outcome = Outcome::error;
        code = metrics::kErrorCheck;
    }
    const uint64_t latency_us = static_cast<uint64_t>(std::max<int64_t>(us, 0));
    switch (outcome) {
    case Outcome::ok:
        ++st.ok;
        st.latency.record(latency_us);
        break;
    case Outcome::error: {
        st.latency_failed.record(latency_us);
        const auto& masker = scheduler_.frame().masker();
        st.count_error(code, scheduler_.now_ms(), u.user_id, u.task_id, [&] {
            std::string why = code == metrics::kErrorExtract ? miss.describe()
                              : code == metrics::kErrorCheck ? fmt::format("check failed: {}", first_failed_check_->expr.source())
                              : unexpected_status ? fmt::format("status {} is not among expect-status [{}]", unexpected_status,
                                                                fmt::join(a.expect_status, ", "))
                                                  : std::string(e.reason);
            std::string r = masker.empty() ? why : masker.mask(why);
            return r.empty() ? std::string(metrics::error_kind(code)) : r;
        });
        break;
    }
    case Outcome::timeout:
        ++st.timeouts;
        st.latency_failed.record(latency_us);
        break;
    case Outcome::cancelled: ++st.cancelled; break;
    }
    continue_later(u, outcome);
}

// Each check of `a` over its result (`status`, `body`...) and the user's variables: counted pass or
// fail. Without a result (a connection refused, a timeout) every check fails: what it asks never held.
bool Shard::run_checks(User& u, const dsl::ActionSpec& a, const ntx_result_t* result, bool timed_out, ActionStats& st) {
    if (st.checks.size() < a.checks.size()) st.checks.resize(a.checks.size());
    const dsl::Fields* fields = nullptr;
    if (!timed_out && result && NTX_HAS_MEMBER(result, ntx_result_t, field_count) && result->fields) {
        if (a.save_slot && (fields = u.variable(*a.save_slot)) != nullptr) {
            // save-as copied them already (after its extracted values, which a check may read too).
        } else {
            dsl::Fields& f = u.result_scratch;  // reuses the strings' capacity
            f.resize(result->field_count);
            for (size_t i = 0; i < result->field_count; ++i) {
                const ntx_kv_t& kv = result->fields[i];
                f[i].first.assign(kv.key.ptr ? kv.key.ptr : "", kv.key.len);
                f[i].second.assign(kv.value.ptr ? kv.value.ptr : "", kv.value.len);
            }
            fields = &f;
        }
    }
    bool all = true;
    u.current_result = fields;
    for (size_t i = 0; i < a.checks.size(); ++i) {
        bool holds = false;
        if (fields) {
            dsl::Value v;
            check_error_.clear();
            holds = a.checks[i].expr.eval(u, v, check_error_) && v.truthy();
        }
        if (holds) {
            ++st.checks[i].pass;
            continue;
        }
        ++st.checks[i].fail;
        if (all) first_failed_check_ = &a.checks[i];
        all = false;
    }
    u.current_result = nullptr;
    return all;
}

ExtractMiss Shard::save_result(User& u, const dsl::ActionSpec& a, const ntx_result_t& result) {
    const auto& script = scheduler_.script();
    const uint32_t slot = *a.save_slot;
    ExtractMiss miss;
    // The extracted values first (a name of the plugin's fields is hidden by an extract of that name),
    // then the plugin's fields. Reuses the strings' capacity.
    auto copy_into = [&](dsl::Fields& fields) {
        const size_t x = a.extracts.size();
        fields.resize(x + result.field_count);
        if (x) miss = extractor_.run(a, result, fields);
        for (size_t i = 0; i < result.field_count; ++i) {
            const ntx_kv_t& kv = result.fields[i];
            fields[x + i].first.assign(kv.key.ptr ? kv.key.ptr : "", kv.key.len);
            fields[x + i].second.assign(kv.value.ptr ? kv.value.ptr : "", kv.value.len);
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
    if (!a.persist || !saved) return miss;
    // persist: the saved fields as one JSON object, in a file named by the user's context.
    auto& persister = scheduler_.persister();
    std::string name, error;
    if (!a.persist->filename.render(u, name, error)) {
        persister.fail(fmt::format("action '{}': persist filename: {}", a.name, error));
        return miss;
    }
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos || name.find('\0') != std::string::npos) {
        persister.fail(fmt::format("action '{}': persist filename '{}' is not a bare file name", a.name, name));
        return miss;
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
    return miss;
}

ntx_status_t Shard::request_task(void* owner, uint32_t action, std::vector<std::pair<std::string, std::string>> overrides,
                                 uint64_t& task_id) {
    return request_dynamic_task(*static_cast<User*>(owner), action, std::move(overrides), task_id);
}

void Shard::plugin_progress(void* owner, uint32_t component, const ntx_progress_t& p) {
    push_plugin_progress(*static_cast<User*>(owner), component, p);
}

}  // namespace ntx::scheduler
