#include "report/report_writer.hpp"

#include "files/safe_file.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <fmt/format.h>
#include <fstream>
#include <cstdlib>
#include <stdexcept>
#include <unistd.h>

namespace ntx::report {
namespace json = boost::json;

namespace {

double round3(double v) { return static_cast<double>(static_cast<int64_t>(v * 1000.0 + (v >= 0 ? 0.5 : -0.5))) / 1000.0; }

json::array overrides_json(const std::vector<AppliedOverride>& overrides) {
    json::array out;
    for (const auto& o : overrides) out.push_back(json::object{{"name", o.name}, {"value", o.value}, {"source", o.source}});
    return out;
}

json::object latency_json(const LatencySummary& l) {
    return {{"min", round3(l.min_ms)}, {"mean", round3(l.mean_ms)}, {"p50", round3(l.p50_ms)},
            {"p90", round3(l.p90_ms)},  {"p95", round3(l.p95_ms)},   {"p99", round3(l.p99_ms)},
            {"p999", round3(l.p999_ms)}, {"max", round3(l.max_ms)}};
}

// The compact histogram behind an action's latency: what `ntx merge` adds up (exact percentiles of the
// union). Runs of adjacent non-empty buckets, each [first index, count, count, ...]: latencies fill
// neighbouring buckets, so a run costs one index for many counts.
json::object histogram_json(const LatencyBuckets& h) {
    json::array runs;
    json::array run;
    uint32_t next = 0;
    for (const auto& [i, n] : h.buckets) {
        if (run.empty() || i != next) {
            if (!run.empty()) runs.push_back(std::move(run));
            run = json::array{i};
        }
        run.push_back(n);
        next = i + 1;
    }
    if (!run.empty()) runs.push_back(std::move(run));
    return {{"count", h.count}, {"sum_us", h.sum_us}, {"min_us", h.min_us}, {"max_us", h.max_us},
            {"buckets", std::move(runs)}};
}

// The ok latencies as [le_ms, count] pairs (report.html's distribution chart).
json::array distribution_json(const std::vector<std::pair<double, uint64_t>>& buckets) {
    json::array out;
    for (const auto& [le, n] : buckets) out.push_back(json::array{round3(le), n});
    return out;
}

// One interval: an action's has no `online` (0) and its errors by kind when it had any.
json::object interval_json(const IntervalStats& iv, bool action) {
    json::object o{{"t_s", round3(iv.t_s)},           {"ok", iv.ok},
                   {"errors", iv.errors},             {"timeouts", iv.timeouts},
                   {"p50_ms", round3(iv.p50_ms)},     {"p95_ms", round3(iv.p95_ms)},
                   {"p99_ms", round3(iv.p99_ms)}};
    if (!action) o["online"] = iv.online;
    if (!iv.errors_by_kind.empty()) {
        json::object kinds;
        for (const auto& [k, n] : iv.errors_by_kind) kinds[k] = n;
        o["errors_by_kind"] = std::move(kinds);
    }
    return o;
}

json::array intervals_json(const std::vector<IntervalStats>& points, bool action) {
    json::array out;
    out.reserve(points.size());
    for (const auto& iv : points) out.push_back(interval_json(iv, action));
    return out;
}

// `with_histogram`: a scenario's actions carry theirs; the scenario's, the run's and the top-level
// actions' are sums of those (ntx merge sums them again), so they are not written twice.
json::object action_json(const ActionReport& a, double duration_s, bool with_histogram) {
    json::object by_kind;
    for (const auto& [k, n] : a.errors_by_kind) by_kind[k] = n;
    json::object by_class;
    for (const auto& [k, n] : a.status_classes) by_class[k] = n;
    json::object by_protocol;
    for (const auto& [k, n] : a.protocols) by_protocol[k] = n;
    json::object examples;
    for (const auto& e : a.error_examples)
        examples[e.kind] = json::object{{"reason", e.reason}, {"user", e.user}, {"task", e.task}, {"at_s", round3(e.at_s)}};
    json::array checks;
    for (const auto& c : a.checks) checks.push_back(json::object{{"check", c.check}, {"pass", c.pass}, {"fail", c.fail}});
    json::object o{{"name", a.name},
                        {"checks", std::move(checks)},
                        {"component", a.component},
                        {"call", a.call},
                        {"count", a.count},
                        {"ok", a.ok},
                        {"errors", a.errors},
                        {"timeouts", a.timeouts},
                        {"cancelled", a.cancelled},
                        {"retries", a.retries},
                        {"throttled", a.throttled},
                        {"dynamic", a.dynamic},
                        {"origin", a.dynamic == 0 ? "static" : (a.ad_hoc || a.dynamic == a.count) ? "dynamic" : "mixed"},
                        {"errors_by_kind", std::move(by_kind)},
                        {"error_examples", std::move(examples)},
                        {"status_classes", std::move(by_class)},
                        {"protocols", std::move(by_protocol)},
                        {"bytes_sent", a.bytes_sent},
                        {"bytes_received", a.bytes_received},
                        {"throughput_per_s", round3(duration_s > 0 ? static_cast<double>(a.count) / duration_s : 0)},
                        {"latency_ms", latency_json(a.latency)},
                        {"latency_failed_ms", latency_json(a.latency_failed)},
                        {"latency_distribution", distribution_json(a.latency_buckets)},
                        {"intervals", intervals_json(a.intervals, true)}};
    if (with_histogram) o["latency_histogram"] = histogram_json(a.latency.histogram);
    return o;
}

std::string format_value(double v, const std::string& unit) {
    if (unit == "ms") return fmt::format("{:.2f}ms", v);
    if (unit == "ratio") return fmt::format("{:.3f}%", v * 100.0);
    if (unit == "per_s") return fmt::format("{:.1f}/s", v);
    return fmt::format("{}", v);
}

}  // namespace

std::string to_json(const Report& r) {
    json::array scenarios;
    for (const auto& s : r.scenarios) {
        json::array actions;
        for (const auto& a : s.actions) actions.push_back(action_json(a, s.duration_s, true));
        json::array intervals = intervals_json(s.intervals, false);
        json::object scenario{
            {"name", s.name},
            {"workflow", s.workflow},
            {"model", s.model},
            {"duration_s", round3(s.duration_s)},
            {"users", json::object{{"spawned", s.spawned}, {"peak_online", s.peak_online}, {"completed", s.completed}, {"stopped", s.stopped}}},
            {"tasks", s.tasks},
            {"task_retries", s.task_retries},
            {"condition_errors", s.condition_errors},
            {"condition_error_example", s.condition_error_example},
            {"resource_wait_timeouts", s.resource_wait_timeouts},
            {"dynamic_tasks", json::object{{"requested", s.dynamic_requested},
                                           {"started", s.dynamic_started},
                                           {"refused", s.dynamic_refused},
                                           {"ended", s.dynamic_ended}}},
            {"exits", json::object{{"timeout_out", s.exit_timeout},
                                   {"error_out", s.exit_error},
                                   {"closing", s.exit_closing},
                                   {"rollback", s.exit_rollback},
                                   {"stop_user", s.exit_stop_user}}},
            {"actions", std::move(actions)},
            {"latency_ms", latency_json(s.latency)},
            {"task_duration_ms", latency_json(s.task_duration)},
            {"task_failed_duration_ms", latency_json(s.task_failed_duration)},
            {"tasks_ended", json::object{{"ok", s.tasks_ended_ok}, {"failed", s.tasks_ended_failed}}},
            {"intervals", std::move(intervals)},
            {"timeline", json::object{{"bucket_ms", s.timeline_bucket_ms},
                                      {"started", json::value_from(s.started_per_100ms)},
                                      {"online", json::value_from(s.online_per_100ms)}}}};
        if (s.model == "open")
            scenario["arrivals"] = json::object{{"planned", s.arrivals_planned}, {"started", s.arrivals_started},
                                                {"dropped", s.arrivals_dropped}};
        scenarios.push_back(std::move(scenario));
    }
    json::array actions;
    for (const auto& a : r.actions) actions.push_back(action_json(a, r.duration_s, false));
    json::array thresholds;
    for (const auto& t : r.thresholds)
        thresholds.push_back(json::object{{"expression", t.expression}, {"metric", t.metric},   {"op", t.op},
                                          {"limit", t.limit},          {"actual", t.actual},   {"unit", t.unit},
                                          {"passed", t.passed},        {"abort_on_fail", t.abort_on_fail},
                                          {"file", t.file},            {"line", t.line}});
    json::array pools, blobs, kv_stores;
    for (const auto& p : r.resources.pools) {
        json::object o{{"name", p.name},
                       {"type", "pair_pool"},
                       {"guard", p.guard},
                       {"strategy", p.strategy},
                       {"items", p.items},
                       {"ttl_ms", p.ttl_ms},
                       {"auto_renew", p.auto_renew},
                       {"leases", json::object{{"acquired", p.acquired},
                                               {"released", p.released},
                                               {"renewed", p.renewed},
                                               {"expired", p.expired},
                                               {"evicted", p.evicted},
                                               {"rolled_back", p.rolled_back},
                                               {"peak_held", p.peak_held},
                                               {"held_at_end", p.held_at_end}}},
                       {"waits", json::object{{"count", p.waits},
                                              {"timeouts", p.wait_timeouts},
                                              {"p50_ms", round3(p.wait_p50_ms)},
                                              {"p99_ms", round3(p.wait_p99_ms)},
                                              {"max_ms", round3(p.wait_max_ms)}}}};
        if (p.health_check)
            o["health"] = json::object{{"probe", "tcp"},          {"on_failure", p.on_failure},
                                       {"rounds", p.probe_rounds}, {"probes", p.probes},
                                       {"failures", p.probe_failures}, {"downs", p.downs},
                                       {"recoveries", p.recoveries},   {"down_at_end", p.down_at_end}};
        pools.push_back(std::move(o));
    }
    for (const auto& b : r.resources.blobs)
        blobs.push_back(json::object{{"name", b.name}, {"file", b.file}, {"size", b.size}, {"sha256", b.sha256},
                                     {"checksum", b.checksum}});
    for (const auto& kv : r.resources.kv_stores)
        kv_stores.push_back(json::object{{"name", kv.name}, {"source", kv.source}, {"keys", kv.keys}});
    json::object resources{{"pools", std::move(pools)},
                           {"file_blobs", std::move(blobs)},
                           {"kv_stores", std::move(kv_stores)},
                           {"leases_leaked", r.resources.leases_leaked}};
    if (!r.resources.lease_trail.empty()) resources["lease_trail"] = r.resources.lease_trail;
    json::object root{{"ntx_version", r.ntx_version},
                      {"run_id", r.run_id},
                      {"res_dir", r.res_dir},
                      {"started_at", r.started_at},
                      {"interrupted", r.interrupted},
                      {"seed", r.seed},
                      {"scenarios", std::move(scenarios)},
                      {"checks", [&] {
                           uint64_t pass = 0, fail = 0;
                           for (const auto& a : r.actions)
                               for (const auto& c : a.checks) pass += c.pass, fail += c.fail;
                           return json::object{{"pass", pass}, {"fail", fail},
                                               {"rate", pass + fail ? round3(static_cast<double>(pass) / static_cast<double>(pass + fail)) : 1.0}};
                       }()},
                      {"totals", json::object{{"actions", r.total_actions},
                                              {"ok", r.total_ok},
                                              {"errors", r.total_errors},
                                              {"timeouts", r.total_timeouts},
                                              {"cancelled", r.total_cancelled},
                                              {"socket_bytes_sent", r.socket_bytes_sent},
                                              {"socket_bytes_received", r.socket_bytes_received},
                                              {"sockets_opened", r.sockets_opened},
                                              {"duration_s", round3(r.duration_s)},
                                              {"latency_ms", latency_json(r.latency)}}},
                      {"actions", std::move(actions)},
                      {"workflows", [&] {
                           json::array ws;
                           for (const auto& w : r.workflows)
                               ws.push_back(json::object{{"name", w.name},
                                                         {"tasks", json::object{{"ok", w.tasks_ok}, {"failed", w.tasks_failed}}},
                                                         {"task_duration_ms", latency_json(w.task_duration)},
                                                         {"task_failed_duration_ms", latency_json(w.task_failed_duration)}});
                           return ws;
                       }()},
                      {"interval_ms", r.interval_ms},
                      {"thresholds", std::move(thresholds)},
                      {"thresholds_passed", r.thresholds_passed()},
                      {"aborted_by_threshold", r.aborted_by_threshold},
                      {"stopped_by_exit", r.stopped_by_exit},
                      {"overrides", overrides_json(r.overrides)},
                      {"features", [&] {
                           json::object o;
                           for (const auto& [name, on] : r.features) o[name] = on;
                           return o;
                       }()},
                      {"persist", json::object{{"files", r.persist.files},
                                               {"bytes", r.persist.bytes},
                                               {"errors", r.persist.errors},
                                               {"first_error", r.persist.first_error}}},
                      {"resources", std::move(resources)}};
    json::array violations;
    for (const auto& v : r.plugin_violations)
        violations.push_back(
            json::object{{"component", v.component}, {"plugin", v.plugin}, {"kind", v.kind}, {"count", v.count}});
    root["plugin_violations"] = std::move(violations);
    if (!r.remote_write.url.empty())
        root["remote_write"] = json::object{{"url", r.remote_write.url},
                                            {"requests", r.remote_write.requests},
                                            {"requests_failed", r.remote_write.requests_failed},
                                            {"samples_sent", r.remote_write.samples_sent},
                                            {"samples_dropped", r.remote_write.samples_dropped},
                                            {"last_error", r.remote_write.last_error}};
    json::object by_state;
    for (const auto& [state, n] : r.workbook.by_state) by_state[state] = n;
    root["workbook"] = json::object{{"entries", r.workbook.entries},
                                    {"by_state", std::move(by_state)},
                                    {"memory_bytes", r.workbook.memory_bytes},
                                    {"snapshot", r.workbook.snapshot.empty() ? json::value(nullptr) : json::value(r.workbook.snapshot)},
                                    {"snapshot_bytes", r.workbook.snapshot_bytes},
                                    {"retention", json::object{{"keeps", r.workbook.retention},
                                                               {"kept", r.workbook.kept},
                                                               {"not_kept", r.workbook.not_kept},
                                                               {"over_limit", r.workbook.over_limit},
                                                               {"dropped", r.workbook.dropped}}},
                                    {"stream", json::object{{"events", r.workbook.stream_events},
                                                            {"batches", r.workbook.stream_batches},
                                                            {"max_batch", r.workbook.stream_max_batch},
                                                            {"dropped", r.workbook.stream_dropped}}}};
    // What `ntx merge` checks before it adds reports up (docs/distributed.md).
    root["segment"] = json::object{{"index", r.segment_index}, {"count", r.segment_count}};
    root["script_hash"] = r.script_hash;
    root["started_at_unix_ms"] = r.started_at_unix_ms;
    if (r.start_at_unix_ms) root["start_at_unix_ms"] = r.start_at_unix_ms;
    json::array plugins;
    for (const auto& p : r.plugins)
        plugins.push_back(json::object{{"component", p.component}, {"name", p.name}, {"version", p.version}});
    root["plugins"] = std::move(plugins);
    return json::serialize(root);
}

void write_json(const Report& report, const std::filesystem::path& file) {
    std::filesystem::create_directories(file.parent_path());
    files::write_atomic(file, to_json(report) + '\n');
}

namespace {

constexpr size_t kSummaryWidth = 100;

// ANSI styles, or nothing.
struct Style {
    bool on = false;
    std::string wrap(std::string_view text, const char* code) const {
        return on ? fmt::format("\x1b[{}m{}\x1b[0m", code, text) : std::string(text);
    }
    std::string bold(std::string_view t) const { return wrap(t, "1"); }
    std::string dim(std::string_view t) const { return wrap(t, "2"); }
    std::string green(std::string_view t) const { return wrap(t, "32"); }
    std::string red(std::string_view t) const { return wrap(t, "31"); }
    std::string yellow(std::string_view t) const { return wrap(t, "33"); }
    // A count that is bad when not zero, right-aligned in `w` columns (padding outside the colour).
    std::string bad(uint64_t n, int w) const {
        std::string text = fmt::format("{:>{}}", n, w);
        return n ? red(text) : text;
    }
};

// `text` as lines of at most kSummaryWidth columns: the first as it starts, the others indented by
// `indent` spaces; broken at spaces (a word longer than a line stays whole).
std::string wrap_text(std::string_view text, size_t indent) {
    std::string out;
    size_t at = std::min(text.find_first_not_of(' '), text.size());
    std::string line(text.substr(0, at));  // the leading indentation, kept
    while (at < text.size()) {
        size_t end = text.find(' ', at);
        if (end == std::string_view::npos) end = text.size();
        std::string_view word = text.substr(at, end - at);
        if (!line.empty() && line.size() + 1 + word.size() > kSummaryWidth) {
            out += line + "\n";
            line = std::string(indent, ' ');
            line += word;
        } else {
            if (!line.empty() && line.find_first_not_of(' ') != std::string::npos) line += ' ';
            line += word;
        }
        at = end + 1;
    }
    return out + line + "\n";
}

std::string short_name(const std::string& name, size_t width) {
    return name.size() > width ? name.substr(0, width - 1) + "~" : name;
}

}  // namespace

bool wants_colour(std::FILE* out) {
    const char* no_colour = std::getenv("NO_COLOR");
    const char* term = std::getenv("TERM");
    return isatty(fileno(out)) && !(no_colour && *no_colour) && !(term && std::string_view(term) == "dumb");
}

void print_summary(const Report& r, std::FILE* out, bool colour) {
    const Style st{colour};
    auto print = [&](std::string_view text, size_t indent) { fmt::print(out, "{}", wrap_text(text, indent)); };
    fmt::print(out, "\n{}\n", st.bold(fmt::format("ntx {} — {} ({:.2f} s{})", r.ntx_version, r.res_dir, r.duration_s,
                                                  r.interrupted ? ", interrupted" : "")));
    if (!r.overrides.empty()) {
        std::string list;
        for (const auto& o : r.overrides)
            list += fmt::format("{}{}={} ({})", list.empty() ? "" : ", ", o.name, o.value, o.source);
        print(fmt::format("overrides: {}", list), 4);
    }
    for (const auto& s : r.scenarios) {
        fmt::print(out, "\n");
        print(fmt::format("{} (workflow {}, {} model): {} users spawned, peak {} online, {} completed, {} stopped; "
                          "{} tasks; exits: timeout_out {}, error_out {}",
                          st.bold("scenario " + s.name), s.workflow, s.model, s.spawned, s.peak_online, s.completed, s.stopped,
                          s.tasks, s.exit_timeout, s.exit_error),
              4);
        if (s.exit_closing || s.exit_rollback || s.exit_stop_user || s.task_retries)
            print(fmt::format("  also: closing {}, rolled back {}, users stopped by a handler {}, task restarts {}", s.exit_closing,
                              s.exit_rollback, s.exit_stop_user, s.task_retries),
                  4);
        if (s.dynamic_requested)
            print(fmt::format("  dynamic tasks: {} requested, {} started, {} refused, {} ended", s.dynamic_requested,
                              s.dynamic_started, s.dynamic_refused, s.dynamic_ended),
                  4);
        if (s.condition_errors)
            print(fmt::format("  {} conditions or workbook updates could not be evaluated; the first: {}", s.condition_errors,
                              s.condition_error_example),
                  4);
        if (s.resource_wait_timeouts) print(fmt::format("  {} users gave up waiting for a resource lease", s.resource_wait_timeouts), 4);
        if (s.tasks_ended_ok || s.tasks_ended_failed)
            print(fmt::format("  task duration: {} ran to their end (p50 {:.2f}, p95 {:.2f}, p99 {:.2f}, max {:.2f} ms), {} failed "
                              "(p50 {:.2f}, max {:.2f} ms)",
                              s.tasks_ended_ok, s.task_duration.p50_ms, s.task_duration.p95_ms, s.task_duration.p99_ms,
                              s.task_duration.max_ms, s.tasks_ended_failed, s.task_failed_duration.p50_ms,
                              s.task_failed_duration.max_ms),
                  4);
        if (s.model == "open")
            print(fmt::format("  arrivals: {} planned, {} started, {} dropped (max-users reached)", s.arrivals_planned,
                              s.arrivals_started, s.arrivals_dropped),
                  4);
        // Block 1: counts, with each action's errors by kind, status classes and bytes under it.
        fmt::print(out, "{}\n", st.bold(fmt::format("  {:<24} {:>10} {:>10} {:>8} {:>9} {:>10}", "action", "count", "ok",
                                                    "errors", "timeouts", "per s")));
        for (const auto& a : s.actions) {
            fmt::print(out, "  {:<24} {:>10} {:>10} {} {} {:>10.1f}\n", short_name(a.name, 24), a.count, a.ok, st.bad(a.errors, 8),
                       st.bad(a.timeouts, 9), s.duration_s > 0 ? static_cast<double>(a.count) / s.duration_s : 0.0);
            if (a.errors + a.timeouts)
                print(fmt::format("      failed and timed out: {} (min {:.2f}, p50 {:.2f}, p95 {:.2f}, p99 {:.2f}, max {:.2f} ms)",
                                  a.errors + a.timeouts, a.latency_failed.min_ms, a.latency_failed.p50_ms, a.latency_failed.p95_ms,
                                  a.latency_failed.p99_ms, a.latency_failed.max_ms),
                      8);
            for (const auto& [kind, n] : a.errors_by_kind) {
                auto e = std::find_if(a.error_examples.begin(), a.error_examples.end(),
                                      [&](const ErrorExample& x) { return x.kind == kind; });
                std::string head = st.red(fmt::format("error {}: {}", kind, n));
                if (e == a.error_examples.end()) print("      " + head, 8);
                else
                    print(fmt::format("      {}, the first (user {}, task {}, at {:.2f} s): {}", head, e->user, e->task, e->at_s,
                                      e->reason),
                          8);
            }
            for (const auto& c : a.checks) {
                if (c.fail == 0)
                    print(st.green(fmt::format("      \u2713 {} ({} of {})", c.check, c.pass, c.pass)), 8);
                else
                    print(st.red(fmt::format("      \u2717 {} ({} of {} failed)", c.check, c.fail, c.pass + c.fail)), 8);
            }
            std::string detail;
            for (const auto& [cls, n] : a.status_classes) detail += fmt::format("{}{} {}", detail.empty() ? "status " : ", ", cls, n);
            if (a.bytes_sent || a.bytes_received)
                detail += fmt::format("{}sent {}, received {}", detail.empty() ? "" : "; ", human_bytes(a.bytes_sent),
                                      human_bytes(a.bytes_received));
            if (!detail.empty()) print(st.dim("      " + detail), 8);
        }
        // Block 2: latency of the ok actions ("-" for an action that never ended ok).
        fmt::print(out, "{}\n", st.bold(fmt::format("  {:<24} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}", "latency ms (ok)",
                                                    "min", "mean", "p50", "p90", "p95", "p99", "p99.9", "max")));
        for (const auto& a : s.actions) {
            const auto& l = a.latency;
            if (!a.ok) {
                fmt::print(out, "  {:<24} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}\n", short_name(a.name, 24), "-", "-", "-",
                           "-", "-", "-", "-", "-");
                continue;
            }
            auto v = [](double ms) { return ms >= 10000 ? fmt::format("{:.0f}", ms) : fmt::format("{:.2f}", ms); };
            fmt::print(out, "  {:<24} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}\n", short_name(a.name, 24), v(l.min_ms),
                       v(l.mean_ms), v(l.p50_ms), v(l.p90_ms), v(l.p95_ms), v(l.p99_ms), v(l.p999_ms), v(l.max_ms));
        }
    }
    fmt::print(out, "\n");
    print(fmt::format("{}: {} actions, {} ok, {} errors, {} timeouts, {} cancelled in {:.2f} s ({:.0f} actions/s)", st.bold("total"),
                      r.total_actions, r.total_ok, r.total_errors ? st.red(std::to_string(r.total_errors)) : "0",
                      r.total_timeouts ? st.red(std::to_string(r.total_timeouts)) : "0", r.total_cancelled, r.duration_s,
                      r.duration_s > 0 ? static_cast<double>(r.total_actions) / r.duration_s : 0.0),
          4);
    print(fmt::format("sockets: {} opened, {} sent, {} received", r.sockets_opened, human_bytes(r.socket_bytes_sent),
                      human_bytes(r.socket_bytes_received)),
          4);
    for (const auto& v : r.plugin_violations)
        print(st.red(fmt::format("plugin '{}' (component '{}') broke the plugin contract: {} x {}", v.plugin, v.component, v.count,
                                 v.kind)),
              4);
    if (r.persist.files || r.persist.errors)
        print(fmt::format("persist: {} files ({}) written, {} failed{}{}", r.persist.files, human_bytes(r.persist.bytes),
                          r.persist.errors, r.persist.errors ? ": " : "", r.persist.first_error),
              4);
    if (!r.remote_write.url.empty()) {
        const auto& w = r.remote_write;
        const std::string line = fmt::format("remote write: {} samples sent in {} requests, {} dropped{}{}", w.samples_sent,
                                             w.requests, w.samples_dropped, w.last_error.empty() ? "" : " (last error: ",
                                             w.last_error.empty() ? "" : w.last_error + ")");
        print(w.samples_dropped ? st.red(line) : line, 4);
    }
    for (const auto& p : r.resources.pools) {
        print(fmt::format("pool {} ({} {}, {} items): {} leases, peak {} held, {} waits (p99 {:.1f} ms, {} gave up), "
                          "{} expired, {} renewed, {} evicted, {} held at end",
                          p.name, p.guard, p.strategy, p.items, p.acquired, p.peak_held, p.waits, p.wait_p99_ms, p.wait_timeouts,
                          p.expired, p.renewed, p.evicted, p.held_at_end ? st.red(std::to_string(p.held_at_end)) : "0"),
              4);
        if (p.health_check)
            print(fmt::format("  health ({}): {} probes, {} failed, {} went down, {} recovered, {} down at end, {} tasks rolled back",
                              p.on_failure, p.probes, p.probe_failures, p.downs, p.recoveries, p.down_at_end, p.rolled_back),
                  4);
    }
    if (r.workbook.entries) {
        std::string states;
        for (const auto& [state, n] : r.workbook.by_state) states += fmt::format("{}{} {}", states.empty() ? "" : ", ", state, n);
        print(fmt::format("workbook: {} entries ({}){}", r.workbook.entries, states,
                          r.workbook.stream_dropped ? fmt::format("; change stream dropped {} events", r.workbook.stream_dropped) : ""),
              4);
        // What the retention kept of the finished tasks, and where.
        print(fmt::format("  kept {} ({}){}{}{}", r.workbook.kept, r.workbook.retention,
                          r.workbook.snapshot.empty() ? "" : " in " + r.workbook.snapshot,
                          r.workbook.not_kept ? fmt::format(", {} not kept", r.workbook.not_kept) : "",
                          r.workbook.over_limit || r.workbook.dropped
                              ? fmt::format(" ({} past the limit, {} lost)", r.workbook.over_limit, r.workbook.dropped)
                              : ""),
              4);
    }
    if (!r.stopped_by_exit.empty()) {
        fmt::print(out, "\n");
        print(st.red("stopped: " + r.stopped_by_exit), 4);
    }
    if (!r.thresholds.empty()) {
        size_t failed = 0;
        for (const auto& t : r.thresholds) failed += t.passed ? 0 : 1;
        fmt::print(out, "\n{}: {} passed, {} failed{}\n", st.bold("thresholds"), r.thresholds.size() - failed,
                   failed ? st.red(std::to_string(failed)) : "0",
                   r.aborted_by_threshold ? " (an abort-on-fail threshold stopped the run)" : "");
        for (const auto& t : r.thresholds)
            print(fmt::format("  {} {:<40} actual {}", t.passed ? st.green("PASS") : st.red("FAIL"), t.expression,
                              format_value(t.actual, t.unit)),
                  7);
    }
    std::fflush(out);
}

std::string lease_leaks(const Report& r) {
    if (!r.resources.leases_leaked) return {};
    std::string pools;
    for (const auto& p : r.resources.pools)
        if (p.held_at_end) pools += fmt::format("{}'{}' ({})", pools.empty() ? "" : ", ", p.name, p.held_at_end);
    return fmt::format("{} resource lease{} still held at the end of the run: {}", r.resources.leases_leaked,
                       r.resources.leases_leaked == 1 ? "" : "s", pools);
}

std::string human_bytes(uint64_t bytes) {
    static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = static_cast<double>(bytes);
    size_t u = 0;
    while (v >= 1024 && u + 1 < std::size(kUnits)) {
        v /= 1024;
        ++u;
    }
    return u == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.{}f} {}", v, v < 10 ? 2 : v < 100 ? 1 : 0, kUnits[u]);
}

}  // namespace ntx::report
