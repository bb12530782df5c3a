#include "live/prometheus.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include "frame/protocol_frame.hpp"
#include "ntx/plugin_abi.h"
#include "ntx/version.hpp"
#include "report/report_builder.hpp"
#include "report/thresholds.hpp"

namespace ntx::live {

std::string prometheus_escape(std::string_view value) {
    std::string out;
    for (char c : value) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

namespace {

// Latency bucket bounds in seconds: from 50 us (a loopback p50), Prometheus' 1-2.5-5 steps, to 60 s.
constexpr double kBuckets[] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                               0.05,    0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30,   60};

void family(std::string& out, const char* name, const char* type, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

// A sample value as the text format spells it (NaN, +Inf, -Inf).
std::string value(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    return fmt::format("{}", v);
}

const char* const kStatusClasses[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};

}  // namespace

std::string prometheus_text(const dsl::Script& script, const metrics::RunSnapshot& c, const Exposition& x) {
    std::string out;
    out.reserve(16 * 1024);
    const size_t n_actions = script.actions.size();
    const bool have = c.covers(script.scenarios.size(), n_actions);
    // Every series carries the run's id (as k6's testid): runs stored in one Prometheus stay apart.
    const std::string run = fmt::format("run_id=\"{}\"", prometheus_escape(x.run_id));

    family(out, "ntx_build_info", "gauge", "1, labelled with the ntx version and plugin ABI that ran.");
    out += fmt::format("ntx_build_info{{{},version=\"{}\",abi=\"{}.{}\"}} 1\n", run, NTX_VERSION_STRING, NTX_ABI_MAJOR,
                       NTX_ABI_MINOR);
    family(out, "ntx_run_elapsed_seconds", "gauge", "Time since the run started.");
    out += fmt::format("ntx_run_elapsed_seconds{{{}}} {:.3f}\n", run, c.elapsed_s);
    family(out, "ntx_run_planned_seconds", "gauge", "The run's planned length (0 when unknown).");
    out += fmt::format("ntx_run_planned_seconds{{{}}} {:.3f}\n", run, x.planned_s);
    family(out, "ntx_run_phase", "gauge", "1 for the process group the run is in.");
    for (const char* p : {"initiating", "planning", "executing", "monitoring", "closing"})
        out += fmt::format("ntx_run_phase{{{},phase=\"{}\"}} {}\n", run, p, x.phase == p ? 1 : 0);

    // Resources: pools, their waits and health checks.
    family(out, "ntx_pool_items", "gauge", "Items of a resource pool.");
    for (const auto& p : c.pools) out += fmt::format("ntx_pool_items{{{},pool=\"{}\"}} {}\n", run, prometheus_escape(p.name), p.size);
    family(out, "ntx_leases_held", "gauge", "Leases of a resource pool held now.");
    for (const auto& p : c.pools)
        out += fmt::format("ntx_leases_held{{{},pool=\"{}\"}} {}\n", run, prometheus_escape(p.name), p.leases_held);
    family(out, "ntx_pool_items_available", "gauge",
           "Items of a pool that may be handed out now (exclusive: free and up; shared: up).");
    for (const auto& p : c.pools)
        out += fmt::format("ntx_pool_items_available{{{},pool=\"{}\"}} {}\n", run, prometheus_escape(p.name), p.available);
    family(out, "ntx_leases_peak", "gauge", "Most leases of a pool held at once so far.");
    for (const auto& p : c.pools)
        out += fmt::format("ntx_leases_peak{{{},pool=\"{}\"}} {}\n", run, prometheus_escape(p.name), p.peak_held);
    family(out, "ntx_lease_events_total", "counter",
           "Leases of a pool by event: acquired, released, renewed (ttl, auto-renew), expired (ttl), evicted (health check).");
    for (const auto& p : c.pools)
        for (const auto& [event, n] : {std::pair{"acquired", p.acquired}, std::pair{"released", p.released},
                                       std::pair{"renewed", p.renewed}, std::pair{"expired", p.expired},
                                       std::pair{"evicted", p.evicted}})
            out += fmt::format("ntx_lease_events_total{{{},pool=\"{}\",event=\"{}\"}} {}\n", run, prometheus_escape(p.name),
                               event, n);
    family(out, "ntx_resource_waits_total", "counter", "Users that found a pool dry and waited for a lease.");
    for (const auto& p : c.pools)
        out += fmt::format("ntx_resource_waits_total{{{},pool=\"{}\"}} {}\n", run, prometheus_escape(p.name), p.waits);
    family(out, "ntx_resource_wait_timeouts_total", "counter", "Users that gave up waiting for a lease.");
    for (const auto& p : c.pools)
        out += fmt::format("ntx_resource_wait_timeouts_total{{{},pool=\"{}\"}} {}\n", run, prometheus_escape(p.name),
                           p.wait_timeouts);
    family(out, "ntx_health_probes_total", "counter", "Health-check probes of a pool's items, by result.");
    for (const auto& p : c.pools) {
        if (!p.health_check) continue;
        out += fmt::format("ntx_health_probes_total{{{},pool=\"{}\",result=\"ok\"}} {}\n", run, prometheus_escape(p.name),
                           p.probes - std::min(p.probes, p.probe_failures));
        out += fmt::format("ntx_health_probes_total{{{},pool=\"{}\",result=\"failed\"}} {}\n", run, prometheus_escape(p.name),
                           p.probe_failures);
    }
    family(out, "ntx_pool_items_down", "gauge", "Items of a pool its health check holds down now.");
    for (const auto& p : c.pools)
        if (p.health_check)
            out += fmt::format("ntx_pool_items_down{{{},pool=\"{}\"}} {}\n", run, prometheus_escape(p.name), p.down_now);

    // The workbook and the progress bus.
    const metrics::BusGauges& bus = x.bus ? *x.bus : c.bus;
    family(out, "ntx_workbook_entries", "gauge", "Workbook entries (one per user x task) so far.");
    out += fmt::format("ntx_workbook_entries{{{}}} {}\n", run, c.workbook_entries);
    family(out, "ntx_workbook_memory_bytes", "gauge", "The workbook's ledgers in memory (running tasks).");
    out += fmt::format("ntx_workbook_memory_bytes{{{}}} {}\n", run, c.workbook_memory_bytes);
    family(out, "ntx_bus_events_total", "counter", "Progress-bus events delivered to subscribers.");
    out += fmt::format("ntx_bus_events_total{{{}}} {}\n", run, bus.events);
    family(out, "ntx_bus_dropped_total", "counter", "Progress-bus events lost to full queues.");
    out += fmt::format("ntx_bus_dropped_total{{{}}} {}\n", run, bus.dropped);
    family(out, "ntx_bus_queue_depth", "gauge", "Progress-bus events queued, not yet delivered.");
    out += fmt::format("ntx_bus_queue_depth{{{}}} {}\n", run, bus.queued);

    std::vector<std::string> scenario_labels;
    for (const auto& s : script.scenarios)
        scenario_labels.push_back(fmt::format("{},scenario=\"{}\"", run, prometheus_escape(s.name)));

    family(out, "ntx_scenario_info", "gauge", "1 per scenario, labelled with its workflow and load model.");
    for (size_t s = 0; s < script.scenarios.size(); ++s)
        out += fmt::format("ntx_scenario_info{{{},workflow=\"{}\",model=\"{}\"}} 1\n", scenario_labels[s],
                           prometheus_escape(script.workflows[script.scenarios[s].workflow].name),
                           script.scenarios[s].model == dsl::Model::open ? "open" : "closed");
    family(out, "ntx_users", "gauge",
           "Users by state: online (running or stopping), stopping (asked to leave, finishing their action), "
           "waiting_resource (waiting for a lease) and offline (ended).");
    const metrics::ScenarioGauges no_gauges;
    auto gauges = [&](size_t s) -> const metrics::ScenarioGauges& { return s < c.gauges.size() ? c.gauges[s] : no_gauges; };
    for (size_t s = 0; s < script.scenarios.size(); ++s) {
        uint64_t offline = have ? c.scenarios[s].completed + c.scenarios[s].stopped : 0;
        out += fmt::format("ntx_users{{{},state=\"online\"}} {}\n", scenario_labels[s], gauges(s).online);
        out += fmt::format("ntx_users{{{},state=\"stopping\"}} {}\n", scenario_labels[s], gauges(s).stopping);
        out += fmt::format("ntx_users{{{},state=\"waiting_resource\"}} {}\n", scenario_labels[s], gauges(s).waiting_resource);
        out += fmt::format("ntx_users{{{},state=\"offline\"}} {}\n", scenario_labels[s], offline);
    }
    family(out, "ntx_users_peak", "gauge", "Most users online at once so far.");
    for (size_t s = 0; s < script.scenarios.size(); ++s)
        out += fmt::format("ntx_users_peak{{{}}} {}\n", scenario_labels[s], gauges(s).peak_online);
    family(out, "ntx_users_started_total", "counter", "Users started.");
    for (size_t s = 0; s < script.scenarios.size(); ++s)
        out += fmt::format("ntx_users_started_total{{{}}} {}\n", scenario_labels[s], have ? c.scenarios[s].spawned : 0);
    family(out, "ntx_tasks_total", "counter", "Tasks started.");
    for (size_t s = 0; s < script.scenarios.size(); ++s)
        out += fmt::format("ntx_tasks_total{{{}}} {}\n", scenario_labels[s], have ? c.scenarios[s].tasks : 0);
    family(out, "ntx_task_exits_total", "counter", "Tasks that ended through an exit.");
    for (size_t s = 0; s < script.scenarios.size(); ++s) {
        const auto* st = have ? &c.scenarios[s] : nullptr;
        out += fmt::format("ntx_task_exits_total{{{},exit=\"timeout_out\"}} {}\n", scenario_labels[s], st ? st->exit_timeout : 0);
        out += fmt::format("ntx_task_exits_total{{{},exit=\"error_out\"}} {}\n", scenario_labels[s], st ? st->exit_error : 0);
        out += fmt::format("ntx_task_exits_total{{{},exit=\"closing\"}} {}\n", scenario_labels[s], st ? st->exit_closing : 0);
        out += fmt::format("ntx_task_exits_total{{{},exit=\"rollback\"}} {}\n", scenario_labels[s], st ? st->exit_rollback : 0);
        out += fmt::format("ntx_task_exits_total{{{},exit=\"stop_user\"}} {}\n", scenario_labels[s], st ? st->exit_stop_user : 0);
    }
    family(out, "ntx_dynamic_tasks_total", "counter", "Dynamic tasks plugins requested, by what became of them.");
    for (size_t s = 0; s < script.scenarios.size(); ++s) {
        const auto* st = have ? &c.scenarios[s] : nullptr;
        out += fmt::format("ntx_dynamic_tasks_total{{{},state=\"requested\"}} {}\n", scenario_labels[s], st ? st->dynamic_requested : 0);
        out += fmt::format("ntx_dynamic_tasks_total{{{},state=\"started\"}} {}\n", scenario_labels[s], st ? st->dynamic_started : 0);
        out += fmt::format("ntx_dynamic_tasks_total{{{},state=\"refused\"}} {}\n", scenario_labels[s], st ? st->dynamic_refused : 0);
        out += fmt::format("ntx_dynamic_tasks_total{{{},state=\"ended\"}} {}\n", scenario_labels[s], st ? st->dynamic_ended : 0);
    }
    family(out, "ntx_arrivals_started_total", "counter", "Open model: arrivals that started a user.");
    for (size_t s = 0; s < script.scenarios.size(); ++s)
        if (script.scenarios[s].model == dsl::Model::open)
            out += fmt::format("ntx_arrivals_started_total{{{}}} {}\n", scenario_labels[s], have ? c.scenarios[s].arrivals_started : 0);
    family(out, "ntx_arrivals_dropped_total", "counter", "Open model: arrivals dropped because max-users was reached.");
    for (size_t s = 0; s < script.scenarios.size(); ++s)
        out += fmt::format("ntx_arrivals_dropped_total{{{}}} {}\n", scenario_labels[s], have ? c.scenarios[s].arrivals_dropped : 0);

    // The script's thresholds, evaluated on the counters so far (as the final report will: a count or
    // rate threshold is only decided at the end).
    if (!script.thresholds.empty() && have) {
        const Report r = report::build_report(script, c);
        const auto results = report::evaluate_thresholds(script.thresholds, r);
        family(out, "ntx_threshold_passed", "gauge", "1 while a threshold of the script holds on the counters so far, else 0.");
        for (const auto& t : results)
            out += fmt::format("ntx_threshold_passed{{{},threshold=\"{}\"}} {}\n", run, prometheus_escape(t.expression), t.passed ? 1 : 0);
        family(out, "ntx_threshold_actual", "gauge", "A threshold's metric so far, in its unit (ms, ratio, per_s, count).");
        for (const auto& t : results)
            out += fmt::format("ntx_threshold_actual{{{},threshold=\"{}\",unit=\"{}\"}} {}\n", run, prometheus_escape(t.expression),
                               t.unit, value(t.actual));
        family(out, "ntx_threshold_limit", "gauge", "A threshold's limit, in its unit.");
        for (const auto& t : results)
            out += fmt::format("ntx_threshold_limit{{{},threshold=\"{}\",unit=\"{}\"}} {}\n", run, prometheus_escape(t.expression),
                               t.unit, value(t.limit));
    }

    // Per scenario x action: only the actions the scenario ran (or can run: its workflow's steps).
    struct Row {
        std::string labels;
        uint32_t action;
        const metrics::ActionStats* st;
    };
    std::vector<Row> rows;
    if (have)
        for (uint32_t s = 0; s < script.scenarios.size(); ++s) {
            std::vector<uint32_t> runs;
            dsl::collect_actions(script, script.workflows[script.scenarios[s].workflow].steps, runs);
            for (uint32_t a = 0; a < n_actions; ++a) {
                const auto& st = c.actions[s * n_actions + a];
                bool in_workflow = std::find(runs.begin(), runs.end(), a) != runs.end();
                if (!in_workflow && st.ok + st.errors + st.timeouts + st.cancelled == 0) continue;
                rows.push_back({fmt::format("{},action=\"{}\"", scenario_labels[s], prometheus_escape(script.actions[a].name)), a, &st});
            }
        }
    family(out, "ntx_action_info", "gauge", "1 per scenario x action, labelled with the action's component and call.");
    for (const auto& r : rows) {
        const auto& spec = script.actions[r.action];
        out += fmt::format("ntx_action_info{{{},component=\"{}\",call=\"{}\"}} 1\n", r.labels,
                           prometheus_escape(script.components[spec.component].name), prometheus_escape(spec.call));
    }
    family(out, "ntx_actions_total", "counter", "Actions ended, by outcome.");
    for (const auto& r : rows) {
        out += fmt::format("ntx_actions_total{{{},outcome=\"ok\"}} {}\n", r.labels, r.st->ok);
        out += fmt::format("ntx_actions_total{{{},outcome=\"error\"}} {}\n", r.labels, r.st->errors);
        out += fmt::format("ntx_actions_total{{{},outcome=\"timeout\"}} {}\n", r.labels, r.st->timeouts);
        out += fmt::format("ntx_actions_total{{{},outcome=\"cancelled\"}} {}\n", r.labels, r.st->cancelled);
    }
    family(out, "ntx_action_errors_total", "counter", "Actions that ended with an error, by kind (report.json errors_by_kind).");
    for (const auto& r : rows)
        for (const auto& k : r.st->errors_by_code)
            out += fmt::format("ntx_action_errors_total{{{},error_kind=\"{}\"}} {}\n", r.labels, frame::status_kind(k.code), k.n);
    family(out, "ntx_action_status_total", "counter", "Actions by the class of the protocol status they ended with.");
    for (const auto& r : rows)
        for (size_t k = 0; k < r.st->status_classes.size(); ++k)
            if (r.st->status_classes[k])
                out += fmt::format("ntx_action_status_total{{{},status_class=\"{}\"}} {}\n", r.labels, kStatusClasses[k],
                                   r.st->status_classes[k]);
    family(out, "ntx_action_retries_total", "counter", "Failed attempts that were retried.");
    for (const auto& r : rows) out += fmt::format("ntx_action_retries_total{{{}}} {}\n", r.labels, r.st->retries);
    family(out, "ntx_action_sent_bytes_total", "counter", "Bytes the actions sent.");
    for (const auto& r : rows) out += fmt::format("ntx_action_sent_bytes_total{{{}}} {}\n", r.labels, r.st->bytes_sent);
    family(out, "ntx_action_received_bytes_total", "counter", "Bytes the actions received.");
    for (const auto& r : rows) out += fmt::format("ntx_action_received_bytes_total{{{}}} {}\n", r.labels, r.st->bytes_received);
    // expected_response="true": the ok actions; "false": the failed and timed-out ones (as k6 tags them).
    family(out, "ntx_action_duration_seconds", "histogram",
           "Latency of the actions that ended, by expected_response (true: ok; false: failed or timed out).");
    for (const auto& r : rows)
        for (bool ok : {true, false}) {
            const auto& h = ok ? r.st->latency : r.st->latency_failed;
            const char* er = ok ? "true" : "false";
            for (double le : kBuckets)
                out += fmt::format("ntx_action_duration_seconds_bucket{{{},expected_response=\"{}\",le=\"{}\"}} {}\n", r.labels,
                                   er, le, h.count_at_or_below(static_cast<uint64_t>(le * 1e6 + 0.5)));
            out += fmt::format("ntx_action_duration_seconds_bucket{{{},expected_response=\"{}\",le=\"+Inf\"}} {}\n", r.labels, er,
                               h.count());
            out += fmt::format("ntx_action_duration_seconds_sum{{{},expected_response=\"{}\"}} {:.6f}\n", r.labels, er,
                               static_cast<double>(h.sum_us()) / 1e6);
            out += fmt::format("ntx_action_duration_seconds_count{{{},expected_response=\"{}\"}} {}\n", r.labels, er, h.count());
        }
    return out;
}

}  // namespace ntx::live
