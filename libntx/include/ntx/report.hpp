// Result value types of a run: what report.json holds, as C++ values a harness can read.
// Plain values: nothing here points into the run, so a Report stays valid after the run ended.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ntx/export.hpp"
#include "ntx/overrides.hpp"

NTX_BEGIN_NAMESPACE

// The latency histogram behind a LatencySummary, compact: report.json `latency_histogram`, what
// `ntx merge` adds up so that merged percentiles are those of the union (docs/report-format.md).
struct LatencyBuckets {
    uint64_t count = 0, sum_us = 0, min_us = 0, max_us = 0;
    // (bucket index, values in it): the log-linear buckets that hold any value, ascending.
    std::vector<std::pair<uint32_t, uint64_t>> buckets;
};

struct LatencySummary {
    double min_ms = 0, mean_ms = 0, p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
    double p95_ms = 0, p999_ms = 0;
    LatencyBuckets histogram;  // filled in a run's final report (empty in live summaries)
};

// One interval of a scenario's run (report.json `intervals`, the HTML report's charts): what ended in
// [t_s, t_s + interval) over all its actions, and the users online at its end. An action's intervals
// (ActionReport::intervals) are the same for that action alone (online is 0 there).
struct IntervalStats {
    double t_s = 0;
    uint64_t ok = 0, errors = 0, timeouts = 0;
    double p50_ms = 0, p99_ms = 0;  // latency of the ok actions that ended in the interval
    uint64_t online = 0;
    double p95_ms = 0;
    std::vector<std::pair<std::string, uint64_t>> errors_by_kind;  // of `errors`, by kind (actions only)
};

// One threshold of script.yaml, evaluated.
struct ThresholdResult {
    std::string expression;  // as written, e.g. "http.probe-get.p99 < 300ms"
    std::string metric;      // the metric path, e.g. "http.probe-get.p99"
    std::string op;          // <, <=, >, >=, ==, !=
    double limit = 0;        // in `unit`
    double actual = 0;       // in `unit`
    std::string unit;        // "ms", "ratio" (0.01 = 1%), "per_s" or "count"
    bool passed = false;
    bool abort_on_fail = false;
    std::string file;        // where it is written
    int line = 0;
};

// The first error of one kind an action ended with: why, and whose task it was (the workbook entry
// of that user and task holds the rest). report.json `error_examples`.
struct ErrorExample {
    std::string kind;    // as in errors_by_kind: "invalid", "connect", ...
    std::string reason;  // the plugin's or the host's message (log.mask applied)
    uint64_t user = 0;
    uint64_t task = 0;
    double at_s = 0;     // run time at which the action ended
};

struct ActionReport {
    std::string name;       // the script's action name
    std::string component;  // component name
    std::string call;       // capability called
    uint64_t count = 0;     // ended actions = ok + errors + timeouts + cancelled
    uint64_t ok = 0;
    uint64_t errors = 0;
    uint64_t timeouts = 0;
    uint64_t cancelled = 0;
    uint64_t retries = 0;    // failed attempts that were retried (each is also one of `errors`)
    uint64_t throttled = 0;  // starts the per-user rate limit delayed
    uint64_t dynamic = 0;    // runs started by dynamic tasks (origin=dynamic), part of `count`
    bool ad_hoc = false;     // an ad-hoc call of a dynamic task (no action of the script)
    uint64_t bytes_sent = 0;
    uint64_t bytes_received = 0;
    std::vector<std::pair<std::string, uint64_t>> errors_by_kind;  // e.g. {"connect", 3}
    std::vector<ErrorExample> error_examples;  // the first error of each kind in errors_by_kind
    // Ended actions by the class of the protocol status they ended with (HTTP 204 -> "2xx"), in class
    // order, classes with a zero count left out; actions that ended without a status are not in it.
    std::vector<std::pair<std::string, uint64_t>> status_classes;  // e.g. {"2xx", 97}, {"5xx", 3}
    std::vector<std::pair<std::string, uint64_t>> protocols;       // ended actions by protocol (ABI 1.6), e.g. {"h2", 100}
    LatencySummary latency;         // of the ok actions
    LatencySummary latency_failed;  // of the failed and timed-out ones (report.json latency_failed_ms)
    // Each entry of the action's check list, as written, and how often it held (report.json `checks`).
    struct Check {
        std::string check;
        uint64_t pass = 0, fail = 0;
    };
    std::vector<Check> checks;
    // The latency distribution of the ok actions: (upper edge in ms, count) per bucket, 8 buckets per
    // power of two, empty buckets left out (report.json `latency_histogram`).
    std::vector<std::pair<double, uint64_t>> latency_buckets;
    // Over time, Report::interval_ms wide (final report only; report.json `intervals` of the action).
    std::vector<IntervalStats> intervals;
};

// A pair_pool's leases over the run (report.json `resources.pools`).
struct PoolReport {
    std::string name;
    std::string guard;     // exclusive | shared
    std::string strategy;  // round-robin | least-used
    uint64_t items = 0;
    uint64_t ttl_ms = 0;   // 0 = the user's life
    bool auto_renew = false;
    uint64_t acquired = 0, released = 0, renewed = 0;
    uint64_t expired = 0;      // given back at a task boundary because the ttl passed
    uint64_t evicted = 0;      // given back at a task boundary because the item was down
    uint64_t rolled_back = 0;  // tasks rolled back because their item went down (on-failure: rollback)
    uint64_t peak_held = 0;
    uint64_t held_at_end = 0;  // leases not released when the run ended: a leak (must be 0)
    uint64_t waits = 0;        // users that found the pool dry and waited
    uint64_t wait_timeouts = 0;  // of them, those that gave up
    double wait_p50_ms = 0, wait_p99_ms = 0, wait_max_ms = 0;
    // health-check (all 0 without one)
    bool health_check = false;
    std::string on_failure;   // evict | rollback | ignore
    uint64_t probe_rounds = 0, probes = 0, probe_failures = 0;
    uint64_t downs = 0, recoveries = 0, down_at_end = 0;
};

struct BlobReport {
    std::string name, file, sha256;
    uint64_t size = 0;
    std::string checksum;  // "verified" (a given sha256 matched) or "auto" (computed and recorded)
};

struct KvStoreReport {
    std::string name, source;  // the manifest, or "inline"
    uint64_t keys = 0;
};

struct ResourcesReport {
    std::vector<PoolReport> pools;
    std::vector<BlobReport> blobs;
    std::vector<KvStoreReport> kv_stores;
    uint64_t leases_leaked = 0;     // sum of the pools' held_at_end: a run with leaks fails (exit 3)
    std::string lease_trail;        // the leases.jsonl written, if any
};

struct ScenarioReport {
    std::string name;
    std::string workflow;
    std::string model = "closed";
    uint64_t spawned = 0;
    uint64_t peak_online = 0;
    uint64_t completed = 0;       // users that ended every task without an exit
    uint64_t tasks = 0;           // tasks started
    uint64_t exit_timeout = 0;    // tasks routed to timeout_out
    uint64_t exit_error = 0;      // tasks routed to error_out
    uint64_t exit_closing = 0;    // tasks whose on-error said goto closing (the user ended)
    uint64_t exit_rollback = 0;   // tasks rolled back (goto: closing.rollback)
    uint64_t exit_stop_user = 0;  // users a handler stopped (stop: user)
    uint64_t task_retries = 0;    // task restarts (goto: monitoring.retry)
    // Conditions (if, loop while) and update-workbook values that could not be evaluated, and
    // workflows that ran 100,000 steps without an action; the first of them: why, and whose task.
    uint64_t condition_errors = 0;
    std::string condition_error_example;
    uint64_t resource_wait_timeouts = 0;  // users that gave up waiting for a resource lease (they left)
    // Dynamic tasks plugins requested from this scenario's actions: started, refused (a limit or the
    // run ending), ended. Not part of `tasks`, `spawned` or the online counts.
    uint64_t dynamic_requested = 0, dynamic_started = 0, dynamic_refused = 0, dynamic_ended = 0;
    uint64_t stopped = 0;         // users ended by max-duration or a stop request
    // open model: arrivals the schedule planned, started, and dropped because max-users was reached
    uint64_t arrivals_planned = 0, arrivals_started = 0, arrivals_dropped = 0;
    double duration_s = 0;
    // Over time, in buckets from the run's start: users started, peak online. The buckets are
    // timeline_bucket_ms wide: 100 ms, doubled (adjacent buckets merged) each time a run outgrows
    // 2,000 of them (docs/reports.md); the names keep their first width.
    std::vector<uint32_t> started_per_100ms;
    std::vector<uint32_t> online_per_100ms;
    uint64_t timeline_bucket_ms = 100;
    std::vector<ActionReport> actions;
    LatencySummary latency;               // of every ok action of the scenario
    // Task durations (transaction time): of the tasks that ran to their end, of the failed ones.
    uint64_t tasks_ended_ok = 0, tasks_ended_failed = 0;
    LatencySummary task_duration, task_failed_duration;
    std::vector<IntervalStats> intervals;  // per Report::interval_ms, from the run's start
};

// A breach of the plugin contract the host caught and refused (docs/plugins.md, "The enforced
// contract"): how many of one kind one component's plugin committed.
struct PluginViolation {
    std::string component;  // the script's component name
    std::string plugin;     // the plugin's own name
    std::string kind;       // off_loop, stale_handle, double_completion, after_cancel, bad_result, bad_code, blocked_loop
    uint64_t count = 0;
};

// save-as persist: the files written during the run.
struct PersistReport {
    uint64_t files = 0, bytes = 0;
    uint64_t errors = 0;      // files that could not be written, or whose name did not render
    std::string first_error;  // the first of them, for the summary
};

// Prometheus remote write (`--out-stream prometheus-rw=URL`, config.yaml outputs): what reached the
// receiver and what did not. A receiver that is down, refuses or is slow never stalls the run: its
// pushes fail or are dropped from a bounded queue, and are counted here (report.json `remote_write`).
struct RemoteWriteReport {
    std::string url;                          // "" when the run pushed nowhere
    uint64_t requests = 0;                    // pushes the receiver accepted (2xx)
    uint64_t requests_failed = 0;             // pushes given up on (after their retries)
    uint64_t samples_sent = 0, samples_dropped = 0;  // failed, dropped from the full queue, or cut off at the end
    std::string last_error;                   // the last failure ("" when none)
};

// The workbook at closing (workbook.jsonl holds every entry): how many entries, by final state, and
// what the progress bus carried.
// One user x task of the workbook, as a line of workbook.jsonl holds it (docs/workbook.md): kept in
// the Report when RunOptions::keep_workbook asks for it. Values only.
struct WorkbookEntry {
    uint64_t user_id = 0, task_id = 0;
    std::string scenario;
    std::string state;           // phase.substate: "closing.done", "closing.timeout", ...
    std::string owner;           // "scenario/workflow"
    std::string current_action;  // the last action it ran ("" when none)
    uint32_t retry_left = 0;
    uint64_t start_at_ms = 0;    // run clock
    uint64_t timeout_at_ms = 0;  // run clock; 0 = no task deadline
    std::vector<std::string> scope_trace;  // program, scenario, workflow, task
    std::string last_event;      // evidence: "ok", "error", "timeout", "cancelled" ("" when none)
    double response_ms = 0;      // evidence: the last action's response time
    bool dynamic = false;        // a plugin's dynamic task
    // The script's own fields (section path -> value, defaults included; log.mask names written ***).
    std::vector<std::pair<std::string, std::string>> fields;

    // A field's value by section path ("telemetry.counters.success"), or nullptr.
    const std::string* field(std::string_view path) const {
        for (const auto& [k, v] : fields)
            if (k == path) return &v;
        return nullptr;
    }
};

struct WorkbookSummary {
    uint64_t entries = 0;            // user x task entries of the whole run (open or finished)
    std::vector<std::pair<std::string, uint64_t>> by_state;  // "closing.done" -> count, in state order
    uint64_t memory_bytes = 0;       // the ledger's size in memory at the end (running tasks only)
    std::string snapshot;            // the snapshot's file name in the output folder ("" when none written)
    // Retention (RunOptions::workbook_retention): how it reads ("failed + every 100th, at most
    // 100000"), the finished entries it kept (written to the snapshot), those it did not keep, those it
    // chose past its limit (counted in not_kept too), and kept ones lost (a writer far behind, a full disk).
    std::string retention;
    uint64_t kept = 0, not_kept = 0, over_limit = 0, dropped = 0;
    uint64_t snapshot_bytes = 0;     // the snapshot's size on disk
    uint64_t rows_dropped = 0;       // kept entries past RunOptions::keep_workbook_max (not in rows)
    uint64_t stream_events = 0, stream_batches = 0, stream_dropped = 0, stream_max_batch = 0;
    // The kept entries, ordered by user and task, when RunOptions::keep_workbook was set (else empty).
    std::vector<WorkbookEntry> rows;

    // The entries of one user, in task order.
    std::vector<const WorkbookEntry*> of_user(uint64_t user_id) const {
        std::vector<const WorkbookEntry*> out;
        for (const auto& e : rows)
            if (e.user_id == user_id) out.push_back(&e);
        return out;
    }
};

// A plugin a run loaded: `ntx merge` refuses reports of instances that ran different versions.
struct PluginVersion {
    std::string component;  // the script's component name
    std::string name;       // the plugin's own name
    std::string version;
};

// A workflow's tasks over every scenario that runs it (report.json `workflows`; `<workflow>.task.p95`).
struct WorkflowReport {
    std::string name;
    uint64_t tasks_ok = 0, tasks_failed = 0;
    LatencySummary task_duration, task_failed_duration;
};

struct Report {
    std::string ntx_version;
    std::string run_id;   // RunOptions::run_id, or made at the start (UTC time and a random suffix)
    std::string res_dir;
    // The run's slice of a distributed test (--segment I/N; 0/1 for a whole test), the hash of the
    // script it planned (the same for every instance of one test) and the plugins it loaded.
    uint32_t segment_index = 0, segment_count = 1;
    std::string script_hash;
    std::vector<PluginVersion> plugins;
    std::string started_at;       // ISO 8601 UTC
    int64_t started_at_unix_ms = 0;  // when the run's clock started (t = 0 of timelines and intervals)
    int64_t start_at_unix_ms = 0;    // the --start-at barrier it waited for (0: none)
    double duration_s = 0;
    bool interrupted = false;     // SIGINT/SIGTERM or Host::stop() ended the run early
    uint64_t seed = 0;            // what seeded the users' random draws (ntx run --seed repeats them)
    std::vector<ScenarioReport> scenarios;
    uint64_t total_actions = 0, total_ok = 0, total_errors = 0, total_timeouts = 0, total_cancelled = 0;
    // Counted by the host on every socket it lent, whatever the plugins report.
    uint64_t socket_bytes_sent = 0, socket_bytes_received = 0, sockets_opened = 0;
    // Each action over every scenario that ran it (what `<action>.<metric>` thresholds read).
    std::vector<ActionReport> actions;
    LatencySummary latency;               // of every ok action of the run
    std::vector<WorkflowReport> workflows;  // those some scenario runs, in script order
    uint64_t interval_ms = 1000;          // the width of ScenarioReport::intervals (doubles past 2,000 of them)
    std::vector<ThresholdResult> thresholds;
    bool aborted_by_threshold = false;    // an abort-on-fail threshold failed during the run and stopped it
    std::string stopped_by_exit;          // why a scenario's exit `fatal` stopped the run ("" if none did)
    PersistReport persist;
    RemoteWriteReport remote_write;
    ResourcesReport resources;
    WorkbookSummary workbook;
    std::vector<AppliedOverride> overrides;  // what RunOptions::overrides changed (ntx/overrides.hpp)
    std::vector<std::pair<std::string, bool>> features;  // config.yaml's feature flags as the run used them
    std::vector<PluginViolation> plugin_violations;  // none: the plugins kept the contract

    bool thresholds_passed() const {
        for (const auto& t : thresholds)
            if (!t.passed) return false;
        return true;
    }
};

NTX_END_NAMESPACE
