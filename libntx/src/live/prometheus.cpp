#include "live/prometheus.hpp"

#include <algorithm>
#include <fmt/format.h>

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

// Latency bucket bounds in seconds (Prometheus' defaults with finer low end).
constexpr double kBuckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

void family(std::string& out, const char* name, const char* type, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

}  // namespace

std::string prometheus_text(const dsl::Script& script, const metrics::RunSnapshot& c, double planned_s, std::string_view phase) {
    std::string out;
    out.reserve(16 * 1024);
    const size_t n_actions = script.actions.size();
    const bool have = c.covers(script.scenarios.size(), n_actions);

    family(out, "ntx_run_elapsed_seconds", "gauge", "Time since the run started.");
    out += fmt::format("ntx_run_elapsed_seconds {:.3f}\n", c.elapsed_s);
    family(out, "ntx_run_planned_seconds", "gauge", "The run's planned length (0 when unknown).");
    out += fmt::format("ntx_run_planned_seconds {:.3f}\n", planned_s);
    family(out, "ntx_run_phase", "gauge", "1 for the process group the run is in.");
    for (const char* p : {"initiating", "planning", "executing", "monitoring", "closing"})
        out += fmt::format("ntx_run_phase{{phase=\"{}\"}} {}\n", p, phase == p ? 1 : 0);

    family(out, "ntx_pool_items", "gauge", "Items of a resource pool.");
    for (const auto& p : c.pools) out += fmt::format("ntx_pool_items{{pool=\"{}\"}} {}\n", prometheus_escape(p.name), p.size);
    family(out, "ntx_leases_held", "gauge", "Leases of a resource pool held now.");
    for (const auto& p : c.pools)
        out += fmt::format("ntx_leases_held{{pool=\"{}\"}} {}\n", prometheus_escape(p.name), p.leases_held);

    std::vector<std::string> scenario_labels;
    for (const auto& s : script.scenarios)
        scenario_labels.push_back(fmt::format("scenario=\"{}\",workflow=\"{}\"", prometheus_escape(s.name),
                                              prometheus_escape(script.workflows[s.workflow].name)));

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
    family(out, "ntx_workbook_entries", "gauge", "Workbook entries (one per user x task) so far.");
    out += fmt::format("ntx_workbook_entries {}\n", c.workbook_entries);
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
    family(out, "ntx_arrivals_dropped_total", "counter", "Open model: arrivals dropped because max-users was reached.");
    for (size_t s = 0; s < script.scenarios.size(); ++s)
        out += fmt::format("ntx_arrivals_dropped_total{{{}}} {}\n", scenario_labels[s], have ? c.scenarios[s].arrivals_dropped : 0);

    // Per scenario x action: only the actions the scenario ran (or can run: its workflow's steps).
    struct Row {
        std::string labels;
        const metrics::ActionStats* st;
    };
    std::vector<Row> rows;
    if (have)
        for (uint32_t s = 0; s < script.scenarios.size(); ++s)
            for (uint32_t a = 0; a < n_actions; ++a) {
                const auto& st = c.actions[s * n_actions + a];
                std::vector<uint32_t> runs;
                dsl::collect_actions(script, script.workflows[script.scenarios[s].workflow].steps, runs);
                bool in_workflow = std::find(runs.begin(), runs.end(), a) != runs.end();
                if (!in_workflow && st.ok + st.errors + st.timeouts + st.cancelled == 0) continue;
                const auto& spec = script.actions[a];
                rows.push_back({fmt::format("{},action=\"{}\",component=\"{}\",phase=\"executing\"", scenario_labels[s],
                                            prometheus_escape(spec.name),
                                            prometheus_escape(script.components[spec.component].name)),
                                &st});
            }
    family(out, "ntx_actions_total", "counter", "Actions ended, by outcome.");
    for (const auto& r : rows) {
        out += fmt::format("ntx_actions_total{{{},outcome=\"ok\"}} {}\n", r.labels, r.st->ok);
        out += fmt::format("ntx_actions_total{{{},outcome=\"error\"}} {}\n", r.labels, r.st->errors);
        out += fmt::format("ntx_actions_total{{{},outcome=\"timeout\"}} {}\n", r.labels, r.st->timeouts);
        out += fmt::format("ntx_actions_total{{{},outcome=\"cancelled\"}} {}\n", r.labels, r.st->cancelled);
    }
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
                                   er, le, h.count_at_or_below(static_cast<uint64_t>(le * 1e6)));
            out += fmt::format("ntx_action_duration_seconds_bucket{{{},expected_response=\"{}\",le=\"+Inf\"}} {}\n", r.labels, er,
                               h.count());
            out += fmt::format("ntx_action_duration_seconds_sum{{{},expected_response=\"{}\"}} {:.6f}\n", r.labels, er,
                               static_cast<double>(h.sum_us()) / 1e6);
            out += fmt::format("ntx_action_duration_seconds_count{{{},expected_response=\"{}\"}} {}\n", r.labels, er, h.count());
        }
    return out;
}

}  // namespace ntx::live
