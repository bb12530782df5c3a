#include "report/report_writer.hpp"

#include "files/safe_file.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <fmt/format.h>
#include <fstream>
#include <stdexcept>

namespace ntx::report {
namespace json = boost::json;

namespace {

double round3(double v) { return static_cast<double>(static_cast<int64_t>(v * 1000.0 + (v >= 0 ? 0.5 : -0.5))) / 1000.0; }

json::object latency_json(const LatencySummary& l) {
    return {{"min", round3(l.min_ms)}, {"mean", round3(l.mean_ms)}, {"p50", round3(l.p50_ms)},
            {"p90", round3(l.p90_ms)},  {"p95", round3(l.p95_ms)},   {"p99", round3(l.p99_ms)},
            {"p999", round3(l.p999_ms)}, {"max", round3(l.max_ms)}};
}

json::object action_json(const ActionReport& a, double duration_s) {
    json::object by_kind;
    for (const auto& [k, n] : a.errors_by_kind) by_kind[k] = n;
    json::object by_class;
    for (const auto& [k, n] : a.status_classes) by_class[k] = n;
    json::object examples;
    for (const auto& e : a.error_examples)
        examples[e.kind] = json::object{{"reason", e.reason}, {"user", e.user}, {"task", e.task}, {"at_s", round3(e.at_s)}};
    return json::object{{"name", a.name},
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
                        {"bytes_sent", a.bytes_sent},
                        {"bytes_received", a.bytes_received},
                        {"throughput_per_s", round3(duration_s > 0 ? static_cast<double>(a.count) / duration_s : 0)},
                        {"latency_ms", latency_json(a.latency)}};
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
        for (const auto& a : s.actions) actions.push_back(action_json(a, s.duration_s));
        json::array intervals;
        for (const auto& iv : s.intervals)
            intervals.push_back(json::object{{"t_s", round3(iv.t_s)},  {"ok", iv.ok},
                                             {"errors", iv.errors},    {"timeouts", iv.timeouts},
                                             {"p50_ms", round3(iv.p50_ms)}, {"p99_ms", round3(iv.p99_ms)},
                                             {"online", iv.online}});
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
    for (const auto& a : r.actions) actions.push_back(action_json(a, r.duration_s));
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
                      {"res_dir", r.res_dir},
                      {"started_at", r.started_at},
                      {"interrupted", r.interrupted},
                      {"scenarios", std::move(scenarios)},
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
                      {"interval_ms", r.interval_ms},
                      {"thresholds", std::move(thresholds)},
                      {"thresholds_passed", r.thresholds_passed()},
                      {"aborted_by_threshold", r.aborted_by_threshold},
                      {"stopped_by_exit", r.stopped_by_exit},
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
    return json::serialize(root);
}

void write_json(const Report& report, const std::filesystem::path& file) {
    std::filesystem::create_directories(file.parent_path());
    files::write_atomic(file, to_json(report) + '\n');
}

void print_summary(const Report& r, std::FILE* out) {
    fmt::print(out, "\nntx {} — {} ({:.2f} s{})\n", r.ntx_version, r.res_dir, r.duration_s, r.interrupted ? ", interrupted" : "");
    for (const auto& s : r.scenarios) {
        fmt::print(out, "\nscenario {} (workflow {}, {} model): {} users spawned, peak {} online, {} completed, {} stopped; "
                        "{} tasks; exits: timeout_out {}, error_out {}\n",
                   s.name, s.workflow, s.model, s.spawned, s.peak_online, s.completed, s.stopped, s.tasks, s.exit_timeout,
                   s.exit_error);
        if (s.exit_closing || s.exit_rollback || s.exit_stop_user || s.task_retries)
            fmt::print(out, "  also: closing {}, rolled back {}, users stopped by a handler {}, task restarts {}\n",
                       s.exit_closing, s.exit_rollback, s.exit_stop_user, s.task_retries);
        if (s.dynamic_requested)
            fmt::print(out, "  dynamic tasks: {} requested, {} started, {} refused, {} ended\n", s.dynamic_requested,
                       s.dynamic_started, s.dynamic_refused, s.dynamic_ended);
        if (s.condition_errors)
            fmt::print(out, "  {} conditions or workbook updates could not be evaluated; the first: {}\n", s.condition_errors,
                       s.condition_error_example);
        if (s.resource_wait_timeouts)
            fmt::print(out, "  {} users gave up waiting for a resource lease\n", s.resource_wait_timeouts);
        if (s.model == "open")
            fmt::print(out, "  arrivals: {} planned, {} started, {} dropped (max-users reached)\n", s.arrivals_planned,
                       s.arrivals_started, s.arrivals_dropped);
        fmt::print(out, "  {:<22} {:>9} {:>9} {:>7} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}\n", "action",
                   "count", "ok", "errors", "timeouts", "per s", "min ms", "mean ms", "p50 ms", "p90 ms", "p95 ms", "p99 ms",
                   "p99.9 ms", "max ms");
        for (const auto& a : s.actions) {
            fmt::print(out,
                       "  {:<22} {:>9} {:>9} {:>7} {:>8} {:>9.1f} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.2f} "
                       "{:>9.2f}\n",
                       a.name.size() > 22 ? a.name.substr(0, 21) + "~" : a.name, a.count, a.ok, a.errors, a.timeouts,
                       s.duration_s > 0 ? static_cast<double>(a.count) / s.duration_s : 0.0, a.latency.min_ms,
                       a.latency.mean_ms, a.latency.p50_ms, a.latency.p90_ms, a.latency.p95_ms, a.latency.p99_ms,
                       a.latency.p999_ms, a.latency.max_ms);
            for (const auto& [kind, n] : a.errors_by_kind) {
                auto e = std::find_if(a.error_examples.begin(), a.error_examples.end(),
                                      [&](const ErrorExample& x) { return x.kind == kind; });
                if (e == a.error_examples.end()) fmt::print(out, "  {:<22}   error {}: {}\n", "", kind, n);
                else
                    fmt::print(out, "  {:<22}   error {}: {}, the first (user {}, task {}, at {:.2f} s): {}\n", "", kind, n,
                               e->user, e->task, e->at_s, e->reason);
            }
            if (!a.status_classes.empty()) {
                std::string classes;
                for (const auto& [cls, n] : a.status_classes)
                    classes += fmt::format("{}{} {}", classes.empty() ? "" : ", ", cls, n);
                fmt::print(out, "  {:<22}   status {}\n", "", classes);
            }
        }
    }
    fmt::print(out, "\ntotal: {} actions, {} ok, {} errors, {} timeouts, {} cancelled in {:.2f} s ({:.0f} actions/s)\n",
               r.total_actions, r.total_ok, r.total_errors, r.total_timeouts, r.total_cancelled, r.duration_s,
               r.duration_s > 0 ? static_cast<double>(r.total_actions) / r.duration_s : 0.0);
    fmt::print(out, "sockets: {} opened, {} bytes sent, {} bytes received\n", r.sockets_opened, r.socket_bytes_sent,
               r.socket_bytes_received);
    for (const auto& v : r.plugin_violations)
        fmt::print(out, "plugin '{}' (component '{}') broke the plugin contract: {} x {}\n", v.plugin, v.component, v.count,
                   v.kind);
    if (r.persist.files || r.persist.errors)
        fmt::print(out, "persist: {} files ({} bytes) written, {} failed{}{}\n", r.persist.files, r.persist.bytes,
                   r.persist.errors, r.persist.errors ? ": " : "", r.persist.first_error);
    for (const auto& p : r.resources.pools) {
        fmt::print(out, "pool {} ({} {}, {} items): {} leases, peak {} held, {} waits (p99 {:.1f} ms, {} gave up), "
                        "{} expired, {} renewed, {} evicted, {} held at end\n",
                   p.name, p.guard, p.strategy, p.items, p.acquired, p.peak_held, p.waits, p.wait_p99_ms, p.wait_timeouts,
                   p.expired, p.renewed, p.evicted, p.held_at_end);
        if (p.health_check)
            fmt::print(out, "  health ({}): {} probes, {} failed, {} went down, {} recovered, {} down at end, {} tasks rolled back\n",
                       p.on_failure, p.probes, p.probe_failures, p.downs, p.recoveries, p.down_at_end, p.rolled_back);
    }
    if (r.workbook.entries) {
        std::string states;
        for (const auto& [state, n] : r.workbook.by_state) states += fmt::format("{}{} {}", states.empty() ? "" : ", ", state, n);
        fmt::print(out, "workbook: {} entries ({}){}\n", r.workbook.entries, states,
                   r.workbook.stream_dropped ? fmt::format("; change stream dropped {} events", r.workbook.stream_dropped) : "");
        // What the retention kept of the finished tasks, and where.
        fmt::print(out, "  kept {} ({}){}{}{}\n", r.workbook.kept, r.workbook.retention,
                   r.workbook.snapshot.empty() ? "" : " in " + r.workbook.snapshot,
                   r.workbook.not_kept ? fmt::format(", {} not kept", r.workbook.not_kept) : "",
                   r.workbook.over_limit || r.workbook.dropped
                       ? fmt::format(" ({} past the limit, {} lost)", r.workbook.over_limit, r.workbook.dropped)
                       : "");
    }
    if (!r.stopped_by_exit.empty()) fmt::print(out, "\nstopped: {}\n", r.stopped_by_exit);
    if (!r.thresholds.empty()) {
        size_t failed = 0;
        for (const auto& t : r.thresholds) failed += t.passed ? 0 : 1;
        fmt::print(out, "\nthresholds: {} passed, {} failed{}\n", r.thresholds.size() - failed, failed,
                   r.aborted_by_threshold ? " (an abort-on-fail threshold stopped the run)" : "");
        for (const auto& t : r.thresholds)
            fmt::print(out, "  {} {:<40} actual {}\n", t.passed ? "PASS" : "FAIL", t.expression, format_value(t.actual, t.unit));
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

}  // namespace ntx::report
