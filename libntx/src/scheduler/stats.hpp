// Per-shard counters of one scenario x action; merged across shards at closing (no shared atomics
// on the hot path).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "ntx/plugin_abi.h"
#include "report/latency_histogram.hpp"

namespace ntx::scheduler {

enum class Outcome : uint8_t { ok, error, timeout, cancelled };

struct ActionStats {
    uint64_t ok = 0, errors = 0, timeouts = 0, cancelled = 0;
    uint64_t retries = 0;    // failed attempts that were retried (each also counted in errors)
    uint64_t throttled = 0;  // starts delayed by the per-user rate limit
    uint64_t dynamic = 0;    // runs by dynamic tasks (origin=dynamic; also counted in the outcomes)
    uint64_t bytes_sent = 0, bytes_received = 0;
    std::vector<std::pair<ntx_status_t, uint64_t>> errors_by_code;
    // Ended actions whose result carried a protocol status (ntx_result_t.status, ABI 1.1), by class:
    // [0] 1xx ... [4] 5xx. Statuses outside 100..599 are not counted here.
    std::array<uint64_t, 5> status_classes{};
    report::LatencyHistogram latency;  // of ok actions

    void count_status(uint32_t status) {
        if (status >= 100 && status < 600) ++status_classes[status / 100 - 1];
    }

    void count_error(ntx_status_t code) {
        ++errors;
        for (auto& [c, n] : errors_by_code)
            if (c == code) {
                ++n;
                return;
            }
        errors_by_code.emplace_back(code, 1);
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
        for (auto& [code, n] : o.errors_by_code) {
            bool found = false;
            for (auto& [c, m] : errors_by_code)
                if (c == code) {
                    m += n;
                    found = true;
                }
            if (!found) errors_by_code.emplace_back(code, n);
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
    uint64_t condition_errors = 0;  // conditions (if, loop while) that could not be evaluated
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
