// The compiled form of a res_dir: script.yaml, config.yaml and resource/config.yaml, validated, with
// every name resolved to an index and every template compiled. What the scheduler runs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dsl/expression.hpp"
#include "dsl/extract.hpp"
#include "dsl/progress_model.hpp"
#include "dsl/template.hpp"
#include "dsl/thresholds_model.hpp"
#include "policy/network_allow.hpp"
#include "ntx/overrides.hpp"
#include "ntx/diagnostics.hpp"
#include "workbook/workbook.hpp"

namespace ntx::dsl {

struct SourceLoc {
    std::string file;
    int line = 0;
    int column = 0;
};

struct ComponentSpec {
    std::string name;
    std::string version;  // semver the script requires
    std::string kind;     // native | wasm | wasi-component | service-adapter | builtin
    std::string entry;    // path (relative to res_dir) or bare plugin name
    std::vector<std::string> declared_capabilities;  // metadata.capabilities (optional)
    std::string config_json = "{}";                  // its section of resource/config.yaml
    bool builtin = false;                            // the built-in resource-manager
    std::string transport;                           // metadata.transport (tcp | udp), checked against the plugin
    SourceLoc loc, version_loc, entry_loc, transport_loc;
};

// This instance's slice of a test split among `count` instances (ntx run --segment index/count; see
// segment/segment.hpp). 0/1 is the whole test.
struct SegmentSpec {
    uint32_t index = 0;
    uint32_t count = 1;
    bool operator==(const SegmentSpec&) const = default;
};

enum class Guard : uint8_t { exclusive, shared };
enum class LeaseStrategy : uint8_t { round_robin, least_used };
// What a failed health-check probe does to the users holding the item (the item itself always leaves
// the pool until it recovers, unless `ignore`).
enum class OnProbeFailure : uint8_t { evict, rollback, ignore };

// health-check of a pair_pool: a TCP connect to each item's ip (or host) and port every interval.
struct HealthCheckSpec {
    bool set = false;
    uint64_t interval_ms = 5'000;
    uint64_t timeout_ms = 1'000;
    OnProbeFailure on_failure = OnProbeFailure::evict;
    bool on_failure_set = false;  // written in the script (else progress.rollback may set it)
    SourceLoc loc;
};

struct PoolSpec {
    std::string name;
    std::filesystem::path manifest;  // absolute
    std::string format = "csv";      // csv | yaml
    std::vector<std::string> fields;
    std::optional<uint64_t> capacity;
    Guard guard = Guard::exclusive;
    LeaseStrategy strategy = LeaseStrategy::round_robin;
    uint64_t ttl_ms = 0;  // 0 = the user's life; else checked at the user's task boundaries
    bool auto_renew = false;       // an expired lease is renewed (kept) instead of given back
    uint64_t wait_timeout_ms = 0;  // a user waiting for an item gives up after this (0 = see docs)
    HealthCheckSpec health;
    SegmentSpec segment;  // --segment: the pool holds only the items i with i mod count == index
    SourceLoc loc, manifest_loc;
};

// A kv_store resource: key/value records read at planning, shared read-only by every user as
// `{{resource.<store>.<key>}}` (each key a template reads is resolved once, at planning).
struct KvStoreSpec {
    std::string name;
    std::string source;  // the manifest (relative to res_dir), or "inline"
    std::vector<std::pair<std::string, std::string>> entries;
    SourceLoc loc;
};

struct Handler;

// Where a save-as variable lives (save-as: {var, scope}).
enum class VarScope : uint8_t {
    task,      // task-local (the default): cleared when the user starts its next task
    user,      // user-local: kept across the user's tasks
    global,    // run-wide: every user reads the latest value any user saved (`{{global.name}}`)
    workbook,  // the user x task's workbook entry (registers section)
};

// save-as persist: each saved result is also written to a file, off the hot path.
struct PersistSpec {
    std::filesystem::path dir;  // absolute, or relative to the run's output folder (--out) / cwd
    Template filename;          // rendered per save with the user's context; a bare file name
    SourceLoc loc;
};

// One entry of an action's `check:` list: a condition over its result (`status == 200`,
// `contains(body, "ok")`) and its variables, counted pass / fail per action.
struct CheckSpec {
    Expression expr;
    SourceLoc loc;
};

struct ActionSpec {
    std::string name;
    uint32_t component = 0;  // index into components
    std::string call;
    std::vector<std::pair<std::string, Template>> with;  // flattened keys ("headers.X")
    std::vector<SourceLoc> with_locs;                     // where each `with` value is written
    bool with_broken = false;  // a `with` value failed to compile (reported): no plugin check on top
    std::optional<uint32_t> save_slot;
    std::shared_ptr<const PersistSpec> persist;  // save-as persist (null: none)
    std::vector<ExtractSpec> extracts;           // save-as extract: fields taken from the result
    std::vector<CheckSpec> checks;               // check: counted, and by default never failing the action
    bool check_fails_action = false;             // check-fails-action: a failed check fails the action (kind check)
    // expect-status: the protocol statuses that count as success (k6's expected-response); empty:
    // the plugin decides (HTTP: below 400).
    std::vector<uint32_t> expect_status;
    // Whether the plugin must report its result's fields (save-as or checks read them).
    bool wants_result() const { return save_slot.has_value() || !checks.empty(); }
    uint64_t timeout_ms = 0;  // 0 = config default
    double rate_per_user = 0;        // rate-limit.per-user: at most this many starts per second per user (0 = none)
    uint32_t retry_max = 0;          // retry.max: attempts after a failed one
    uint64_t retry_backoff_ms = 0;   // retry.backoff: the first wait; doubles each attempt, with jitter
    uint64_t retry_backoff_max_ms = 0;  // the longest wait (0 = 30 s)
    // The action's own on-error / on-timeout (when set, they replace the workflow's for this action).
    // Held by pointer: Handler holds Steps, which are defined after ActionSpec.
    std::shared_ptr<const Handler> on_error, on_timeout;
    // Made by Core for each capability of each plugin, for ad-hoc dynamic tasks (request_task with a
    // call and no template action); no step runs it.
    bool ad_hoc = false;
    SourceLoc loc, call_loc;
};

enum class Exit : uint8_t { error_out, timeout_out, closing };

// One step of a sequential workflow.
struct Step;

// Where a failed (on-error) or timed-out (on-timeout) task goes after its handler's steps ran.
enum class Route : uint8_t {
    error_out,    // the task ends through error_out (the user goes on with its next task, if any)
    timeout_out,  // the task ends through timeout_out
    closing,      // the task ends and the user leaves (goto: closing)
    task_retry,   // goto: monitoring.retry: the task starts again, up to monitoring.retry.max times
    rollback,     // goto: closing.rollback: what the task saved is discarded; the task ends rolled back
    stop_user,    // stop: user: the user leaves now, counted as stopped
    next,         // goto: next: the failure is counted and the workflow goes on with the next step
    fatal,        // a scenario's exit `fatal`: the task ends (error_out / timeout_out) and the run stops
};

// An on-error / on-timeout list, compiled: retry the failed step (with backoff and jitter) up to
// retry_max times; then run `steps` (compensating actions and log lines, in order; their own failures
// are counted, never handled again); then follow `route`.
struct Handler {
    bool set = false;  // written in the script (else the defaults: error_out / timeout_out)
    uint32_t retry_max = 0;
    uint64_t retry_backoff_ms = 100;
    uint64_t retry_backoff_max_ms = 0;  // 0 = 30 s
    std::vector<Step> steps;
    Route route = Route::error_out;
    bool routed = false;  // `route` written (goto / stop); else the scenario's exits decide
    SourceLoc loc;
};

// A workflow compiles to a flat list of these: `if`, `loop` and `goto` become branches and jumps
// between indices, so running a step is an index and a switch, never a tree walk.
struct Step {
    enum class Kind : uint8_t {
        action,      // run `action`
        think,       // pause think_ms
        log,         // write `message`
        branch,      // if `cond` is false, go to `target` (if/else, loop while)
        jump,        // go to `target` (the end of a then-branch, goto a named step, a loop's back edge)
        exit,        // goto: error_out / timeout_out / closing as a step: the task ends there
        loop_init,   // loop `loop` starts: its counter is 0
        loop_check,  // loop `loop` ends (go to `target`) when its count / list is used up, or max reached
        loop_next,   // loop `loop`: one more iteration, back to `target` (its check)
        parallel,    // run `branches` at once (Script::branches); go on when every one has ended
        route,       // goto: monitoring.retry / closing.rollback as a step: follow `route`
        update_workbook,  // write `updates` into the user's workbook entry
    } kind = Kind::action;
    uint32_t action = 0;    // action: index into actions
    uint64_t think_ms = 0;  // think: the pause (fixed); the mean of `normal` and `exponential`
    // think: {uniform: [a, b]} | {normal: {mean, stddev}} | {exponential: {mean}}: drawn per pause from
    // the user's generator. uniform: think_ms..think_max_ms; normal: think_ms, think_stddev_ms (clamped at 0).
    enum class Think : uint8_t { fixed, uniform, normal, exponential } think = Think::fixed;
    uint64_t think_max_ms = 0, think_stddev_ms = 0;
    Template message;       // log: the line (templated)
    std::string level = "info";
    std::shared_ptr<const Expression> cond;  // branch; loop_check of a while loop
    uint32_t target = 0;    // branch, jump, loop_check, loop_next: a step index
    Exit exit = Exit::error_out;  // exit
    Route route = Route::error_out;  // route
    uint32_t loop = 0;      // loop_*: the loop's counter slot in the workflow
    uint64_t count = 0;     // loop_check: iterations (count), or the most iterations (while / over)
    std::vector<std::string> items;  // loop_check of `over`: the values, one per iteration
    std::optional<uint32_t> item_slot;  // loop_check of `over`: the variable (`as`) that holds the item
    std::vector<uint32_t> branches;  // parallel: indices into Script::branches
    std::string name;       // the step's `name` (goto target), if any
    // update_workbook: workbook field ids (workbook::Schema) and the templates of their new values.
    std::vector<std::pair<uint32_t, Template>> updates;
    SourceLoc loc;

    static Step of_action(uint32_t a) {
        Step s;
        s.action = a;
        return s;
    }
};

struct WorkflowSpec {
    std::string name;
    std::vector<Step> steps;  // in order (control flow compiled to branches and jumps)
    uint32_t loops = 0;       // loop counter slots its steps use
    bool graph = false;       // written as `nodes` (a graph) rather than `steps`
    uint64_t timeout_ms = 0;      // task timeout, 0 = none
    Handler on_error;             // default: route error_out
    Handler on_timeout;           // default: route timeout_out
    SourceLoc loc;
};

// A load profile: the target number of online users over time, as linear segments (k6's stages).
struct Stage {
    uint64_t duration_ms = 0;
    double target = 0;  // users at the end of the stage
};

struct ProfileSpec {
    std::string name;
    double start = 0;  // users at t = 0
    std::vector<Stage> stages;
    SourceLoc loc;

    uint64_t total_ms() const {
        uint64_t t = 0;
        for (const auto& s : stages) t += s.duration_ms;
        return t;
    }
    // Target online users at `t_ms` since the scenario started (0 after the last stage).
    double target_at(uint64_t t_ms) const {
        double from = start;
        for (const auto& s : stages) {
            if (t_ms < s.duration_ms)
                return from + (s.target - from) * static_cast<double>(t_ms) / static_cast<double>(s.duration_ms);
            t_ms -= s.duration_ms;
            from = s.target;
        }
        return 0;
    }
};

enum class Model : uint8_t { closed, open };

struct ScenarioSpec {
    std::string name;
    uint32_t workflow = 0;
    Model model = Model::closed;
    // closed model
    uint64_t user_count = 1;
    double spawn_rate = 0;                // users per second; 0 = all at once
    std::optional<uint32_t> profile;      // index into profiles: the online target over time
    uint64_t task_duration_ms = 0;        // 0 = one task per user (with a profile: users repeat while online)
    // open model: arrivals at a rate rising linearly from arrival_rate to arrival_rate_end over duration_ms
    double arrival_rate = 0;              // arrivals per second at t = 0
    double arrival_rate_end = 0;          // at t = duration_ms (== arrival_rate when constant)
    uint64_t duration_ms = 0;             // arrivals window
    uint64_t max_users = 0;               // cap on concurrent users (0 = none); arrivals past it are dropped
    uint64_t max_duration_ms = 0;         // 0 = none
    std::vector<uint32_t> inherit;        // pool indices
    // exit / exits (else monitoring.exits): where a failed / timed-out task goes when no handler
    // says (goto / stop): error_out / timeout_out (the defaults), closing (the user leaves) or fatal.
    Route exit_error = Route::error_out;
    Route exit_timeout = Route::timeout_out;
    // pacing.after-failure: how long a user waits after a failed task (ended through error_out or
    // timeout_out) before its next one starts: until the shard's next tick (the default: a dead target
    // costs at most one task per user and tick), not at all (`none`), or a fixed delay.
    enum class FailurePacing : uint8_t { tick, none, delay };
    FailurePacing pace_after_failure = FailurePacing::tick;
    uint64_t pace_after_failure_ms = 0;  // FailurePacing::delay
    // user.context: workbook fields (paths or aliases) set from templates when each task's entry opens,
    // the scenario's baseline context (an update_workbook step; empty: none).
    Step context;
    SourceLoc loc;

    // Arrivals planned in [0, t_ms) (open model): the integral of the rate.
    double arrivals_before(double t_ms) const {
        double d = static_cast<double>(duration_ms);
        if (t_ms > d) t_ms = d;
        double t = t_ms / 1000.0, span = d / 1000.0;
        return arrival_rate * t + (span > 0 ? (arrival_rate_end - arrival_rate) * t * t / (2 * span) : 0);
    }
    // The intended start of arrival k (0-based), in ms since the scenario started.
    double arrival_time_ms(uint64_t k) const;
};

// monitoring.retry: how `goto: monitoring.retry` starts a failed task again.
struct TaskRetryPolicy {
    bool set = false;
    uint32_t max = 0;            // restarts per task
    uint64_t backoff_ms = 0;     // the first wait; doubles each restart, with jitter
    uint64_t backoff_max_ms = 0;  // 0 = 30 s
    SourceLoc loc;
};

struct RunConfig {
    uint64_t tick_ms = 20;
    uint64_t grace_ms = 5'000;  // after a stop request, in-flight actions get this long to finish
    unsigned threads = 0;  // 0 = one per core
    uint64_t action_timeout_ms = 30'000;
    std::string log_level = "warn";
    // log.mask: values of fields with these names (case-insensitive, also inside longer names such as
    // access_token) are written as *** in logs.
    std::vector<std::string> log_mask{"password", "token", "authorization", "cookie"};
    // config.yaml `outputs:` (the seeds' key): result streams, kind -> target file ("csv" and "jsonl":
    // every interval; "tasks": every finished task; "prometheus-rw": a remote-write URL, the run's
    // metrics every interval). A relative target file is in the run's --out folder.
    std::vector<std::pair<std::string, std::string>> outputs;
    // config.yaml `features:` (the seeds' feature flags), after --feature: name -> on. Read by
    // feature("name") in conditions and templates, folded at planning; listed in report.json.
    std::vector<std::pair<std::string, bool>> features;
    SourceLoc features_loc;
    // Dynamic tasks (a plugin's request_task): at most this many run at once, started at most at
    // this rate (per second, 0 = no limit). Requests past either are refused (NTX_E_LIMIT) and counted.
    uint64_t dynamic_max_concurrent = 1000;
    double dynamic_rate = 0;
    // network: the host's throttle on every socket it lends (0 = unlimited): at most send_bytes /
    // recv_bytes per rate_window_ms in each direction.
    uint64_t send_bytes = 0, recv_bytes = 0;
    uint32_t rate_window_ms = 1000;
    // network.allow: where sockets may connect (inactive when absent: anywhere).
    policy::NetworkAllow network_allow;
    // Seeds each user's generator (think distributions, random()) with the user's id: ntx run --seed
    // (RunOptions::seed) makes a run's draws reproducible, whatever the thread count; else random.
    uint64_t seed = 0;
};

// A file_blob resource: a file read once at planning, checksummed, and shared read-only by every user
// as the template variable `blob.<name>` (fields body, sha256, size).
struct BlobSpec {
    std::string name;
    std::filesystem::path file;  // absolute
    uint32_t slot = 0;           // its variable slot
    std::string sha256;          // computed at planning
    uint64_t size = 0;
    bool verified = false;       // a given checksum matched (else checksum: auto, recorded only)
    SourceLoc loc;
};

struct Script {
    std::filesystem::path res_dir;  // absolute
    std::string version;
    std::vector<ComponentSpec> components;
    std::vector<PoolSpec> pools;
    std::vector<ActionSpec> actions;
    std::vector<WorkflowSpec> workflows;
    // The branches of `parallel` steps, each compiled as a workflow of its own (no timeout of its own:
    // a branch runs under its task's deadline; default handlers end the branch, failed).
    std::vector<WorkflowSpec> branches;
    std::vector<ProfileSpec> profiles;
    std::vector<ScenarioSpec> scenarios;
    std::vector<std::string> variables;  // save-as names by slot (and blob.<name> for file_blobs)
    std::vector<VarScope> variable_scopes;  // per slot
    // Per slot: the workbook field (registers.<name>) a scope-workbook variable also writes its body
    // to; UINT32_MAX (or past the end) for the others.
    std::vector<uint32_t> variable_workbook_field;
    std::vector<BlobSpec> blobs;
    std::vector<KvStoreSpec> kv_stores;
    // Per variable slot: the fields of a constant (a file_blob), shared by every user; null for a
    // variable that actions save.
    std::vector<std::shared_ptr<const Fields>> constants;
    TaskRetryPolicy task_retry;          // monitoring.retry
    Route exit_error = Route::error_out;      // monitoring.exits: the scenarios' default exits
    Route exit_timeout = Route::timeout_out;
    std::vector<Threshold> thresholds;
    RunConfig config;
    // The workbook's fields (the scheduler's own, the script's `workbook:` sections) and aliases.
    workbook::Schema workbook;
    ProgressConfig progress;  // the script's `progress:` section
    // The overrides planning applied (Overrides: --users, -e, ...) and the env values the script
    // reads, in the order they were found: what the summary and report.json list.
    std::vector<AppliedOverride> overrides_used;
    // --segment: the scheduler starts only this instance's ordinals (segment::apply sets it).
    SegmentSpec segment;
};

// Appends to `out` the actions `steps` run, in order and each once, those of parallel branches in
// their place.
void collect_actions(const Script& script, const std::vector<Step>& steps, std::vector<uint32_t>& out);

// script.yaml / config.yaml given as text instead of read from res_dir (ntx::ScriptBuilder's output):
// the same parser and validator run on it; diagnostics name `script_name` / `config_name`.
struct SourceTexts {
    std::optional<std::string> script_yaml, config_yaml;
    std::string script_name = "script.yaml", config_name = "config.yaml";
};

class SourceReader;  // dsl/source_reader.hpp

// Reads (through `reader`: resource::file_reader() for the files on disk) and validates res_dir. Every
// problem found goes to `diagnostics`; the result is usable only when no diagnostic was added. With
// `texts`, the documents it holds replace the res_dir's files; everything else (resource/config.yaml,
// manifests, blobs) is still read relative to res_dir.
// With `overrides`, they are applied to the compiled script (docs/dsl.md#overrides) and `{{env.KEY}}`
// reads their env values; without, `{{env.KEY}}` reads the process environment.
Script load_res_dir(const std::filesystem::path& res_dir, const SourceReader& reader, std::vector<Diagnostic>& diagnostics,
                    const SourceTexts* texts = nullptr, const Overrides* overrides = nullptr);

// Diagnostics [first, end) in reading order: the files in the order their first problem was found
// (script.yaml, then what it names), each file's problems by line and column. Stable: problems at one
// place keep the order they were found in.
void sort_diagnostics(std::vector<Diagnostic>& diagnostics, size_t first = 0);

// Closest candidate within a small edit distance, for "did you mean" hints; empty when none is close.
std::string closest_match(std::string_view word, const std::vector<std::string_view>& candidates);

// "" when `kind` is a result stream ntx writes (csv, jsonl, tasks, prometheus-rw); else why not.
std::string output_kind_error(std::string_view kind);
// Why `target` is no target for an output of `kind` (empty; prometheus-rw: not an http(s) URL), or "".
std::string output_target_error(std::string_view kind, std::string_view target);

}  // namespace ntx::dsl
