// The run's counters, per shard (no shared atomics on the hot path) and merged: one scenario x
// action (ActionStats), one scenario (ScenarioStats). The scheduler counts into them; the live
// readers and the report read merged copies (metrics/snapshot.hpp).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "metrics/latency_histogram.hpp"
#include "metrics/timeline.hpp"
#include "ntx/plugin_abi.h"
#include "ntx/status.hpp"

namespace ntx::metrics {

// Error kinds the host counts on its own, beside the plugins' status codes (below every ABI code,
// which grow downwards from -1 by appending: these never meet them).
inline constexpr ntx_status_t kErrorExtract = -1000;  // save-as extract found nothing (and had no default)
inline constexpr ntx_status_t kErrorCheck = -1001;    // a check failed on an action with check-fails-action

// The kind a report counts an error by: the host's own kinds, else the status code's (ntx/status.hpp).
constexpr const char* error_kind(ntx_status_t code) noexcept {
    if (code == kErrorExtract) return "extract";
    if (code == kErrorCheck) return "check";
    return ntx::status_kind(code);
}

// The errors of one kind (status code) an action ended with, and the first of them: its reason and
// whose task it was, so that a summary can say why without a debug log. The reason is copied once per
// kind and shard (the first time the kind is seen), never per request.
struct ErrorKind {
    ntx_status_t code = NTX_OK;
    uint64_t n = 0;
    std::string first_reason;     // masked by log.mask, at most kMaxReason bytes
    uint64_t first_at_ms = 0;     // run time at which it ended
    uint64_t first_user = 0, first_task = 0;

    static constexpr size_t kMaxReason = 400;
};

struct ActionStats {
    uint64_t ok = 0, errors = 0, timeouts = 0, cancelled = 0;
    uint64_t retries = 0;    // failed attempts that were retried (each also counted in errors)
    uint64_t throttled = 0;  // starts delayed by the per-user rate limit
    uint64_t dynamic = 0;    // runs by dynamic tasks (origin=dynamic; also counted in the outcomes)
    uint64_t bytes_sent = 0, bytes_received = 0;
    std::vector<ErrorKind> errors_by_code;  // in the order the kinds were first seen
    // Ended actions whose result carried a protocol status (ntx_result_t.status, ABI 1.1), by class:
    // [0] 1xx ... [4] 5xx. Statuses outside 100..599 are not counted here.
    std::array<uint64_t, 5> status_classes{};
    // Ended actions by the protocol their result named (ntx_result_t.protocol, ABI 1.6), in the order
    // first seen. A plugin names a handful; past kMaxProtocols distinct names the rest count as
    // "other", so memory never grows with what a plugin invents. The name is copied once per shard.
    std::vector<std::pair<std::string, uint64_t>> protocols;
    static constexpr size_t kMaxProtocols = 8;
    LatencyHistogram latency;         // of ok actions
    LatencyHistogram latency_failed;  // of failed and timed-out ones (kept apart: a fast 503 must not flatter p99)
    // Per entry of the action's check list: how often it held and how often not (sized on first use).
    struct CheckCount {
        uint64_t pass = 0, fail = 0;
    };
    std::vector<CheckCount> checks;

    void count_status(uint32_t status) {
        if (status >= 100 && status < 600) ++status_classes[status / 100 - 1];
    }

    void count_protocol(std::string_view name, uint64_t n = 1) {
        if (name.empty()) return;
        if (protocols.size() >= kMaxProtocols) {
            auto known = std::find_if(protocols.begin(), protocols.end(), [&](const auto& p) { return p.first == name; });
            if (known == protocols.end()) name = "other";
        }
        for (auto& [p, count] : protocols)
            if (p == name) {
                count += n;
                return;
            }
        protocols.emplace_back(std::string(name.substr(0, 32)), n);
    }

    // Counts an error of kind `code`; the first one of its kind keeps `reason()` (called only then).
    template <class Reason>
    void count_error(ntx_status_t code, uint64_t at_ms, uint64_t user, uint64_t task, Reason&& reason) {
        ++errors;
        for (auto& k : errors_by_code)
            if (k.code == code) {
                ++k.n;
                return;
            }
        ErrorKind& k = errors_by_code.emplace_back();
        k.code = code;
        k.n = 1;
        k.first_reason = reason();
        if (k.first_reason.size() > ErrorKind::kMaxReason) {
            size_t cut = ErrorKind::kMaxReason;  // not inside a UTF-8 sequence
            while (cut > 0 && (static_cast<unsigned char>(k.first_reason[cut]) & 0xC0) == 0x80) --cut;
            k.first_reason.resize(cut);
            k.first_reason += "...";
        }
        k.first_at_ms = at_ms;
        k.first_user = user;
        k.first_task = task;
    }
    void merge(const ActionStats& o) {
        ok += o.ok;
        errors += o.errors;
        timeouts += o.timeouts;
        cancelled += o.cancelled;
        retries += o.retries;
        throttled += o.throttled;
        dynamic += o.dynamic;
        bytes_sent += o.bytes_sent;
        bytes_received += o.bytes_received;
        for (size_t i = 0; i < status_classes.size(); ++i) status_classes[i] += o.status_classes[i];
        for (const auto& [p, n] : o.protocols) count_protocol(p, n);
        for (const ErrorKind& k : o.errors_by_code) {
            auto it = std::find_if(errors_by_code.begin(), errors_by_code.end(),
                                   [&](const ErrorKind& m) { return m.code == k.code; });
            if (it == errors_by_code.end()) {
                errors_by_code.push_back(k);
                continue;
            }
            it->n += k.n;
            // The earliest first: shards are merged in their order, not in time.
            if (!k.first_reason.empty() && (it->first_reason.empty() || k.first_at_ms < it->first_at_ms)) {
                it->first_reason = k.first_reason;
                it->first_at_ms = k.first_at_ms;
                it->first_user = k.first_user;
                it->first_task = k.first_task;
            }
        }
        latency.merge(o.latency);
        latency_failed.merge(o.latency_failed);
        if (checks.size() < o.checks.size()) checks.resize(o.checks.size());
        for (size_t i = 0; i < o.checks.size(); ++i) {
            checks[i].pass += o.checks[i].pass;
            checks[i].fail += o.checks[i].fail;
        }
    }
};

struct ScenarioStats {
    uint64_t spawned = 0, completed = 0, stopped = 0, tasks = 0;
    uint64_t exit_timeout = 0, exit_error = 0, exit_closing = 0;
    uint64_t exit_rollback = 0;   // tasks rolled back (goto: closing.rollback)
    uint64_t exit_stop_user = 0;  // users stopped by a handler (stop: user)
    uint64_t task_retries = 0;    // task restarts by goto: monitoring.retry
    // Conditions (if, loop while) and update-workbook values that could not be evaluated, and
    // workflows that spun without an action; the first of them, with its user, task and run time.
    uint64_t condition_errors = 0;
    std::string condition_error_first;
    uint64_t condition_error_first_at_ms = 0;
    uint64_t resource_wait_timeouts = 0;  // users that gave up waiting for a resource lease
    // Dynamic tasks requested by plugins from this scenario's actions.
    uint64_t dynamic_requested = 0, dynamic_started = 0, dynamic_refused = 0, dynamic_ended = 0;
    uint64_t arrivals_started = 0, arrivals_dropped = 0;  // open model
    Timeline started_per_bucket;  // users started per bucket (100 ms wide at first)
    Timeline online_per_bucket;   // peak online per bucket (sampled by shard 0)
    // Task durations (a workflow's transaction time, from its start to its end; a restarted task from
    // its first start): of the tasks that ran to their end (or goto: closing), and of the failed ones.
    LatencyHistogram task_duration, task_failed_duration;

    static void bump(Timeline& t, uint64_t now_ms, uint32_t value, bool max) { t.add(now_ms, value, max); }

    // Calls op(to, from) on each counter of `to` and `from` (not the first condition error, not the
    // timelines).
    template <class Op>
    static void each_counter(ScenarioStats& to, const ScenarioStats& from, Op op) {
        op(to.spawned, from.spawned);
        op(to.completed, from.completed);
        op(to.stopped, from.stopped);
        op(to.tasks, from.tasks);
        op(to.exit_timeout, from.exit_timeout);
        op(to.exit_error, from.exit_error);
        op(to.exit_closing, from.exit_closing);
        op(to.exit_rollback, from.exit_rollback);
        op(to.exit_stop_user, from.exit_stop_user);
        op(to.task_retries, from.task_retries);
        op(to.condition_errors, from.condition_errors);
        op(to.resource_wait_timeouts, from.resource_wait_timeouts);
        op(to.dynamic_requested, from.dynamic_requested);
        op(to.dynamic_started, from.dynamic_started);
        op(to.dynamic_refused, from.dynamic_refused);
        op(to.dynamic_ended, from.dynamic_ended);
        op(to.arrivals_started, from.arrivals_started);
        op(to.arrivals_dropped, from.arrivals_dropped);
    }

    // Everything but the timelines, as `o` holds it (what live readers see: the timelines grow with
    // the run). Allocates only when the first condition error is new.
    void copy_counters(const ScenarioStats& o) {
        each_counter(*this, o, [](uint64_t& to, uint64_t from) { to = from; });
        if (condition_error_first != o.condition_error_first) condition_error_first = o.condition_error_first;
        condition_error_first_at_ms = o.condition_error_first_at_ms;
        task_duration = o.task_duration;  // fixed size: a copy, no allocation
        task_failed_duration = o.task_failed_duration;
    }

    // Adds another shard's counters: counts add, the earliest first condition error is kept (shards
    // are merged in their order, not in time), timelines merge (sums add, peaks take the larger).
    void merge(const ScenarioStats& o) {
        each_counter(*this, o, [](uint64_t& to, uint64_t from) { to += from; });
        if (!o.condition_error_first.empty() &&
            (condition_error_first.empty() || o.condition_error_first_at_ms < condition_error_first_at_ms)) {
            condition_error_first = o.condition_error_first;
            condition_error_first_at_ms = o.condition_error_first_at_ms;
        }
        task_duration.merge(o.task_duration);
        task_failed_duration.merge(o.task_failed_duration);
        started_per_bucket.merge(o.started_per_bucket, false);
        online_per_bucket.merge(o.online_per_bucket, true);
    }
};

}  // namespace ntx::metrics
