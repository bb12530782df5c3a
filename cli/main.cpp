// The ntx command: `ntx run RES_DIR|SCRIPT.yaml|-`, `ntx validate ...`, `ntx new NAME`, `ntx plugins list|info`.
// Exit codes: 0 run completed and passed, 1 run completed but failed its criteria (a threshold, an
// abort-on-fail threshold, a scenario's exit `fatal`), 2 invalid input (script, manifest, arguments),
// 3 internal or plugin failure, 4 interrupted (SIGINT/SIGTERM) before it completed.
#include "compare.hpp"
#include "new_res_dir.hpp"
#include "run_overrides.hpp"
#include "supervisor.hpp"

#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <sys/resource.h>
#include <ntx/ntx.hpp>

namespace po = boost::program_options;

namespace {

constexpr int kExitPassed = 0;
constexpr int kExitFailed = 1;
constexpr int kExitInvalid = 2;
constexpr int kExitInternal = 3;
constexpr int kExitInterrupted = 4;

ntx::Host* g_host = nullptr;
volatile std::sig_atomic_t g_signalled = 0;

extern "C" void on_signal(int) {
    g_signalled = 1;
    if (g_host) g_host->stop();  // an atomic store: async-signal-safe
}

void usage(std::FILE* out, const po::options_description& opts) {
    std::fprintf(out,
                 "usage: ntx run RES_DIR|SCRIPT.yaml|- [--out DIR] [--users N] [--rate R/s] [--duration D]\n"
                 "               [--scenario NAME]... [-e KEY=VALUE]... [--feature NAME=on|off]... [options]\n"
                 "       ntx validate RES_DIR|SCRIPT.yaml|- [the same overrides]\n"
                 "       ntx new NAME   (writes a starter res_dir NAME/ against ntx-target)\n"
                 "       ntx merge DIR... --out DIR   (the report folders of the segments of one test)\n"
                 "       ntx compare BASELINE RUN [--archive DIR]   (report.json, its folder, or an archived run id)\n"
                 "       ntx plugins list [--plugin-path DIR]... [--json]\n"
                 "       ntx plugins info PATH|NAME [--plugin-path DIR]... [--json]\n"
                 "       ntx wasm compile PLUGIN.wasm -o ntx_NAME.so   (ahead of time, with wasm2c and cc)\n"
                 "       ntx --version\n"
                 "exit codes: 0 passed, 1 failed its thresholds (or a fatal exit), 2 invalid input, 3 internal or plugin\n"
                 "            failure, 4 interrupted (SIGINT/SIGTERM; the report covers what ran)\n\n");
    std::ostringstream s;
    s << opts;
    std::fputs(s.str().c_str(), out);
}

std::string join(const std::vector<std::string>& items, const char* sep) {
    std::string out;
    for (const auto& s : items) out += (out.empty() ? "" : sep) + s;
    return out;
}

boost::json::object to_json(const ntx::PluginInfo& p) {
    boost::json::array caps;
    for (const auto& c : p.capabilities) caps.emplace_back(c);
    boost::json::object o{{"path", p.path},
                          {"loaded", p.loaded},
                          {"name", p.name},
                          {"version", p.version},
                          {"version_is_semver", p.version_is_semver},
                          {"abi", std::to_string(p.abi_major) + "." + std::to_string(p.abi_minor)},
                          {"capabilities", std::move(caps)},
                          {"backend", p.backend},
                          {"shadowed", p.shadowed}};
    if (!p.loaded) o["error"] = p.error;
    return o;
}

// `ntx plugins list`: every ntx_*.so on the search path; refused files are listed with the loader's
// error. Exit 0 once the listing is printed, whatever it holds.
int plugins_list(const std::vector<std::string>& paths, bool json) {
    auto plugins = ntx::list_plugins(paths);
    auto search = ntx::plugin_search_path(paths);
    if (json) {
        boost::json::array list, dirs;
        for (const auto& p : plugins) list.emplace_back(to_json(p));
        for (const auto& d : search) dirs.emplace_back(d);
        std::printf("%s\n", boost::json::serialize(boost::json::object{{"search_path", std::move(dirs)},
                                                                      {"plugins", std::move(list)}}).c_str());
        return kExitPassed;
    }
    std::printf("search path (first match wins for `entry: NAME`):\n");
    for (const auto& d : search) std::printf("  %s\n", d.c_str());
    if (plugins.empty()) {
        std::printf("no plugins found (files named ntx_<name>.so)\n");
        return kExitPassed;
    }
    std::printf("\n%-14s %-10s %-5s %-40s %s\n", "NAME", "VERSION", "ABI", "CAPABILITIES", "PATH");
    for (const auto& p : plugins) {
        std::string abi = std::to_string(p.abi_major) + "." + std::to_string(p.abi_minor);
        std::string caps = join(p.capabilities, ",");
        if (p.loaded) {
            std::printf("%-14s %-10s %-5s %-40s %s%s\n", p.name.c_str(), p.version.c_str(), abi.c_str(), caps.c_str(),
                        p.path.c_str(), p.shadowed ? "  (shadowed by an earlier file of this name)" : "");
        } else {
            std::printf("%-14s %-10s %-5s %-40s %s\n", p.name.empty() ? "?" : p.name.c_str(),
                        p.version.empty() ? "-" : p.version.c_str(), p.abi_major ? abi.c_str() : "-", "(refused)",
                        p.path.c_str());
            std::printf("    error: %s\n", p.error.c_str());
        }
    }
    return kExitPassed;
}

// `ntx plugins info PATH|NAME`: exit 0 loaded, 2 not found, 3 found but refused by the loader.
int plugins_info(const std::string& what, const std::vector<std::string>& paths, bool json) {
    ntx::PluginInfo p = ntx::inspect_plugin(what, paths);
    const int rc = p.loaded ? kExitPassed : p.path.empty() ? kExitInvalid : kExitInternal;
    if (json) {
        std::printf("%s\n", boost::json::serialize(to_json(p)).c_str());
        return rc;
    }
    if (p.path.empty()) {
        std::fprintf(stderr, "ntx: error: %s\n", p.error.c_str());
        return rc;
    }
    std::printf("path:          %s\n", p.path.c_str());
    std::printf("status:        %s\n", p.loaded ? "loads (the host's checks pass)" : "refused by the loader");
    if (!p.loaded) std::printf("error:         %s\n", p.error.c_str());
    if (!p.name.empty()) std::printf("name:          %s\n", p.name.c_str());
    if (!p.version.empty())
        std::printf("version:       %s%s\n", p.version.c_str(), p.version_is_semver ? "" : " (not a semantic version)");
    if (p.abi_major)
        std::printf("abi:           %u.%u (this host: %d.%d)\n", p.abi_major, p.abi_minor, NTX_ABI_MAJOR, NTX_ABI_MINOR);
    if (!p.capabilities.empty()) std::printf("capabilities:  %s\n", join(p.capabilities, ", ").c_str());
    if (!p.backend.empty()) std::printf("backend:       %s\n", p.backend.c_str());
    return rc;
}

// --workbook-retain / --workbook-sample / --workbook-limit / --workbook-gzip; false (with a message)
// on a value that is not one of theirs.
bool parse_retention(const po::variables_map& vm, ntx::WorkbookRetention& r) {
    using Keep = ntx::WorkbookRetention::Keep;
    using Sample = ntx::WorkbookRetention::Sample;
    if (vm.count("workbook-retain")) {
        const std::string v = vm["workbook-retain"].as<std::string>();
        if (v == "all") r.keep = Keep::all;
        else if (v == "failed") r.keep = Keep::failed;
        else if (v == "sample") r.keep = Keep::sample;
        else if (v == "failed+sample") r.keep = Keep::failed_and_sample;
        else if (v == "none") r.keep = Keep::none;
        else {
            std::fprintf(stderr, "ntx: error: --workbook-retain '%s': expected all, failed, sample, failed+sample or none\n",
                         v.c_str());
            return false;
        }
        // Every entry means every entry: no default limit unless one is given.
        if (r.keep == Keep::all && !vm.count("workbook-limit")) r.limit = 0;
    }
    if (vm.count("workbook-sample")) {
        const std::string v = vm["workbook-sample"].as<std::string>();
        auto number = [](std::string_view text, double& out) {
            if (text.empty()) return false;
            char* end = nullptr;
            std::string t(text);
            out = std::strtod(t.c_str(), &end);
            return end && *end == '\0' && out > 0 && std::isfinite(out);
        };
        double n = 0;
        bool ok = false;
        if (v.rfind("every:", 0) == 0) {
            ok = number(std::string_view(v).substr(6), n) && n >= 1 && n == std::floor(n);
            r.sample = Sample::every;
        } else if (v.rfind("first:", 0) == 0) {
            ok = number(std::string_view(v).substr(6), n) && n == std::floor(n);
            r.sample = Sample::first;
        } else if (!v.empty() && v.back() == '%') {
            ok = number(std::string_view(v).substr(0, v.size() - 1), n) && n <= 100;
            r.sample = Sample::percent;
        }
        if (!ok) {
            std::fprintf(stderr,
                         "ntx: error: --workbook-sample '%s': expected every:N (N >= 1), N%% (0 < N <= 100) or first:N\n",
                         v.c_str());
            return false;
        }
        r.sample_n = n;
    }
    if (vm.count("workbook-limit")) r.limit = vm["workbook-limit"].as<uint64_t>();
    r.gzip = vm.count("workbook-gzip") > 0;
    return true;
}

// --out: the folder of the reports, and (as k6's --out) KIND=TARGET result streams, told apart by a
// known stream kind before the `=` (a folder named so is reached as ./csv=x).
bool is_stream_spec(const std::string& v) {
    const auto eq = v.find('=');
    if (eq == std::string::npos) return false;
    const std::string kind = v.substr(0, eq);
    return kind == "csv" || kind == "jsonl" || kind == "tasks" || kind == "prometheus-rw" || kind == "otlp" ||
           kind == "opentelemetry";
}
std::vector<std::string> out_values(const po::variables_map& vm, bool streams) {
    std::vector<std::string> out;
    if (vm.count("out"))
        for (const auto& v : vm["out"].as<std::vector<std::string>>())
            if (is_stream_spec(v) == streams) out.push_back(v);
    return out;
}
// The folder given to --out ("" when none; the last one when several were given).
std::string out_folder(const po::variables_map& vm) {
    const auto dirs = out_values(vm, false);
    return dirs.empty() ? std::string() : dirs.back();
}

// `ntx merge DIR... --out DIR`: 2 when the reports are not the segments of one test (each problem
// named), else as a run: 0 when the merged result passes every threshold, 1 when not or when an
// instance was interrupted.
int merge(const std::vector<std::string>& dirs, const po::variables_map& vm) {
    if (dirs.empty() || out_folder(vm).empty()) {
        std::fprintf(stderr, "ntx: error: expected `merge DIR... --out DIR`\n");
        return kExitInvalid;
    }
    try {
        ntx::Report report = ntx::merge_runs(dirs, out_folder(vm));
        if (!vm.count("quiet")) {
            std::printf("merged %zu segments: %llu actions, %llu ok, %llu errors, %llu timeouts; p50 %.3f ms, p99 %.3f ms\n",
                        dirs.size(), static_cast<unsigned long long>(report.total_actions),
                        static_cast<unsigned long long>(report.total_ok), static_cast<unsigned long long>(report.total_errors),
                        static_cast<unsigned long long>(report.total_timeouts), report.latency.p50_ms, report.latency.p99_ms);
            for (const auto& t : report.thresholds)
                std::printf("  %s %s (actual %g %s)\n", t.passed ? "PASS" : "FAIL", t.expression.c_str(), t.actual, t.unit.c_str());
        }
        return report.interrupted || !report.thresholds_passed() ? kExitFailed : kExitPassed;
    } catch (const ntx::InvalidInput& e) {
        for (const auto& d : e.diagnostics()) std::fprintf(stderr, "%s\n", d.to_string().c_str());
        std::fprintf(stderr, "ntx: merge refused: %zu problem%s\n", e.diagnostics().size(), e.diagnostics().size() == 1 ? "" : "s");
        return kExitInvalid;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ntx: failure: %s\n", e.what());
        return kExitInternal;
    }
}

}  // namespace

int main(int argc, char** argv) {
    po::options_description opts("options");
    opts.add_options()("help,h", "show this help")("version", "print the version")(
        "out,o", po::value<std::vector<std::string>>()->composing(),
        "write report.json, report.xml and report.html into DIR; KIND=TARGET (repeatable) is a result stream, as "
        "--out-stream")(
        "plugin-path,P", po::value<std::vector<std::string>>()->composing(),
        "a directory to search for plugins (repeatable; before NTX_PLUGIN_PATH and the shipped plugins)")(
        "threads,t", po::value<unsigned>(), "event loops to run (default: config.yaml's threads, else one per core)")(
        "quiet,q", "print no progress line and no end summary")(
        "seed", po::value<uint64_t>(), "run: seed the users' random draws (think distributions, random()); "
                                       "report.json's seed repeats a run")(
        "metrics-listen", po::value<std::string>(),
        "serve Prometheus metrics on ADDR:PORT during the run (e.g. 127.0.0.1:9464; another address needs "
        "--metrics-public)")(
        "metrics-public", "allow --metrics-listen on an address other than loopback (anyone who reaches it can read "
                          "the run's metrics)")(
        "metrics-grace", po::value<std::string>(),
        "keep the metrics endpoint up this long after the run (e.g. 5s), so the last scrape sees the final counts")(
        "run-id", po::value<std::string>(), "the run's id: the run_id label of its Prometheus series and report.json's "
                                            "run_id (default: its UTC start time and a random suffix)")(
        "out-stream", po::value<std::vector<std::string>>()->composing(),
        "run: write a result stream as the run goes, KIND=TARGET (repeatable): csv=FILE and jsonl=FILE (every interval "
        "of every scenario and action), tasks=FILE (every finished task, JSON lines), prometheus-rw=URL (the run's "
        "metrics pushed by Prometheus remote write every interval)")(
        "live", po::value<std::string>(), "the live view: line (one line per scenario, the default) or table (per action)")(
        "workbook-stream", "run: also write the progress bus's events (the workbook change stream) to "
                           "DIR/workbook-stream.jsonl (needs --out)")(
        "workbook-retain", po::value<std::string>(),
        "run: which finished tasks' workbook entries are kept (written to workbook.jsonl): all, failed, sample, "
        "failed+sample (the default) or none")(
        "workbook-sample", po::value<std::string>(),
        "run: the sample the retention keeps: every:N (the default every:100), N% or first:N (per scenario)")(
        "workbook-limit", po::value<uint64_t>(),
        "run: at most N workbook entries kept in the run (default 100000; 0 = no limit)")(
        "workbook-gzip", "run: write workbook.jsonl.gz (gzip) instead of workbook.jsonl")(
        "archive", po::value<std::string>(),
        "run: copy report.json and workbook.jsonl into DIR/<run id>/ (needs --out); compare: where run ids are found")(
        "baseline", po::value<std::string>(),
        "run: after the run, compare it with this run (a run id in --archive DIR, a report.json or its folder)")(
        "json", "plugins list|info: print JSON")(
        "segment", po::value<std::string>(),
        "run, validate: run only segment I of a test split among N instances (I/N, 0 <= I < N; docs/distributed.md)")(
        "start-at", po::value<std::string>(),
        "run: plan and load, then connect nothing until TIME (RFC 3339 or Unix seconds; at most 24 h ahead)");
    ntx::cli::add_override_options(opts);
    po::options_description hidden;
    hidden.add_options()("command", po::value<std::string>())("args", po::value<std::vector<std::string>>());
    po::options_description all;
    all.add(opts).add(hidden);
    po::positional_options_description pos;
    pos.add("command", 1).add("args", -1);

    po::variables_map vm;
    try {
        std::vector<std::string> words = ntx::cli::join_dash_values(argc, argv);
        words.erase(words.begin());  // the program's name
        po::store(po::command_line_parser(words).options(all).positional(pos).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        std::fprintf(stderr, "ntx: error: %s\n", e.what());
        usage(stderr, opts);
        return kExitInvalid;
    }
    if (vm.count("help")) {
        usage(stdout, opts);
        return kExitPassed;
    }
    if (vm.count("version")) {
        std::printf("ntx %s (plugin ABI %d.%d)\n", NTX_VERSION_STRING, NTX_ABI_MAJOR, NTX_ABI_MINOR);
        return kExitPassed;
    }
    std::vector<std::string> args;
    if (vm.count("args")) args = vm["args"].as<std::vector<std::string>>();
    ntx::RunOptions options;
    if (vm.count("plugin-path")) options.plugin_paths = vm["plugin-path"].as<std::vector<std::string>>();
    if (vm.count("command") && vm["command"].as<std::string>() == "plugins") {
        const bool json = vm.count("json") > 0;
        try {
            if (args.size() == 1 && args[0] == "list") return plugins_list(options.plugin_paths, json);
            if (args.size() == 2 && args[0] == "info") return plugins_info(args[1], options.plugin_paths, json);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "ntx: internal error: %s\n", e.what());
            return kExitInternal;
        }
        std::fprintf(stderr, "ntx: error: expected `plugins list` or `plugins info PATH|NAME`\n");
        usage(stderr, opts);
        return kExitInvalid;
    }
    if (vm.count("command") && vm["command"].as<std::string>() == "wasm") {
        if (args.size() != 2 || args[0] != "compile" || out_folder(vm).empty()) {
            std::fprintf(stderr, "ntx: error: expected `wasm compile PLUGIN.wasm -o ntx_NAME.so`\n");
            return kExitInvalid;
        }
        std::string error;
        if (!ntx::compile_wasm_plugin(args[1], out_folder(vm), error)) {
            std::fprintf(stderr, "ntx: error: %s\n", error.c_str());
            return kExitInvalid;
        }
        std::printf("compiled %s -> %s (wasm2c)\n", args[1].c_str(), out_folder(vm).c_str());
        return kExitPassed;
    }
    const std::string archive_dir = vm.count("archive") ? vm["archive"].as<std::string>() : std::string();
    if (vm.count("command") && vm["command"].as<std::string>() == "compare") {
        if (args.size() != 2) {
            std::fprintf(stderr, "ntx: error: expected `compare BASELINE RUN`\n");
            return kExitInvalid;
        }
        return ntx::cli::compare_runs(args[0], args[1], archive_dir, stdout);
    }
    if (vm.count("command") && vm["command"].as<std::string>() == "new") {
        if (args.size() != 1) {
            std::fprintf(stderr, "ntx: error: expected `new NAME` (the folder to create)\n");
            return kExitInvalid;
        }
        return ntx::cli::new_res_dir(args[0], stdout, stderr) ? kExitPassed : kExitInvalid;
    }
    if (vm.count("command") && vm["command"].as<std::string>() == "merge") return merge(args, vm);
    if (!vm.count("command") || args.size() != 1) {
        usage(stderr, opts);
        return kExitInvalid;
    }
    std::string command = vm["command"].as<std::string>();
    std::string res_dir = args[0];
    if (!ntx::cli::read_overrides(vm, options.overrides)) return kExitInvalid;
    if (res_dir == "-") {
        // The script on stdin; the current directory is the res_dir (config.yaml, resource/, manifests).
        options.script_text = std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
        options.script_name = "<stdin>";
        res_dir = ".";
    }
    if (vm.count("threads")) options.threads = vm["threads"].as<unsigned>();
    if (vm.count("seed")) options.seed = vm["seed"].as<uint64_t>();
    options.out_dir = out_folder(vm);
    if (out_values(vm, false).size() > 1) {
        std::fprintf(stderr, "ntx: error: --out names more than one folder\n");
        return kExitInvalid;
    }
    options.quiet = vm.count("quiet") > 0;
    if (vm.count("metrics-listen")) options.metrics_listen = vm["metrics-listen"].as<std::string>();
    options.metrics_public = vm.count("metrics-public") > 0;
    if (vm.count("run-id")) options.run_id = vm["run-id"].as<std::string>();
    std::vector<std::string> stream_specs = out_values(vm, true);  // --out KIND=TARGET, then --out-stream's
    if (vm.count("out-stream"))
        for (const auto& spec : vm["out-stream"].as<std::vector<std::string>>()) stream_specs.push_back(spec);
    for (const auto& spec : stream_specs) {
        const auto eq = spec.find('=');
        const std::string kind = spec.substr(0, eq);
        if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {  // the kind is checked by the run
            std::fprintf(stderr, "ntx: error: --out-stream '%s': expected KIND=TARGET (csv, jsonl or tasks and a file, "
                                 "prometheus-rw and a URL)\n", spec.c_str());
            return kExitInvalid;
        }
        options.out_streams.emplace_back(kind, spec.substr(eq + 1));
    }
    if (vm.count("metrics-grace")) {
        const std::string v = vm["metrics-grace"].as<std::string>();
        char* end = nullptr;
        const double n = std::strtod(v.c_str(), &end);
        const std::string unit = end ? end : "";
        const double scale = unit == "ms" ? 1 : unit == "s" || unit.empty() ? 1000 : unit == "m" ? 60000 : -1;
        if (v.empty() || end == v.c_str() || scale < 0 || !(n >= 0) || n * scale > 3600000) {
            std::fprintf(stderr, "ntx: error: --metrics-grace '%s': expected a duration such as 500ms, 5s or 1m (at most 1h)\n",
                         v.c_str());
            return kExitInvalid;
        }
        options.metrics_grace_ms = static_cast<unsigned>(n * scale);
    }
    if (vm.count("live")) {
        const std::string v = vm["live"].as<std::string>();
        if (v != "line" && v != "table") {
            std::fprintf(stderr, "ntx: error: --live '%s': expected line or table\n", v.c_str());
            return kExitInvalid;
        }
        options.live_table = v == "table";
    }
    options.workbook_stream = vm.count("workbook-stream") > 0;
    if (!parse_retention(vm, options.workbook_retention)) return kExitInvalid;
    if (vm.count("segment")) {
        std::string error;
        if (!ntx::parse_segment(vm["segment"].as<std::string>(), options.segment_index, options.segment_count, error)) {
            std::fprintf(stderr, "ntx: error: %s\n", error.c_str());
            return kExitInvalid;
        }
    }
    if (vm.count("start-at")) {
        std::string error;
        const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch()).count();
        if (!ntx::parse_start_at(vm["start-at"].as<std::string>(), now, options.start_at_unix_ms, error)) {
            std::fprintf(stderr, "ntx: error: %s\n", error.c_str());
            return kExitInvalid;
        }
    }
    if (!archive_dir.empty() && options.out_dir.empty()) {
        std::fprintf(stderr, "ntx: error: --archive copies the run's --out folder: give --out DIR\n");
        return kExitInvalid;
    }
    if (vm.count("baseline") && options.out_dir.empty()) {
        std::fprintf(stderr, "ntx: error: --baseline compares the run's report.json: give --out DIR\n");
        return kExitInvalid;
    }
    if (options.workbook_stream && options.out_dir.empty()) {
        std::fprintf(stderr, "ntx: error: --workbook-stream writes into the --out folder: give --out DIR\n");
        return kExitInvalid;
    }

    // A run holds a descriptor per connection: the soft open-file limit (often 1024) goes up to the
    // hard one, as ntx-target does; planning warns when users x connections still cannot fit.
    if (command == "run") {
        rlimit nofile{};
        if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
            nofile.rlim_cur = nofile.rlim_max;
            ::setrlimit(RLIMIT_NOFILE, &nofile);
        }
    }
    // `ntx run` forks the real run under a supervisor (supervisor.hpp); validate runs here.
    auto execute = [&](ntx::CrashTrace* trace) -> int {
        options.crash_trace = trace;
        ntx::Host host;
        try {
            if (command == "validate") {
                host.validate(res_dir, options);
                const char* shown = options.script_text ? "<stdin>" : res_dir.c_str();
                if (options.segment_count > 1)
                    std::printf("%s: ok (segment %u/%u)\n", shown, options.segment_index, options.segment_count);
                else
                    std::printf("%s: ok\n", shown);
                return kExitPassed;
            }
            if (command != "run") {
                std::fprintf(stderr, "ntx: error: unknown command '%s' (run, validate, new, compare or plugins)\n",
                             command.c_str());
                return kExitInvalid;
            }
            g_host = &host;
            std::signal(SIGINT, on_signal);
            std::signal(SIGTERM, on_signal);
            ntx::Report report = host.start(res_dir, options);
            g_host = nullptr;
            if (!archive_dir.empty()) {
                std::string error;
                std::string id = ntx::cli::archive_run(options.out_dir, archive_dir, error);
                if (id.empty()) std::fprintf(stderr, "ntx: warning: the run was not archived: %s\n", error.c_str());
                else if (!options.quiet) std::printf("archived as %s (in %s)\n", id.c_str(), archive_dir.c_str());
            }
            if (vm.count("baseline")) {
                std::printf("\n");
                // A baseline that cannot be read is reported; the run's own verdict still decides the exit code.
                ntx::cli::compare_runs(vm["baseline"].as<std::string>(), options.out_dir, archive_dir, stdout);
            }
            // An interrupted run did not complete: it cannot pass, and says so with a code of its own. A
            // completed run passes when every threshold of the script holds (an abort-on-fail threshold or a
            // fatal exit that stopped it early is a failure: 1).
            if (g_signalled) return kExitInterrupted;
            return report.interrupted || !report.thresholds_passed() ? kExitFailed : kExitPassed;
        } catch (const ntx::InvalidInput& e) {
            for (const auto& d : e.diagnostics()) std::fprintf(stderr, "%s\n", d.to_string().c_str());
            std::fprintf(stderr, "ntx: %zu error%s in %s\n", e.diagnostics().size(), e.diagnostics().size() == 1 ? "" : "s",
                         options.script_text ? "<stdin>" : res_dir.c_str());
            return kExitInvalid;
        } catch (const ntx::RuntimeFailure& e) {
            std::fprintf(stderr, "ntx: failure: %s\n", e.what());
            return kExitInternal;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "ntx: internal error: %s\n", e.what());
            return kExitInternal;
        }
    };
    return command == "run" ? ntx::cli::supervise(options.out_dir, execute) : execute(nullptr);
}
