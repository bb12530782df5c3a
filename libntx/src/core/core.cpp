#include "core/core.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fmt/format.h>
#include <functional>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>
#include <sys/resource.h>
#include <unistd.h>

#include "core/crash_trace_layout.hpp"
#include "core/log_mask.hpp"
#include "core/script_hash.hpp"
#include "core/loop_watchdog.hpp"
#include "frame/protocol_frame.hpp"
#include "live/metrics_server.hpp"
#include "live/prometheus.hpp"
#include "live/run_monitor.hpp"
#include "metrics/snapshot.hpp"
#include "ntx/distributed.hpp"
#include "ntx/version.hpp"
#include "plugin/param_check.hpp"
#include "plugin/plugin_loader.hpp"
#include "plugin/semver.hpp"
#include "progress/bus.hpp"
#include "report/report_builder.hpp"
#include "report/report_writer.hpp"
#include "report/thresholds.hpp"
#include "resource/resource_monitor.hpp"
#include "resource/source_files.hpp"
#include "scheduler/live_stats.hpp"
#include "scheduler/scheduler.hpp"
#include "segment/segment.hpp"
#include "workbook/archive.hpp"

namespace ntx::core {
namespace fs = std::filesystem;

namespace {

// How long the end waits for the last remote-write push (a slow receiver is cut off then).
constexpr std::chrono::milliseconds kRemoteWriteFinish{5000};

std::shared_ptr<spdlog::logger> make_logger() {
    // One logger per Core: several runs in one process (a harness) don't share levels.
    auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    auto log = std::make_shared<spdlog::logger>("ntx", sink);
    log->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    return log;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// The progress line on stdout, unless --quiet (redrawn in place on a terminal).
live::RunMonitor::Options monitor_options(const RunOptions& options) {
    live::RunMonitor::Options mo;
    if (!options.quiet && options.progress_ms) {
        mo.progress = stdout;
        mo.tty = isatty(fileno(stdout)) != 0;
        mo.colour = report::wants_colour(stdout);
        mo.table = options.live_table;
        mo.progress_ms = options.progress_ms;
    }
    return mo;
}

// A run id: the UTC start time and 4 random hex digits ("20261207T184500Z-3fa2").
std::string make_run_id() {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
    std::random_device rd;
    return fmt::format("{}-{:04x}", buf, rd() & 0xffff);
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
    : options_(std::move(options)), run_id_(options_.run_id), protocols_(std::move(protocols)), log_(make_logger()) {
    if (options_.crash_trace) {
        calls_ = options_.crash_trace->shared()->calls;
    } else {
        own_calls_ = std::make_unique<net::CallRecord[]>(CrashTrace::Shared::kLoops + 1);
        calls_ = own_calls_.get();
    }
}

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
    // One file instead of a res_dir: the script on stdin (script_text), or a path that names a file
    // (its folder is the res_dir: config.yaml, resource/ and manifests are read there).
    dsl::SourceTexts one_file;
    fs::path dir = res_dir;
    if (!texts && options_.script_text) {
        one_file.script_yaml = *options_.script_text;
        one_file.script_name = options_.script_name;
        texts = &one_file;
    } else if (!texts && resource::file_reader().exists(res_dir) && !resource::file_reader().is_directory(res_dir)) {
        one_file.script_yaml = resource::file_reader().read_text(res_dir);
        if (!one_file.script_yaml) throw InvalidInput({{res_dir.string(), 0, 0, "cannot read this script file", {}}});
        one_file.script_name = res_dir.string();
        dir = res_dir.has_parent_path() ? res_dir.parent_path() : fs::path(".");
        texts = &one_file;
    }
    HashingSourceReader reader(resource::file_reader(), fs::absolute(dir));
    if (texts && texts->script_yaml) reader.add_text(texts->script_name, *texts->script_yaml);
    if (texts && texts->config_yaml) reader.add_text(texts->config_name, *texts->config_yaml);
    script_ = dsl::load_res_dir(dir, reader, diagnostics, texts, &options_.overrides);
    emit_phase(RunPhase::planning);
    // The planned load is final here (after any override): its hash is the test's, the same for every
    // segment; then this instance's share of it is taken.
    script_hash_ = reader.hash(script_);
    const segment::Segment seg{options_.segment_index, options_.segment_count};
    if (seg.count == 0 || seg.index >= seg.count)
        diagnostics.push_back({"--segment", 0, 0,
                               fmt::format("segment {}/{}: expected 0 <= I < N", seg.index, seg.count), {}});
    else
        script_ = segment::apply(std::move(script_), seg, diagnostics);
    log_->set_level(spdlog::level::from_str(script_.config.log_level));
    if (!script_.config.log_mask.empty())
        for (auto& sink : log_->sinks()) sink = masking_sink(sink, Masker(script_.config.log_mask));
    for (const auto& spec : script_.pools) pools_.push_back(resource::PairPool::load(spec, diagnostics));
    load_plugins(diagnostics);  // even after script errors: report every problem at once
    if (!diagnostics.empty()) throw InvalidInput(std::move(diagnostics));
    if (options_.crash_trace) name_in_trace(*options_.crash_trace->shared());
    check_open_files();
}

// Each user holds about one connection per protocol component it uses; when the peak of users times
// that cannot fit the open-file limit, the run would lose actions as `nofile` errors: said now, with
// the numbers (a warning: the estimate cannot know a plugin that shares connections).
void Core::check_open_files() const {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
    uint64_t users = 0;
    for (const auto& s : script_.scenarios) {
        if (s.model == dsl::Model::closed) users += s.user_count;
        else if (s.max_users) users += s.max_users;
        else return;  // an open model without max-users: no peak to plan with
    }
    uint64_t protocols = 0;
    for (const auto& c : script_.components) protocols += c.builtin ? 0 : 1;
    constexpr uint64_t kOwn = 64;  // the process's own: loops, logs, report files, metrics
    const uint64_t need = users * std::max<uint64_t>(protocols, 1) + kOwn;
    if (need <= limit.rlim_cur) return;
    log_->warn("{} users x {} connection{} each need about {} open files, more than this process may open ({}; hard limit "
               "{}): actions would fail as `nofile` errors. Raise the limit (`ulimit -n {}` as root, or LimitNOFILE= in a "
               "service) or run fewer users",
               users, std::max<uint64_t>(protocols, 1), protocols > 1 ? "s" : "", need, limit.rlim_cur,
               limit.rlim_max == RLIM_INFINITY ? std::string("unlimited") : std::to_string(limit.rlim_max), need);
}

std::vector<PluginViolation> Core::plugin_violations() const {
    std::vector<PluginViolation> out;
    const auto& v = frame_->violations();
    const auto& components = frame_->components();
    for (uint32_t c = 0; c < v.components(); ++c)
        for (size_t k = 0; k < frame::kViolationKinds; ++k)
            if (uint64_t n = v.get(c, static_cast<frame::Violation>(k)))
                out.push_back({script_.components[c].name, components[c].plugin ? components[c].plugin->api.name : "",
                               frame::violation_name(static_cast<frame::Violation>(k)), n});
    return out;
}

// The names the supervisor prints after a crash, written once: it cannot read the script.
void Core::name_in_trace(CrashTrace::Shared& t) const {
    auto put = [](char* to, std::string_view name) {
        const size_t n = std::min(name.size(), size_t{CrashTrace::Shared::kNameLen - 1});
        std::memcpy(to, name.data(), n);
        to[n] = '\0';
    };
    const auto& components = frame_->components();
    t.component_count = static_cast<uint32_t>(std::min<size_t>(components.size(), CrashTrace::Shared::kNames));
    for (uint32_t i = 0; i < t.component_count; ++i) {
        put(t.components[i], script_.components[i].name);
        put(t.plugins[i], components[i].plugin ? std::string_view(components[i].plugin->api.name) : "resource-manager");
    }
    t.action_count = static_cast<uint32_t>(std::min<size_t>(script_.actions.size(), CrashTrace::Shared::kActions));
    for (uint32_t i = 0; i < t.action_count; ++i) put(t.actions[i], script_.actions[i].name);
}

void Core::load_plugins(std::vector<Diagnostic>& diagnostics) {
    frame_ = std::make_unique<frame::ProtocolFrame>(script_, log_);
    plugin::PluginLoader loader(options_.plugin_paths);
    auto& components = frame_->components();
    for (size_t i = 0; i < script_.components.size(); ++i) {
        const dsl::ComponentSpec& spec = script_.components[i];
        auto at = [&](const dsl::SourceLoc& loc, std::string msg, std::string hint = {}) {
            const dsl::SourceLoc& where = loc.file.empty() ? spec.loc : loc;  // never an error without a place
            diagnostics.push_back({where.file, where.line, where.column, std::move(msg), std::move(hint)});
        };
        if (spec.builtin) {
            // The resource-manager ships with ntx: its version is ntx's own, by the same caret rule.
            auto required = spec.version.empty() ? std::nullopt : plugin::parse_semver_prefix(spec.version);
            auto provided = plugin::parse_semver(NTX_VERSION_STRING);
            if (spec.version.empty()) {
            } else if (!required) {
                at(spec.version_loc, fmt::format("component '{}': version '{}' is not a semantic version", spec.name,
                                                 spec.version));
            } else if (provided && !plugin::semver_compatible(*required, *provided)) {
                at(spec.version_loc,
                   fmt::format("component '{}' requires version {} but the built-in resource-manager is ntx's own, "
                               "version {} (incompatible)",
                               spec.name, spec.version, NTX_VERSION_STRING),
                   fmt::format("write version: \"{}\" or leave version out", NTX_VERSION_STRING));
            }
            continue;
        }
        if (spec.entry.empty()) continue;  // no entry: reported at the component already
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
        // No version: any will do. "0.2" or "1" name a prefix: 0.2.x, 1.x.y (as "0.2.0", "1.0.0" by the caret rule).
        auto required = spec.version.empty() ? std::nullopt : plugin::parse_semver_prefix(spec.version);
        auto provided = plugin::parse_semver(plugin->api.version);
        if (spec.version.empty()) {
            // any version of the plugin
        } else if (!required) {
            at(spec.version_loc, fmt::format("component '{}': version '{}' is not a semantic version (MAJOR.MINOR.PATCH, "
                                             "or a prefix such as 0.2)",
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
        if (!spec.transport.empty()) {
            // The plugin ABI does not carry a transport: the shipped protocols' are known (http, ftp:
            // tcp); another plugin's cannot be checked, so the key is refused rather than believed.
            auto known = plugin::shipped_transport(plugin->api.name);
            if (known.empty())
                at(spec.transport_loc,
                   fmt::format("component '{}': metadata.transport cannot be checked: plugin {} does not declare its "
                               "transport (the plugin ABI carries none)",
                               spec.name, path.filename().string()),
                   "remove metadata.transport (it is checked only for the shipped protocols)");
            else if (known != spec.transport && !(known == "tcp" && spec.transport == "tls"))  // TLS runs over tcp
                at(spec.transport_loc, fmt::format("component '{}': metadata.transport is '{}' but plugin {} speaks {} over {}",
                                                   spec.name, spec.transport, path.filename().string(), plugin->api.name, known),
                   fmt::format("transport: {}", known));
        }
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
        // A `with` value that did not compile was reported at its place; the plugin would only add
        // "missing parameter" for it.
        if (c.plugin && c.plugin->has_capability(a.call) && !a.with_broken)
            plugin::check_action_params(*c.plugin, a, script_.components[a.component].name, diagnostics);
    }
}

// The metrics endpoint: it binds before anything starts, so that a bad address or a port in use is
// bad input found before the plugins initialise. Until the run starts (and after it ended) it answers
// with a comment only; while it runs, with the exposition of a snapshot taken per scrape.
struct Core::MetricsEndpoint {
    std::mutex mutex;
    std::function<std::string()> body;  // set while the run's counters exist
    std::unique_ptr<live::MetricsServer> server;

    void attach(std::function<std::string()> b) {
        std::lock_guard lock(mutex);
        body = std::move(b);
    }
    void detach() { attach(nullptr); }
};

std::shared_ptr<Core::MetricsEndpoint> Core::open_metrics_endpoint() const {
    auto endpoint = std::make_shared<MetricsEndpoint>();
    if (options_.metrics_listen.empty()) return endpoint;
    try {
        endpoint->server = std::make_unique<live::MetricsServer>(
            options_.metrics_listen,
            [e = endpoint.get()] {
                std::lock_guard lock(e->mutex);
                return e->body ? e->body() : std::string("# ntx: no run in progress\n");
            },
            options_.metrics_public);
        if (options_.metrics_public) {
            const auto& l = options_.metrics_listen;
            const bool loopback = l.rfind("127.", 0) == 0 || l.rfind("[::1]", 0) == 0;
            if (!loopback)
                std::fprintf(stderr, "ntx: warning: the metrics endpoint listens on %s (--metrics-public): whoever reaches "
                                     "it can read the run's metrics\n", l.c_str());
        }
    } catch (const std::exception& e) {
        throw InvalidInput({{"--metrics-listen", 0, 0, e.what(), {}}});
    }
    return endpoint;
}

// The resource manager's thread: health checks and the lease trail (leases.jsonl in --out).
std::unique_ptr<resource::ResourceMonitor> Core::open_resources(std::chrono::steady_clock::time_point t0,
                                                                const fs::path& trail) {
    for (auto& pool : pools_) pool->set_clock_origin(t0);
    std::unique_ptr<resource::ResourceMonitor> resources;
    try {
        resources = std::make_unique<resource::ResourceMonitor>(pools_, trail);
    } catch (const std::exception& e) {
        throw RuntimeFailure(e.what());
    }
    resources->probe_now();  // before any user starts: an item failing its probe is never leased
    return resources;
}

// The progress bus: subscribers from RunOptions, and the change stream's JSON Lines file.
std::unique_ptr<progress::Bus> Core::open_bus(const workbook::Names& names, unsigned shards) const {
    std::vector<ProgressCallback> subscribers = options_.progress_subscribers;
    if (options_.workbook_stream && !options_.out_dir.empty()) {
        try {
            auto writer = progress::jsonl_writer((fs::path(options_.out_dir) / "workbook-stream.jsonl").string());
            // The file holds the run's five phases: the two before the bus existed (initiating,
            // planning) are its first batch, at the run clock's 0 as the executing event after them.
            std::vector<ProgressEvent> before;
            for (RunPhase p : {RunPhase::initiating, RunPhase::planning}) {
                before.push_back(phase_event(names, p, 0));
                before.back().priority = script_.progress.priorities[static_cast<size_t>(p)];
            }
            subscribers.push_back([writer, before = std::make_shared<std::vector<ProgressEvent>>(std::move(before))](
                                      std::span<const ProgressEvent> batch) {
                if (!before->empty()) {
                    writer(*before);
                    before->clear();
                    before->shrink_to_fit();
                }
                writer(batch);
            });
        } catch (const std::exception& e) {
            throw RuntimeFailure(e.what());
        }
    }
    return std::make_unique<progress::Bus>(script_.progress, script_.workbook, names, shards, std::move(subscribers));
}

namespace {
int64_t unix_ms_now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}
}  // namespace

void Core::wait_for_start(std::atomic<int>& stop) {
    const int64_t at = options_.start_at_unix_ms;
    if (!at) return;
    const int64_t now = unix_ms_now();
    if (at <= now) {
        log_->warn("--start-at {} passed {:.3f} s ago: starting now", format_unix_ms(at), static_cast<double>(now - at) / 1000.0);
        return;
    }
    if (!options_.quiet) log_->warn("--start-at {}: waiting {:.3f} s", format_unix_ms(at), static_cast<double>(at - now) / 1000.0);
    // The wall clock is what the instances share; in slices, so that a stop request ends the wait.
    const auto target = std::chrono::system_clock::time_point(std::chrono::milliseconds(at));
    while (stop.load() == 0) {
        const auto now_tp = std::chrono::system_clock::now();
        if (now_tp >= target) break;
        std::this_thread::sleep_until(std::min(target, now_tp + std::chrono::milliseconds(50)));
    }
}

Report Core::execute(std::atomic<int>& stop) {
    // The users' random draws: --seed's, else a fresh one (recorded in the report to repeat the run).
    script_.config.seed = options_.seed ? *options_.seed : (uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
    unsigned threads = options_.threads ? options_.threads : script_.config.threads;
    if (!threads) threads = std::max(1u, std::thread::hardware_concurrency());
    if (options_.start_at_unix_ms && options_.start_at_unix_ms - unix_ms_now() > kMaxStartDelayMs)
        throw InvalidInput({{"--start-at", 0, 0,
                             fmt::format("{} is more than {} hours ahead", format_unix_ms(options_.start_at_unix_ms),
                                         kMaxStartDelayMs / 3'600'000),
                             {}}});
    metrics_ = open_metrics_endpoint();
    auto& metrics = metrics_;
    // Plugins load and initialise before the barrier; nothing connects (health probes, users) until it.
    net::CallRecord& main_calls = calls_[CrashTrace::Shared::kLoops];
    main_calls.tid.store(static_cast<int32_t>(::gettid()));
    frame_->set_main_call_record(&main_calls);
    frame_->init_all(threads);
    wait_for_start(stop);
    std::string started_at = iso_now();
    if (run_id_.empty()) run_id_ = make_run_id();
    Clock clock{std::chrono::steady_clock::now(), {}};
    fs::path trail;
    if (!options_.out_dir.empty() && !pools_.empty()) trail = fs::path(options_.out_dir) / "leases.jsonl";
    auto resources = open_resources(clock.t0, trail);
    Report report = run(threads, stop, *resources, *metrics, clock);
    if (!trail.empty()) report.resources.lease_trail = trail.string();
    report.started_at = started_at;
    report.started_at_unix_ms = clock.run_started_unix_ms;
    report.start_at_unix_ms = options_.start_at_unix_ms;
    report.seed = script_.config.seed;
    report.run_id = run_id_;
    return report;
}

void Core::linger_metrics(const std::atomic<int>& stop) {
    if (!metrics_ || !metrics_->server) return;
    // The endpoint keeps serving the final counts for the grace (a second Ctrl-C ends it at once).
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.metrics_grace_ms);
    while (stop.load() < 2 && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(std::chrono::milliseconds(50),
                                                                                   until - std::chrono::steady_clock::now()));
    metrics_.reset();  // the endpoint closes
}

// Executing and monitoring, then closing: the scheduler and its services (live counters, progress
// bus), the live readers (metrics endpoint, run monitor), the run; then close() and the report.
Report Core::run(unsigned threads, std::atomic<int>& stop, resource::ResourceMonitor& resources, MetricsEndpoint& metrics,
                 Clock& clock) {
    const workbook::Names names = scheduler::Scheduler::names_of(script_);
    // Live readers (progress line, metrics endpoint, intervals, abort-on-fail) see copies the shards
    // publish every 100 ms, never the shards' own counters.
    scheduler::LiveStats live(threads, 100);
    auto bus = open_bus(names, threads);
    // The finished tasks' entries: written as they close (workbook.jsonl), kept as the retention says.
    std::unique_ptr<workbook::Archive> archive;
    try {
        archive = make_archive(names, threads);
    } catch (const std::exception& e) {
        throw RuntimeFailure(e.what());
    }
    // Result streams (--out-stream, config.yaml outputs): interval files for the monitor, and every
    // finished task through a second archive that keeps all (its own writer thread and file).
    Streams streams = open_streams(names, threads);
    // save-as persist: relative folders are under the run's output folder (else the current one).
    scheduler::Scheduler sched(script_, pools_, *frame_, threads,
                               {&live, bus.get(), options_.out_dir.empty() ? fs::current_path() : fs::absolute(options_.out_dir),
                                archive.get(), streams.tasks.get()});
    for (unsigned i = 0; i < sched.shard_count() && i < CrashTrace::Shared::kLoops; ++i)
        sched.shard(i).loop().set_call_record(&calls_[i]);
    // on-failure: rollback: the users holding an item that went down, on their own loops.
    resources.on_down([&sched](uint32_t pool, uint32_t item) {
        for (unsigned i = 0; i < sched.shard_count(); ++i)
            boost::asio::post(sched.shard(i).loop().io(), [&sched, i, pool, item] { sched.shard(i).on_item_down(pool, item); });
    });
    // Stopped before the scheduler goes, whichever way this function ends.
    struct StopResources {
        resource::ResourceMonitor& m;
        ~StopResources() { m.stop(); }
    } stop_resources{resources};
    resources.start();
    // The live readers' clock: Scheduler::run() resets the scheduler's own as it starts, so other
    // threads must not read that one while the run starts.
    clock.run_started = std::chrono::steady_clock::now();
    clock.run_started_unix_ms = unix_ms_now();
    const auto read = [&sched, started = clock.run_started](metrics::RunSnapshot& snap) {
        scheduler::read_snapshot(sched, snap);
        snap.elapsed_s = seconds_since(started);
    };
    // Whichever way this function ends, the endpoint stops reading `sched` and `live` before they go.
    struct Detach {
        MetricsEndpoint& m;
        bool keep = false;  // the final counts were attached: they stay for the grace
        ~Detach() {
            if (!keep) m.detach();
        }
    } detach{metrics};
    const double planned_s = static_cast<double>(live::planned_ms(script_)) / 1000.0;
    if (metrics.server)
        metrics.attach([this, read, planned_s, &bus, &sched] {
            metrics::RunSnapshot snap;
            read(snap);
            const auto bs = bus->stats();
            snap.bus = {bs.events, bs.dropped, bs.max_batch, bs.batches, bs.queued};
            return live::prometheus_text(script_, snap, {run_id_, planned_s, sched.phase() == RunPhase::monitoring ? "monitoring" : "executing"});
        });
    auto mo = monitor_options(options_);
    mo.csv = streams.csv.get();
    mo.jsonl = streams.jsonl.get();
    CrashTrace* trace = options_.crash_trace;
    live::RemoteWriter* remote_write = streams.remote_write.get();
    if (trace || remote_write)
        mo.on_snapshot = [this, trace, remote_write, planned_s, &bus](const metrics::RunSnapshot& snap) {
            if (remote_write) {  // every interval: the series the endpoint serves, pushed
                const auto bs = bus->stats();
                const metrics::BusGauges bg{bs.events, bs.dropped, bs.max_batch, bs.batches, bs.queued};
                remote_write->push(live::prometheus_text(script_, snap, {run_id_, planned_s, "executing", &bg}), unix_ms_now());
            }
            if (!trace) return;
            // The report as it stands, for the supervisor to write if a plugin kills the process.
            Report r = report::build_report(script_, snap);
            r.ntx_version = NTX_VERSION_STRING;
            r.res_dir = script_.res_dir.string();
            r.run_id = run_id_;
            r.interrupted = true;  // a snapshot is never a completed run
            r.plugin_violations = plugin_violations();
            trace->publish_report(report::to_json(r));
        };
    live::RunMonitor monitor(script_, read, stop, std::move(mo));
    bus->start(clock.run_started);
    bus->publish(phase_event(names, RunPhase::executing, 0));  // the run's clock starts with the run
    monitor.start(clock.run_started);
    {
        // A plugin call that blocks a loop over 100 ms is reported while it happens.
        LoopWatchdog watchdog(*frame_, calls_, std::min(sched.shard_count(), CrashTrace::Shared::kLoops),
                              std::chrono::milliseconds(100));
        sched.run(stop);
    }
    close(sched, resources, *bus, *archive, names);
    if (streams.tasks) {
        streams.tasks->finish();
        const auto st = streams.tasks->stats();
        if (!st.error.empty() || st.dropped)
            log_->error("--out-stream tasks: {} of {} tasks not written{}{}", st.dropped, st.kept, st.error.empty() ? "" : ": ", st.error);
    }
    // The loops ended: each shard's final counters (with its timelines), so that the intervals add up
    // to the totals and the final snapshot holds everything.
    for (unsigned i = 0; i < sched.shard_count(); ++i) live.publish(sched.shard(i), sched.now_ms(), true, true);
    monitor.finish();
    Report report = final_report(sched, monitor, *bus, *archive, seconds_since(clock.t0), stop.load() > 0);
    if (metrics.server || remote_write) {
        // The final counts: served as they are until the endpoint closes (after --metrics-grace), and
        // pushed once more (the last seconds of a short run reach the receiver too).
        metrics::RunSnapshot snap;
        scheduler::read_snapshot(sched, snap, true);
        snap.elapsed_s = report.duration_s;
        const auto bs = bus->stats();
        snap.bus = {bs.events, bs.dropped, bs.max_batch, bs.batches, bs.queued};
        std::string text = live::prometheus_text(script_, snap, {run_id_, planned_s, "closing"});
        if (remote_write) {
            remote_write->push(text, unix_ms_now());
            remote_write->finish(kRemoteWriteFinish);
            const auto st = remote_write->stats();
            report.remote_write = {streams.remote_write_url, st.requests, st.requests_failed, st.samples_sent,
                                   st.samples_dropped, st.last_error};
            if (st.samples_dropped)
                log_->warn("prometheus-rw {}: {} of {} samples not delivered ({})", streams.remote_write_url, st.samples_dropped,
                           st.samples_sent + st.samples_dropped, st.last_error);
        }
        if (metrics.server) {
            metrics.attach([text = std::move(text)] { return text; });
            detach.keep = true;
        }
    }
    // Every socket, timer and watch is closed and the loops stopped; the plugins release now,
    // and whatever loop they name from here on is refused.
    frame_->detach_loops();
    frame_->release_all();
    return report;
}

ProgressEvent Core::phase_event(const workbook::Names& names, RunPhase phase, uint64_t t_ms) {
    ProgressEvent ev;
    ev.t_ms = t_ms;  // the scheduler's clock, as the shards' events
    ev.kind = "phase";
    ev.scope = ProgressScope::program;
    ev.phase = phase;
    ev.path = names.program;
    return ev;
}

// Closing, once the loops stopped: the leases still held (a leak, reported and the run fails), the
// resource trail, the workbook changes since the loops' last tick, the bus's last event.
void Core::close(scheduler::Scheduler& sched, resource::ResourceMonitor& resources, progress::Bus& bus,
                 workbook::Archive& archive, const workbook::Names& names) {
    resources.stop();
    // Every user released its leases on its way out; what a pool still holds is a leak, reported
    // (and the run fails) after it is returned here.
    for (auto& pool : pools_) {
        uint64_t leaked = pool->release_all();
        if (leaked) log_->error("resource '{}': {} leases still held at the end of the run", pool->name(), leaked);
        leaked_.push_back(leaked);
    }
    resources.flush();
    // The loops stopped: what changed in their ledgers since their last tick goes out too.
    for (unsigned i = 0; i < sched.shard_count(); ++i) sched.shard(i).flush_workbook();
    archive.finish();  // every kept entry is written before the report counts them
    bus.finish(phase_event(names, RunPhase::closing, sched.now_ms()));  // the loops stopped: its clock may be read
}

// The report: the final snapshot through the live readers' builder, then what only the end has
// (resources, persist files, intervals, how the run stopped, the workbook, the bus's counts), and the
// thresholds evaluated on it.
Report Core::final_report(scheduler::Scheduler& sched, live::RunMonitor& monitor, const progress::Bus& bus,
                          workbook::Archive& archive, double duration_s, bool interrupted) {
    sched.persister().finish();  // every persist file is written before the report counts them
    metrics::RunSnapshot snap;
    scheduler::read_snapshot(sched, snap, true);
    snap.elapsed_s = duration_s;
    Report report = report::build_report(script_, snap);
    report.ntx_version = NTX_VERSION_STRING;
    report.res_dir = script_.res_dir.string();
    report.segment_index = script_.segment.index;
    report.segment_count = script_.segment.count;
    report.script_hash = script_hash_;
    for (size_t i = 0; i < script_.components.size(); ++i) {
        const auto& plugin = frame_->components()[i].plugin;
        if (plugin)
            report.plugins.push_back({script_.components[i].name, plugin->api.name ? plugin->api.name : "",
                                      plugin->api.version ? plugin->api.version : ""});
    }
    report.interrupted = interrupted;
    report.resources = report::resources_report(script_, pools_, leaked_);
    auto ps = sched.persister().stats();
    report.persist = {ps.files, ps.bytes, ps.errors, ps.first_error};
    for (size_t s = 0; s < report.scenarios.size(); ++s) {
        report.scenarios[s].intervals = monitor.take_intervals(s);
        // Each action's own series (the report lists a scenario's actions in its own order: by name).
        for (auto& a : report.scenarios[s].actions)
            for (size_t i = 0; i < script_.actions.size(); ++i)
                if (script_.actions[i].name == a.name) a.intervals = monitor.take_action_intervals(s, i);
    }
    report.interval_ms = monitor.interval_ms();
    report.aborted_by_threshold = monitor.aborted();
    report.stopped_by_exit = sched.stop_reason();
    // The overrides used; a value log.mask covers (env.PASSWORD) is not written out.
    const Masker masker(script_.config.log_mask);
    for (auto o : script_.overrides_used) {
        if (masker.masks(o.name)) o.value = "***";
        report.overrides.push_back(std::move(o));
    }
    report.features = script_.config.features;
    report.workbook = close_workbook(sched, archive);
    auto bs = bus.stats();
    report.workbook.stream_events = bs.events;
    report.workbook.stream_batches = bs.batches;
    report.workbook.stream_dropped = bs.dropped;
    report.workbook.stream_max_batch = bs.max_batch;
    report.plugin_violations = plugin_violations();
    report.thresholds = report::evaluate_thresholds(script_.thresholds, report);
    return report;
}

}  // namespace ntx::core
