// Per-shard counters of one scenario x action; merged across shards at closing (no shared atomics
// on the hot path).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "frame/action_sink.hpp"
#include "ntx/plugin_abi.h"
#include "report/latency_histogram.hpp"

namespace ntx::scheduler {

using Outcome = frame::Outcome;  // frame/action_sink.hpp: ok, error, timeout, cancelled

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
    report::LatencyHistogram latency;  // of ok actions

    void count_status(uint32_t status) {
        if (status >= 100 && status < 600) ++status_classes[status / 100 - 1];
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
    }
};

// Counts over time are kept in 100 ms buckets for the first hour of a run.
constexpr uint64_t kTimelineBucketMs = 100;
constexpr size_t kTimelineBuckets = 36'000;

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
    std::vector<uint32_t> started_per_bucket;             // users started per 100 ms
    std::vector<uint32_t> online_per_bucket;              // peak online per 100 ms (sampled by shard 0)

    static void bump(std::vector<uint32_t>& v, uint64_t now_ms, uint32_t value, bool max) {
        size_t b = static_cast<size_t>(now_ms / kTimelineBucketMs);
        if (b >= kTimelineBuckets) return;
        if (v.size() <= b) v.resize(b + 1, 0);
        v[b] = max ? std::max(v[b], value) : v[b] + value;
    }
};

}  // namespace ntx::scheduler
