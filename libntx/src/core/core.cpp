#include "core/core.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <ctime>
#include <fmt/format.h>
#include <functional>
#include <mutex>
#include <thread>
#include <unistd.h>

#include "core/log_mask.hpp"
#include "frame/protocol_frame.hpp"
#include "live/metrics_server.hpp"
#include "live/prometheus.hpp"
#include "live/run_monitor.hpp"
#include "scheduler/stats_report.hpp"
#include "ntx/version.hpp"
#include "plugin/param_check.hpp"
#include "plugin/plugin_loader.hpp"
#include "plugin/semver.hpp"
#include "progress/bus.hpp"
#include "report/latency_histogram.hpp"
#include "report/thresholds.hpp"
#include "resource/resource_monitor.hpp"
#include "resource/source_files.hpp"
#include "scheduler/live_stats.hpp"
#include "scheduler/scheduler.hpp"
#include "workbook/archive.hpp"

namespace ntx::core {
namespace fs = std::filesystem;

namespace {

std::shared_ptr<spdlog::logger> make_logger() {
    // One logger per Core: several runs in one process (a harness) don't share levels.
    auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    auto log = std::make_shared<spdlog::logger>("ntx", sink);
    log->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    return log;
}

std::string iso_now() {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

}  // namespace

Core::Core(RunOptions options, ProtocolRegistry protocols)
    : options_(std::move(options)), protocols_(std::move(protocols)), log_(make_logger()) {}

Core::~Core() = default;

// The phases before the progress bus exists (initiating, planning), delivered to
// RunOptions::progress_subscribers straight from the thread that plans, one event per batch. From
// executing on, the bus announces the phases (execute()).
void Core::emit_phase(RunPhase phase) {
    if (options_.progress_subscribers.empty()) return;
    ProgressEvent e;
    e.scope = ProgressScope::program;
    e.phase = phase;
    e.kind = "phase";
    e.t_ms = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - created_).count());
    for (const auto& subscriber : options_.progress_subscribers) {
        try {
            subscriber(std::span<const ProgressEvent>(&e, 1));
        } catch (const std::exception& ex) {
            log_->warn("a progress subscriber threw: {}", ex.what());
        } catch (...) {
            log_->warn("a progress subscriber threw");
        }
    }
}

void Core::plan(const fs::path& res_dir, const dsl::SourceTexts* texts) {
    emit_phase(RunPhase::initiating);
    std::vector<Diagnostic> diagnostics;
    script_ = dsl::load_res_dir(res_dir, resource::file_reader(), diagnostics, texts);
    emit_phase(RunPhase::planning);
    log_->set_level(spdlog::level::from_str(script_.config.log_level));
    if (!script_.config.log_mask.empty())
        for (auto& sink : log_->sinks()) sink = masking_sink(sink, Masker(script_.config.log_mask));
    for (const auto& spec : script_.pools) pools_.push_back(resource::PairPool::load(spec, diagnostics));
    load_plugins(diagnostics);  // even after script errors: report every problem at once
    if (!diagnostics.empty()) throw InvalidInput(std::move(diagnostics));
}

void Core::load_plugins(std::vector<Diagnostic>& diagnostics) {
    frame_ = std::make_unique<frame::ProtocolFrame>(script_, log_);
    plugin::PluginLoader loader(options_.plugin_paths);
    auto& components = frame_->components();
    for (size_t i = 0; i < script_.components.size(); ++i) {
        const dsl::ComponentSpec& spec = script_.components[i];
        if (spec.builtin) continue;
        auto at = [&](const dsl::SourceLoc& loc, std::string msg, std::string hint = {}) {
            diagnostics.push_back({loc.file, loc.line, loc.column, std::move(msg), std::move(hint)});
        };
        std::string error;
        std::shared_ptr<plugin::LoadedPlugin> plugin;
        fs::path path;
        if (auto in_process = protocols_.find(spec.entry); in_process != protocols_.end()) {
            // A protocol the harness registered (Host::register_protocol): no file, the same checks.
            plugin = plugin::PluginLoader::load_in_process(spec.entry, in_process->second.entry,
                                                           in_process->second.init_state, frame_->host_api(), error);
            path = "<in-process " + spec.entry + ">";
        } else {
            path = loader.resolve(spec.entry, script_.res_dir, error);
            if (path.empty()) {
                at(spec.entry_loc, fmt::format("component '{}': {}", spec.name, error));
                continue;
            }
            plugin = loader.load(path, frame_->host_api(), error);
        }
        if (!plugin) {
            at(spec.entry_loc, fmt::format("component '{}': {}", spec.name, error));
            continue;
        }
        auto required = plugin::parse_semver(spec.version);
        auto provided = plugin::parse_semver(plugin->api.version);
        if (!required) {
            at(spec.version_loc, fmt::format("component '{}': version '{}' is not a semantic version (MAJOR.MINOR.PATCH)",
                                             spec.name, spec.version));
        } else if (!provided) {
            at(spec.entry_loc, fmt::format("component '{}': plugin {} declares version '{}', not a semantic version",
                                           spec.name, path.string(), plugin->api.version));
        } else if (!plugin::semver_compatible(*required, *provided)) {
            at(spec.version_loc, fmt::format("component '{}' requires version {} but plugin {} is version {} (incompatible)",
                                             spec.name, spec.version, path.filename().string(), plugin->api.version),
               required->major == 0 ? "0.x versions must match MAJOR.MINOR and be at least the required patch"
                                    : "the major versions must match and the plugin must be at least as new");
        }
        for (const auto& cap : spec.declared_capabilities)
            if (!plugin->has_capability(cap))
                at(spec.loc, fmt::format("component '{}' lists capability '{}' in metadata, but plugin {} does not provide it "
                                         "(it provides: {})",
                                         spec.name, cap, path.filename().string(), fmt::join(plugin->capabilities, ", ")));
        components[i].plugin = std::move(plugin);
    }
    // One ad-hoc action per capability of each plugin: what a dynamic task names by its call alone
    // (request_task without a template action). Made once here; nothing is created during the run.
    const size_t script_actions = script_.actions.size();
    for (uint32_t i = 0; i < components.size(); ++i) {
        if (!components[i].plugin) continue;
        for (const auto& cap : components[i].plugin->capabilities) {
            dsl::ActionSpec a;
            a.name = fmt::format("{}.{} (ad hoc)", script_.components[i].name, cap);
            a.component = i;
            a.call = cap;
            a.ad_hoc = true;
            script_.actions.push_back(std::move(a));
        }
    }
    // Every action must call a capability its plugin declares.
    for (size_t k = 0; k < script_actions; ++k) {
        const auto& a = script_.actions[k];
        const auto& c = components[a.component];
        if (!c.plugin || c.plugin->has_capability(a.call)) continue;
        std::vector<std::string_view> caps(c.plugin->capabilities.begin(), c.plugin->capabilities.end());
        auto guess = dsl::closest_match(a.call, caps);
        diagnostics.push_back({a.call_loc.file, a.call_loc.line, a.call_loc.column,
                               fmt::format("action '{}' calls '{}', which plugin '{}' does not declare (it declares: {})", a.name,
                                           a.call, c.plugin->api.name, fmt::join(c.plugin->capabilities, ", ")),
                               guess.empty() ? "" : fmt::format("did you mean '{}'?", guess)});
    }
    // Every action's params, checked by its plugin (ABI 1.2 validate_action) where it can.
    for (size_t k = 0; k < script_actions; ++k) {
        const auto& a = script_.actions[k];
        const auto& c = components[a.component];
        if (c.plugin && c.plugin->has_capability(a.call))
            plugin::check_action_params(*c.plugin, a, script_.components[a.component].name, diagnostics);
    }
}

Report Core::execute(std::atomic<int>& stop) {
    unsigned threads = options_.threads ? options_.threads : script_.config.threads;
    if (!threads) threads = std::max(1u, std::thread::hardware_concurrency());
    // The metrics endpoint binds before anything starts, so that a bad address or a port in use is bad
    // input found before the plugins initialise. Until the run starts (and after it ended) it answers
    // with the run's clock only.
    struct MetricsSource {
        std::mutex mutex;
        std::function<std::string()> body;  // set while the run's counters exist
    };
    auto source = std::make_shared<MetricsSource>();
    std::unique_ptr<live::MetricsServer> metrics;
    if (!options_.metrics_listen.empty()) {
        try {
            metrics = std::make_unique<live::MetricsServer>(options_.metrics_listen, [source] {
                std::lock_guard lock(source->mutex);
                return source->body ? source->body() : std::string("# ntx: no run in progress\n");
            });
        } catch (const std::exception& e) {
            throw InvalidInput({{"--metrics-listen", 0, 0, e.what(), {}}});
        }
    }
    std::string started_at = iso_now();
    auto t0 = std::chrono::steady_clock::now();
    // The resource manager's thread: health checks and the lease trail (leases.jsonl in --out).
    for (auto& pool : pools_) pool->set_clock_origin(t0);
    fs::path trail;
    if (!options_.out_dir.empty() && !pools_.empty()) trail = fs::path(options_.out_dir) / "leases.jsonl";
    std::unique_ptr<resource::ResourceMonitor> resources;
    try {
        resources = std::make_unique<resource::ResourceMonitor>(pools_, trail);
    } catch (const std::exception& e) {
        throw RuntimeFailure(e.what());
    }
    resources->probe_now();  // before any user starts: an item failing its probe is never leased
    frame_->init_all(threads);
    Report report;
    {
        scheduler::Scheduler sched(script_, pools_, *frame_, threads);
        // save-as persist: relative folders are under the run's output folder (else the current one).
        sched.set_persist_base(options_.out_dir.empty() ? std::filesystem::current_path()
                                                        : std::filesystem::absolute(options_.out_dir));
        // on-failure: rollback: the users holding an item that went down, on their own loops.
        resources->on_down([&sched](uint32_t pool, uint32_t item) {
            for (unsigned i = 0; i < sched.shard_count(); ++i)
                boost::asio::post(sched.shard(i).loop().io(), [&sched, i, pool, item] { sched.shard(i).on_item_down(pool, item); });
        });
        // Stopped before the scheduler goes, whichever way this block ends.
        struct StopResources {
            resource::ResourceMonitor& m;
            ~StopResources() { m.stop(); }
        } stop_resources{*resources};
        resources->start();
        // Live readers (progress line, metrics endpoint, intervals, abort-on-fail) see copies the shards
        // publish every 100 ms, never the shards' own counters.
        scheduler::LiveStats live(threads, 100);
        sched.set_live_stats(&live);
        // The live readers' clock: Scheduler::run() resets the scheduler's own as it starts, so other
        // threads must not read that one while the run starts.
        const auto run_started = std::chrono::steady_clock::now();
        // Whichever way this block ends, the endpoint stops reading `sched` and `live` before they go.
        struct Detach {
            MetricsSource& source;
            ~Detach() {
                std::lock_guard lock(source.mutex);
                source.body = nullptr;
            }
        } detach{*source};
        if (metrics) {
            std::lock_guard lock(source->mutex);
            source->body = [this, &sched, &live, run_started] {
                scheduler::LiveCounters counters;
                live.read(counters);
                live::RunGauges g;
                g.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - run_started).count();
                g.planned_s = static_cast<double>(live::planned_ms(script_)) / 1000.0;
                for (uint32_t s = 0; s < script_.scenarios.size(); ++s) {
                    g.online.push_back(sched.shared(s).online.load());
                    g.peak_online.push_back(sched.shared(s).peak_online.load());
                    g.stopping.push_back(sched.shared(s).stopping.load());
                    g.waiting.push_back(sched.shared(s).waiting_resource.load());
                }
                g.workbook_entries = sched.workbook_entries().load();
                for (const auto& pool : pools_) g.pools.push_back({pool->name(), pool->size(), pool->leases_held()});
                return live::prometheus_text(script_, counters, g);
            };
        }
        live::RunMonitor::Options mo;
        if (!options_.quiet && options_.progress_ms) {
            mo.progress = stdout;
            mo.tty = isatty(fileno(stdout)) != 0;
            mo.progress_ms = options_.progress_ms;
        }
        live::RunMonitor monitor(script_, sched, live, stop, mo);
        // The progress bus: subscribers from RunOptions, and the change stream's JSON Lines file.
        std::vector<ProgressCallback> subscribers = options_.progress_subscribers;
        if (options_.workbook_stream && !options_.out_dir.empty()) {
            try {
                subscribers.push_back(progress::jsonl_writer((fs::path(options_.out_dir) / "workbook-stream.jsonl").string()));
            } catch (const std::exception& e) {
                throw RuntimeFailure(e.what());
            }
        }
        progress::Bus bus(script_.progress, script_.workbook, sched.workbook_names(), sched.shard_count(),
                          std::move(subscribers));
        // The finished tasks' entries: written as they close (workbook.jsonl), kept as the retention says.
        std::unique_ptr<workbook::Archive> archive;
        try {
            archive = make_archive(sched);
        } catch (const std::exception& e) {
            throw RuntimeFailure(e.what());
        }
        sched.set_workbook_archive(archive.get());
        sched.set_progress_bus(&bus);
        bus.start(run_started);
        auto phase_event = [&](RunPhase phase, uint64_t t_ms) {
            ProgressEvent ev;
            ev.t_ms = t_ms;  // the scheduler's clock, as the shards' events
            ev.kind = "phase";
            ev.scope = ProgressScope::program;
            ev.phase = phase;
            ev.path = sched.workbook_names().program;
            return ev;
        };
        bus.publish(phase_event(RunPhase::executing, 0));  // the run's clock starts with the run
        monitor.start(run_started);
        sched.run(stop);
        resources->stop();
        // Closing: every user released its leases on its way out; what a pool still holds is a leak,
        // reported (and the run fails) after it is returned here.
        for (auto& pool : pools_) {
            uint64_t leaked = pool->release_all();
            if (leaked) log_->error("resource '{}': {} leases still held at the end of the run", pool->name(), leaked);
            leaked_.push_back(leaked);
        }
        resources->flush();
        // The loops stopped: what changed in their ledgers since their last tick goes out too.
        for (unsigned i = 0; i < sched.shard_count(); ++i) sched.shard(i).flush_workbook();
        archive->finish();  // every kept entry is written before the report counts them
        bus.finish(phase_event(RunPhase::closing, sched.now_ms()));  // the loops stopped: its clock may be read
        // The loops ended: each shard's final counters, so that the intervals add up to the totals.
        for (unsigned i = 0; i < sched.shard_count(); ++i) live.publish(sched.shard(i), sched.now_ms(), true);
        monitor.finish();
        double duration = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        sched.persister().finish();  // every persist file is written before the report counts them
        report = build_report(sched, duration, stop.load() > 0);
        auto ps = sched.persister().stats();
        report.persist = {ps.files, ps.bytes, ps.errors, ps.first_error};
        for (size_t s = 0; s < report.scenarios.size() && s < monitor.intervals().size(); ++s)
            report.scenarios[s].intervals = std::move(monitor.intervals()[s]);
        report.aborted_by_threshold = monitor.aborted();
        report.stopped_by_exit = sched.stop_reason();
        if (!trail.empty()) report.resources.lease_trail = trail.string();
        report.workbook = close_workbook(sched, *archive);
        auto bs = bus.stats();
        report.workbook.stream_events = bs.events;
        report.workbook.stream_batches = bs.batches;
        report.workbook.stream_dropped = bs.dropped;
        report.workbook.stream_max_batch = bs.max_batch;
        report.thresholds = report::evaluate_thresholds(script_.thresholds, report);
        metrics.reset();  // the endpoint closes with the run
        // Every socket, timer and watch is closed and the loops stopped; the plugins release now,
        // and whatever loop they name from here on is refused.
        frame_->detach_loops();
        frame_->release_all();
    }
    report.started_at = started_at;
    return report;
}

// The workbook archive of the run: retention from RunOptions, the snapshot file in --out (gzip when
// asked), the rows for keep_workbook.
std::unique_ptr<workbook::Archive> Core::make_archive(scheduler::Scheduler& sched) const {
    const WorkbookRetention& o = options_.workbook_retention;
    workbook::Retention r;
    r.keep = static_cast<workbook::Retention::Keep>(o.keep);
    r.sample = static_cast<workbook::Retention::Sample>(o.sample);
    r.sample_n = o.sample_n;
    r.limit = o.limit;
    r.gzip = o.gzip;
    fs::path file;
    if (!options_.out_dir.empty()) file = fs::path(options_.out_dir) / (r.gzip ? "workbook.jsonl.gz" : "workbook.jsonl");
    return std::make_unique<workbook::Archive>(script_.workbook, sched.workbook_names(), r, std::move(file),
                                               options_.keep_workbook ? options_.keep_workbook_max : 0,
                                               sched.shard_count(), script_.scenarios.size());
}

// Closing: the ledger's summary (finished entries were counted as they were released; what is still
// open at the end is counted here), and what the archive kept. The loops have stopped.
WorkbookSummary Core::close_workbook(scheduler::Scheduler& sched, workbook::Archive& archive) const {
    WorkbookSummary w;
    std::vector<uint64_t> counts(workbook::kStates, 0);
    uint64_t released = 0;
    for (unsigned i = 0; i < sched.shard_count(); ++i) {
        const auto& ledger = sched.shard(i).ledger();
        w.memory_bytes += ledger.memory_bytes();
        w.entries += ledger.opened();
        for (size_t k = 0; k < workbook::kStates; ++k) {
            counts[k] += ledger.released_by_state()[k];
            released += ledger.released_by_state()[k];
        }
        ledger.for_each_live([&](const workbook::Entry& e) { ++counts[static_cast<size_t>(e.state)]; });
    }
    for (size_t k = 0; k < counts.size(); ++k)
        if (counts[k]) w.by_state.emplace_back(std::string(workbook::state_name(static_cast<workbook::State>(k))), counts[k]);
    auto st = archive.stats();
    w.retention = workbook::describe(archive.retention());
    w.kept = st.kept;
    w.not_kept = released >= st.kept ? released - st.kept : 0;
    w.over_limit = st.over_limit;
    w.dropped = st.dropped;
    w.snapshot_bytes = st.bytes;
    if (!st.error.empty()) log_->error("the workbook snapshot: {}", st.error);
    if (st.dropped) log_->warn("the workbook snapshot lost {} entries (its writer fell behind or the disk failed)", st.dropped);
    w.snapshot = archive.file_name();
    if (!options_.keep_workbook) return w;
    // The kept entries as C++ values: the same values as the snapshot's lines (one formatter for both).
    auto& kept = archive.rows();
    w.rows_dropped = st.kept > kept.size() ? st.kept - kept.size() : 0;
    std::sort(kept.begin(), kept.end(), [](const workbook::Entry& a, const workbook::Entry& b) {
        return a.user_id != b.user_id ? a.user_id < b.user_id : a.task_id < b.task_id;
    });
    w.rows.reserve(kept.size());
    for (const auto& e : kept) {
        auto o = boost::json::parse(workbook::entry_json(script_.workbook, sched.workbook_names(), e)).as_object();
        auto str = [](const boost::json::value& v) { return v.is_string() ? std::string(v.as_string()) : std::string(); };
        WorkbookEntry r;
        r.user_id = e.user_id;
        r.task_id = e.task_id;
        r.scenario = str(o["scenario"]);
        r.state = str(o["state"]);
        r.owner = str(o["owner"]);
        r.current_action = str(o["current_action"]);
        r.retry_left = e.retry_left;
        r.start_at_ms = e.start_at_ms;
        r.timeout_at_ms = e.timeout_at_ms;
        for (const auto& part : o["scope_trace"].as_array()) r.scope_trace.push_back(str(part));
        const auto& ev = o["evidence"].as_object();
        r.last_event = str(ev.at("last_event"));
        r.response_ms = ev.at("response_ms").is_number() ? ev.at("response_ms").to_number<double>() : 0.0;
        r.dynamic = e.dynamic;
        if (auto* sections = o.if_contains("sections"))
            for (const auto& [section, fields] : sections->as_object())
                for (const auto& [key, value] : fields.as_object())
                    r.fields.emplace_back(std::string(section) + "." + std::string(key), str(value));
        w.rows.push_back(std::move(r));
    }
    return w;
}

Report Core::build_report(scheduler::Scheduler& sched, double duration_s, bool interrupted) const {
    Report r;
    r.ntx_version = NTX_VERSION_STRING;
    r.res_dir = script_.res_dir.string();
    r.duration_s = duration_s;
    r.interrupted = interrupted;
    const size_t n_actions = script_.actions.size();
    // Histograms are large (26 KiB): the per-action totals and the merged ones live on the heap.
    std::vector<scheduler::ActionStats> by_action(n_actions);
    std::vector<uint32_t> action_order;
    auto run_latency_owner = std::make_unique<report::LatencyHistogram>();
    report::LatencyHistogram& run_latency = *run_latency_owner;
    for (unsigned i = 0; i < sched.shard_count(); ++i) {
        const auto& loop = sched.shard(i).loop();
        r.socket_bytes_sent += loop.bytes_sent;
        r.socket_bytes_received += loop.bytes_received;
        r.sockets_opened += loop.sockets_opened;
    }
    for (uint32_t s = 0; s < script_.scenarios.size(); ++s) {
        const auto& spec = script_.scenarios[s];
        ScenarioReport sr;
        sr.name = spec.name;
        sr.workflow = script_.workflows[spec.workflow].name;
        scheduler::ScenarioStats merged;
        auto scenario_latency_owner = std::make_unique<report::LatencyHistogram>();
        report::LatencyHistogram& scenario_latency = *scenario_latency_owner;
        std::vector<scheduler::ActionStats> actions(n_actions);
        for (unsigned i = 0; i < sched.shard_count(); ++i) {
            auto& shard = sched.shard(i);
            const auto& st = shard.scenario_stats()[s];
            merged.spawned += st.spawned;
            merged.completed += st.completed;
            merged.stopped += st.stopped;
            merged.tasks += st.tasks;
            merged.exit_timeout += st.exit_timeout;
            merged.exit_error += st.exit_error;
            merged.exit_closing += st.exit_closing;
            merged.exit_rollback += st.exit_rollback;
            merged.exit_stop_user += st.exit_stop_user;
            merged.task_retries += st.task_retries;
            merged.condition_errors += st.condition_errors;
            if (st.condition_errors &&
                (merged.condition_error_first.empty() || st.condition_error_first_at_ms < merged.condition_error_first_at_ms)) {
                merged.condition_error_first = st.condition_error_first;
                merged.condition_error_first_at_ms = st.condition_error_first_at_ms;
            }
            merged.resource_wait_timeouts += st.resource_wait_timeouts;
            merged.dynamic_requested += st.dynamic_requested;
            merged.dynamic_started += st.dynamic_started;
            merged.dynamic_refused += st.dynamic_refused;
            merged.dynamic_ended += st.dynamic_ended;
            merged.arrivals_started += st.arrivals_started;
            merged.arrivals_dropped += st.arrivals_dropped;
            auto add = [](std::vector<uint32_t>& into, const std::vector<uint32_t>& from) {
                if (into.size() < from.size()) into.resize(from.size(), 0);
                for (size_t b = 0; b < from.size(); ++b) into[b] += from[b];
            };
            add(merged.started_per_bucket, st.started_per_bucket);
            add(merged.online_per_bucket, st.online_per_bucket);  // only shard 0 samples it
            for (size_t a = 0; a < n_actions; ++a) actions[a].merge(shard.action_stats(s, static_cast<uint32_t>(a)));
        }
        sr.spawned = merged.spawned;
        sr.completed = merged.completed;
        sr.stopped = merged.stopped;
        sr.tasks = merged.tasks;
        sr.exit_timeout = merged.exit_timeout;
        sr.exit_error = merged.exit_error;
        sr.exit_closing = merged.exit_closing;
        sr.exit_rollback = merged.exit_rollback;
        sr.exit_stop_user = merged.exit_stop_user;
        sr.task_retries = merged.task_retries;
        sr.condition_errors = merged.condition_errors;
        sr.condition_error_example = std::move(merged.condition_error_first);
        sr.resource_wait_timeouts = merged.resource_wait_timeouts;
        sr.dynamic_requested = merged.dynamic_requested;
        sr.dynamic_started = merged.dynamic_started;
        sr.dynamic_refused = merged.dynamic_refused;
        sr.dynamic_ended = merged.dynamic_ended;
        sr.model = spec.model == dsl::Model::open ? "open" : "closed";
        if (spec.model == dsl::Model::open) {
            sr.arrivals_started = merged.arrivals_started;
            sr.arrivals_dropped = merged.arrivals_dropped;
            sr.arrivals_planned = merged.arrivals_started + merged.arrivals_dropped;
        }
        sr.started_per_100ms = std::move(merged.started_per_bucket);
        sr.online_per_100ms = std::move(merged.online_per_bucket);
        sr.peak_online = static_cast<uint64_t>(sched.shared(s).peak_online.load());
        sr.duration_s = static_cast<double>(sched.shared(s).end_ms.load()) / 1000.0;
        // Actions in the order the workflow runs them (each once), then those its handlers and its
        // actions' handlers run.
        std::vector<uint32_t> order;
        auto add_steps = [this, &order](const std::vector<dsl::Step>& steps) { dsl::collect_actions(script_, steps, order); };
        const auto& wf = script_.workflows[spec.workflow];
        add_steps(wf.steps);
        const size_t main_steps = order.size();
        add_steps(wf.on_error.steps);
        add_steps(wf.on_timeout.steps);
        for (size_t i = 0; i < main_steps; ++i) {
            const auto& a = script_.actions[order[i]];
            if (a.on_error) add_steps(a.on_error->steps);
            if (a.on_timeout) add_steps(a.on_timeout->steps);
        }
        // And those only dynamic tasks ran (templates named by plugins, ad-hoc calls).
        for (uint32_t a = 0; a < n_actions; ++a)
            if (actions[a].dynamic && std::find(order.begin(), order.end(), a) == order.end()) order.push_back(a);
        for (uint32_t a : order) {
            const auto& st = actions[a];
            ActionReport ar = scheduler::action_report(script_, a, st);
            scenario_latency.merge(st.latency);
            auto& total = by_action[a];
            total.merge(st);
            r.total_actions += ar.count;
            r.total_ok += ar.ok;
            r.total_errors += ar.errors;
            r.total_timeouts += ar.timeouts;
            r.total_cancelled += ar.cancelled;
            sr.actions.push_back(std::move(ar));
            if (std::find(action_order.begin(), action_order.end(), a) == action_order.end()) action_order.push_back(a);
        }
        sr.latency = report::summarize(scenario_latency);
        run_latency.merge(scenario_latency);
        r.scenarios.push_back(std::move(sr));
    }
    // Each action over all scenarios, in the order they first appear.
    for (uint32_t a : action_order) r.actions.push_back(scheduler::action_report(script_, a, by_action[a]));
    r.latency = report::summarize(run_latency);
    // Resources: lease statistics per pool, the blobs' checksums, the kv_stores.
    for (size_t p = 0; p < pools_.size(); ++p) {
        const auto& pool = *pools_[p];
        const auto& spec = pool.spec();
        auto st = pool.stats();
        PoolReport pr;
        pr.name = pool.name();
        pr.guard = spec.guard == dsl::Guard::exclusive ? "exclusive" : "shared";
        pr.strategy = spec.strategy == dsl::LeaseStrategy::least_used ? "least-used" : "round-robin";
        pr.items = pool.size();
        pr.ttl_ms = spec.ttl_ms;
        pr.auto_renew = spec.auto_renew;
        pr.acquired = st.acquired;
        pr.released = st.released;
        pr.renewed = st.renewed;
        pr.expired = st.expired;
        pr.evicted = st.evicted;
        pr.rolled_back = st.rolled_back;
        pr.peak_held = st.peak_held;
        pr.held_at_end = p < leaked_.size() ? leaked_[p] : st.held;
        pr.waits = st.waits;
        pr.wait_timeouts = st.wait_timeouts;
        pr.wait_p50_ms = st.wait_p50_ms;
        pr.wait_p99_ms = st.wait_p99_ms;
        pr.wait_max_ms = st.wait_max_ms;
        pr.health_check = spec.health.set;
        if (spec.health.set)
            pr.on_failure = spec.health.on_failure == dsl::OnProbeFailure::rollback ? "rollback"
                            : spec.health.on_failure == dsl::OnProbeFailure::ignore ? "ignore"
                                                                                      : "evict";
        pr.probe_rounds = st.probe_rounds;
        pr.probes = st.probes;
        pr.probe_failures = st.probe_failures;
        pr.downs = st.downs;
        pr.recoveries = st.recoveries;
        pr.down_at_end = st.down_now;
        r.resources.leases_leaked += pr.held_at_end;
        r.resources.pools.push_back(std::move(pr));
    }
    for (const auto& b : script_.blobs) {
        std::error_code ec;
        auto rel = fs::relative(b.file, script_.res_dir, ec);
        r.resources.blobs.push_back({b.name, ec ? b.file.string() : rel.string(), b.sha256, b.size, b.verified ? "verified" : "auto"});
    }
    for (const auto& kv : script_.kv_stores) r.resources.kv_stores.push_back({kv.name, kv.source, kv.entries.size()});
    return r;
}

}  // namespace ntx::core
