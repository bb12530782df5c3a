// ntx::Host: the entry point of the C++ API. A Host takes a res_dir (or a script built in code with
// ntx::ScriptBuilder) through the run's phases and hands back a Report:
//   - validate(): initiating + planning only (read, validate, load and check the plugins);
//   - start(): the whole run, blocking the calling thread;
//   - launch(): the same run on a thread of its own, controlled through the returned ntx::Run.
// Errors cross this boundary as exceptions, always the same two (ntx/diagnostics.hpp): InvalidInput
// (the script, a manifest, config.yaml, or a plugin that does not match the script: found before
// anything runs, every problem at once) and RuntimeFailure (a plugin or the runtime failed while
// running). Everything a Host returns is a value; nothing refers back into the run after it ended.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ntx/diagnostics.hpp"
#include "ntx/export.hpp"
#include "ntx/overrides.hpp"
#include "ntx/plugin_abi.h"
#include "ntx/progress.hpp"
#include "ntx/report.hpp"

NTX_BEGIN_NAMESPACE

class BuiltScript;  // ntx/script_builder.hpp
class CrashTrace;   // ntx/crash_trace.hpp

// What the workbook keeps of each finished task (docs/workbook.md#retention). The ledger holds only
// the tasks still running; a finished task's entry is written to workbook.jsonl (with an out_dir) and
// offered to keep_workbook when the retention keeps it, else only counted.
struct WorkbookRetention {
    enum class Keep : uint8_t {
        all,                // every entry
        failed,             // every entry that did not end closing.done
        sample,             // the sample below
        failed_and_sample,  // both (the default: the failures, and a view of the rest)
        none,               // nothing: the report's counts only
    };
    enum class Sample : uint8_t {
        every,    // every Nth entry (per loop and scenario)
        percent,  // N percent, chosen by a hash of user and task ids (the same tasks on a re-run)
        first,    // the first N entries of each scenario
    };
    Keep keep = Keep::failed_and_sample;
    Sample sample = Sample::every;
    double sample_n = 100;
    uint64_t limit = 100'000;  // at most this many entries kept in the run (0 = no limit)
    bool gzip = false;         // write workbook.jsonl.gz instead of workbook.jsonl
};

// How to run. A plain value, copied into the run: changing it afterwards changes nothing.
struct RunOptions {
    std::string out_dir;                    // where report.json/.xml/.html go; empty = write nothing
    std::vector<std::string> plugin_paths;  // searched before NTX_PLUGIN_PATH and the shipped plugins
    unsigned threads = 0;                   // event loops; 0 = config.yaml's `threads`, else one per core
    bool quiet = false;                     // no end summary and no progress line on stdout
    // Prometheus metrics over HTTP during the run ("127.0.0.1:9464"; loopback only); empty = none.
    std::string metrics_listen;
    unsigned progress_ms = 1000;            // the progress line's period (0 = no progress line)
    // Subscribers of the run's progress bus (progress.hpp). Each receives every event of the run in
    // order, in batches; a subscriber is copied into the run and must be callable from another
    // thread than the one that started the run. See progress.hpp for what arrives when.
    std::vector<ProgressCallback> progress_subscribers;
    // Also write the progress bus's events (the workbook change stream) as JSON Lines into
    // out_dir/workbook-stream.jsonl (needs out_dir).
    bool workbook_stream = false;
    // What the workbook keeps of finished tasks (in workbook.jsonl and keep_workbook's rows).
    WorkbookRetention workbook_retention;
    // Keep the entries the retention keeps in Report::workbook.rows (what workbook.jsonl holds) for
    // the harness to query after the run, at most keep_workbook_max of them (the rest are counted in
    // Report::workbook.rows_dropped). For every entry of a run, set workbook_retention.keep = all.
    bool keep_workbook = false;
    size_t keep_workbook_max = 100'000;
    // The script's text instead of res_dir/script.yaml (`ntx run -` reads it from stdin); res_dir
    // stays the folder everything else is read from. Diagnostics name it `script_name`.
    // (A res_dir argument that names a file, not a folder, is read as the script and its folder is
    // the res_dir: `ntx run path/to/login.yaml`.)
    std::optional<std::string> script_text;
    std::string script_name = "<stdin>";
    // Users, rate, duration, scenarios and env values given outside the script (ntx/overrides.hpp),
    // applied at planning; the report lists the ones used (Report::overrides).
    Overrides overrides;
    // This instance's slice of a test split among segment_count instances (`ntx run --segment I/N`,
    // docs/distributed.md): it starts users, arrivals and pool items k with k mod N == I, and divides
    // max-users and the dynamic-task limits. 0/1 is the whole test.
    uint32_t segment_index = 0;
    uint32_t segment_count = 1;
    // The start barrier of a distributed run (`--start-at`): plan and load, then connect nothing and
    // start no user until this wall-clock time (Unix milliseconds; 0 = at once). A time that passed
    // starts at once, with a warning; one more than kMaxStartDelay ahead is invalid input.
    int64_t start_at_unix_ms = 0;
    // Seeds every user's random draws (think distributions, random()); unset: a random seed, which
    // report.json's `seed` records so that the run can be repeated (ntx run --seed).
    std::optional<uint64_t> seed;
    // The live view: a per-action table (count, per s, errors, p50, p99) instead of one line per
    // scenario (`--live table`).
    bool live_table = false;
    // metrics_listen on an address other than loopback: refused unless this is set (a warning is printed).
    bool metrics_public = false;
    // How long the metrics endpoint stays up after the run (final counts), so that the last scrape of a
    // short run is complete (`--metrics-grace`).
    unsigned metrics_grace_ms = 0;
    // The run's id: the `run_id` label of every Prometheus series and report.json's `run_id`; empty =
    // made at the start ("20261207T184500Z-3fa2": UTC time and a random suffix).
    std::string run_id;
    // Result streams written while the run goes on (`--out-stream KIND=TARGET`; with config.yaml's
    // `outputs:`, a kind given here replaces the config's): "csv" and "jsonl" -> every interval of every
    // scenario and action; "tasks" -> every finished task's workbook entry as a JSON line.
    std::vector<std::pair<std::string, std::string>> out_streams;
    // `ntx run`'s supervisor (crash_trace.hpp): where the run notes its plugin calls and publishes
    // its report every second, for the supervisor to write report.json if a plugin kills the process.
    // Not owned; null (the default) for runs nobody supervises.
    CrashTrace* crash_trace = nullptr;
};

// The entry function of a protocol, exactly as a plugin .so exports it (ntx_plugin_entry_fn of
// plugin_abi.h), as a callable so that an in-process protocol can capture its object.
using ProtocolEntry = std::function<ntx_status_t(const ntx_host_api_t* host_api, ntx_plugin_api_t* plugin_api)>;

// Where a run is (Run::health()). `phase` mirrors the progress events' phases.
enum class RunState : uint8_t {
    running,   // initiating .. closing: see Health::phase
    finished,  // ended with a Report (Run::wait() returns it)
    failed,    // ended with an exception (Run::wait() throws it)
};

// A snapshot of a background run, taken by Run::health(): a value, safe to keep.
struct Health {
    RunState state = RunState::running;
    RunPhase phase = RunPhase::initiating;  // the last phase the run entered
    double elapsed_s = 0;                   // since launch()
    bool stop_requested = false;            // Run::stop() (or Host::stop()) was called
    std::string error;                      // state == failed: the exception's message
};

// A run started by Host::launch(), going on in the background on a thread the Run owns.
// Movable, not copyable. Destroying a Run that is still going stops it (as stop()) and waits for it:
// no run outlives its handle, and no thread is left behind.
class NTX_API Run {
public:
    Run(Run&&) noexcept;
    Run& operator=(Run&&) noexcept;
    ~Run();

    // Asks the run to enter closing early, like Host::stop(): a second call cancels in-flight actions
    // at once. Thread-safe; returns at once (wait() for the end).
    void stop() noexcept;
    // Blocks until the run ended; returns its Report, or throws what the run threw (RuntimeFailure,
    // or InvalidInput for a problem found only when the run started, such as a metrics port in use).
    // May be called more than once: every call returns a copy of the same Report.
    Report wait();
    // Waits at most `timeout`; true when the run has ended (wait() then returns at once).
    bool wait_for(std::chrono::milliseconds timeout);
    // True once the run ended (finished or failed).
    bool done() const;
    Health health() const;

    struct State;  // opaque: what the handle and the run's thread share

private:
    friend class Host;
    explicit Run(std::shared_ptr<State> state);
    std::shared_ptr<State> state_;
};

class NTX_API Host {
public:
    Host();
    ~Host();
    Host(const Host&) = delete;
    Host& operator=(const Host&) = delete;

    // Validates res_dir (script.yaml, manifests, config.yaml) and the plugins it names, without running.
    // Throws InvalidInput listing every problem found.
    void validate(const std::string& res_dir, const RunOptions& options = {});
    // The same for a script built in code: the same validator; diagnostics point at the builder calls.
    void validate(const BuiltScript& script, const RunOptions& options = {});

    // Runs res_dir to the end: initiating, planning, executing/monitoring, closing. Blocks.
    // Throws InvalidInput (bad script/manifest) or RuntimeFailure (plugin or runtime failure).
    Report start(const std::string& res_dir, const RunOptions& options = {});
    Report start(const BuiltScript& script, const RunOptions& options = {});

    // Plans the run on the calling thread (so InvalidInput is thrown here, before launch returns), then
    // runs it on a thread of its own. The Run owns that thread; the Host may be destroyed before it.
    Run launch(const std::string& res_dir, const RunOptions& options = {});
    Run launch(const BuiltScript& script, const RunOptions& options = {});

    // Asks a running start() to enter closing early (thread-safe, async-signal-safe): no more users
    // start, users leave after their current action, and in-flight actions still running after
    // config.yaml's grace-period are cancelled. A second call cancels them at once. The report still
    // covers everything that ran. (A run launch() started is stopped through its Run.)
    void stop() noexcept;

    // Registers a protocol implemented in this process (no .so). A script's component whose `entry`
    // is this bare `name` resolves to it, before the plugin search path is looked at. `entry` is
    // called like a plugin's exported ntx_plugin_entry, once per run, and the table it fills is
    // checked exactly as a loaded plugin's (ABI version, required members, the component's semver
    // version and capabilities). `init_state` is what the protocol's init finds in *plugin_state
    // (a dlopen()ed plugin finds NULL there): how a C++ object reaches its own trampolines.
    // The callable and whatever `init_state` points at are the caller's and must stay valid while a
    // run that uses them goes on. Registering a name again replaces it for runs started afterwards.
    // Throws std::invalid_argument for an empty name or entry, or a name containing '/'.
    void register_protocol(const std::string& name, ProtocolEntry entry, void* init_state = nullptr);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

NTX_END_NAMESPACE
