#include "report/report_builder.hpp"

#include <algorithm>
#include <filesystem>
#include <string>

#include "metrics/latency_histogram.hpp"
#include "resource/pair_pool.hpp"
#include "frame/protocol_frame.hpp"

namespace ntx::report {

namespace {

// The actions of scenario `spec` in report order: those its workflow runs (each once), then those
// its handlers and its actions' handlers run, then those only dynamic tasks ran (templates named by
// plugins, ad-hoc calls).
std::vector<uint32_t> action_order(const dsl::Script& script, const dsl::ScenarioSpec& spec,
                                   const metrics::ActionStats* actions) {
    std::vector<uint32_t> order;
    auto add_steps = [&](const std::vector<dsl::Step>& steps) { dsl::collect_actions(script, steps, order); };
    const auto& wf = script.workflows[spec.workflow];
    add_steps(wf.steps);
    const size_t main_steps = order.size();
    add_steps(wf.on_error.steps);
    add_steps(wf.on_timeout.steps);
    for (size_t i = 0; i < main_steps; ++i) {
        const auto& a = script.actions[order[i]];
        if (a.on_error) add_steps(a.on_error->steps);
        if (a.on_timeout) add_steps(a.on_timeout->steps);
    }
    for (uint32_t a = 0; a < script.actions.size(); ++a)
        if (actions[a].dynamic && std::find(order.begin(), order.end(), a) == order.end()) order.push_back(a);
    return order;
}

ScenarioReport scenario_counters(const dsl::Script& script, uint32_t s, const metrics::RunSnapshot& snap) {
    const auto& spec = script.scenarios[s];
    const metrics::ScenarioStats& st = snap.scenarios[s];
    ScenarioReport sr;
    sr.name = spec.name;
    sr.workflow = script.workflows[spec.workflow].name;
    sr.spawned = st.spawned;
    sr.completed = st.completed;
    sr.stopped = st.stopped;
    sr.tasks = st.tasks;
    sr.exit_timeout = st.exit_timeout;
    sr.exit_error = st.exit_error;
    sr.exit_closing = st.exit_closing;
    sr.exit_rollback = st.exit_rollback;
    sr.exit_stop_user = st.exit_stop_user;
    sr.task_retries = st.task_retries;
    sr.condition_errors = st.condition_errors;
    sr.condition_error_example = st.condition_error_first;
    sr.resource_wait_timeouts = st.resource_wait_timeouts;
    sr.dynamic_requested = st.dynamic_requested;
    sr.dynamic_started = st.dynamic_started;
    sr.dynamic_refused = st.dynamic_refused;
    sr.dynamic_ended = st.dynamic_ended;
    sr.model = spec.model == dsl::Model::open ? "open" : "closed";
    sr.tasks_ended_ok = st.task_duration.count();
    sr.tasks_ended_failed = st.task_failed_duration.count();
    sr.task_duration = metrics::summarize(st.task_duration);
    sr.task_failed_duration = metrics::summarize(st.task_failed_duration);
    if (spec.model == dsl::Model::open) {
        sr.arrivals_started = st.arrivals_started;
        sr.arrivals_dropped = st.arrivals_dropped;
        sr.arrivals_planned = st.arrivals_started + st.arrivals_dropped;
    }
    if (s < snap.gauges.size()) {
        const auto& g = snap.gauges[s];
        sr.peak_online = static_cast<uint64_t>(std::max<int64_t>(0, g.peak_online));
        sr.duration_s = snap.final ? static_cast<double>(g.end_ms) / 1000.0 : snap.elapsed_s;
    } else {
        sr.duration_s = snap.elapsed_s;
    }
    return sr;
}

}  // namespace

ActionReport action_report(const dsl::Script& script, uint32_t a, const metrics::ActionStats& st) {
    const auto& spec = script.actions[a];
    ActionReport ar;
    ar.name = spec.name;
    ar.component = script.components[spec.component].name;
    ar.call = spec.call;
    ar.ok = st.ok;
    ar.errors = st.errors;
    ar.timeouts = st.timeouts;
    ar.cancelled = st.cancelled;
    ar.retries = st.retries;
    ar.throttled = st.throttled;
    ar.dynamic = st.dynamic;
    ar.ad_hoc = spec.ad_hoc;
    ar.count = st.ok + st.errors + st.timeouts + st.cancelled;
    ar.bytes_sent = st.bytes_sent;
    ar.bytes_received = st.bytes_received;
    for (const metrics::ErrorKind& k : st.errors_by_code) {
        const char* kind = metrics::error_kind(k.code);
        ar.errors_by_kind.emplace_back(kind, k.n);
        if (!k.first_reason.empty())
            ar.error_examples.push_back({kind, k.first_reason, k.first_user, k.first_task,
                                         static_cast<double>(k.first_at_ms) / 1000.0});
    }
    for (size_t c = 0; c < st.status_classes.size(); ++c)
        if (st.status_classes[c]) ar.status_classes.emplace_back(std::to_string(c + 1) + "xx", st.status_classes[c]);
    ar.protocols = st.protocols;
    ar.latency = metrics::summarize(st.latency);
    ar.latency_failed = metrics::summarize(st.latency_failed);
    for (size_t i = 0; i < spec.checks.size(); ++i) {
        ActionReport::Check c{spec.checks[i].expr.source()};
        if (i < st.checks.size()) {
            c.pass = st.checks[i].pass;
            c.fail = st.checks[i].fail;
        }
        ar.checks.push_back(std::move(c));
    }
    for (const auto& [edge_us, n] : st.latency.coarse_buckets())
        ar.latency_buckets.emplace_back(static_cast<double>(edge_us + 1) / 1000.0, n);
    return ar;
}

Report build_report(const dsl::Script& script, const metrics::RunSnapshot& snap) {
    Report r;
    r.duration_s = snap.elapsed_s;
    r.socket_bytes_sent = snap.socket_bytes_sent;
    r.socket_bytes_received = snap.socket_bytes_received;
    r.sockets_opened = snap.sockets_opened;
    const size_t n_actions = script.actions.size();
    if (!snap.covers(script.scenarios.size(), n_actions)) return r;  // nothing published yet
    // Histograms are large (26 KiB): the per-action totals and the merged ones live on the heap.
    std::vector<metrics::ActionStats> by_action(n_actions);
    std::vector<uint32_t> run_order;  // each action over all scenarios, in the order they first appear
    auto run_latency = std::make_unique<metrics::LatencyHistogram>();
    for (uint32_t s = 0; s < script.scenarios.size(); ++s) {
        ScenarioReport sr = scenario_counters(script, s, snap);
        // A final snapshot's timelines, at the one width they share (each doubles on its own).
        if (snap.final) {
            metrics::Timeline started = snap.scenarios[s].started_per_bucket, online = snap.scenarios[s].online_per_bucket;
            while (started.bucket_ms < online.bucket_ms) started.coarsen(false);
            while (online.bucket_ms < started.bucket_ms) online.coarsen(true);
            sr.started_per_100ms = std::move(started.values);
            sr.online_per_100ms = std::move(online.values);
            sr.timeline_bucket_ms = started.bucket_ms;
        }
        auto scenario_latency = std::make_unique<metrics::LatencyHistogram>();
        const metrics::ActionStats* actions = snap.actions.data() + s * n_actions;  // a script may have no action
        for (uint32_t a : action_order(script, script.scenarios[s], actions)) {
            const auto& st = actions[a];
            ActionReport ar = action_report(script, a, st);
            if (snap.final) ar.latency.histogram = st.latency.compact();  // report.json: mergeable (ntx merge)
            scenario_latency->merge(st.latency);
            by_action[a].merge(st);
            r.total_actions += ar.count;
            r.total_ok += ar.ok;
            r.total_errors += ar.errors;
            r.total_timeouts += ar.timeouts;
            r.total_cancelled += ar.cancelled;
            sr.actions.push_back(std::move(ar));
            if (std::find(run_order.begin(), run_order.end(), a) == run_order.end()) run_order.push_back(a);
        }
        sr.latency = snap.final ? metrics::summarize_with_buckets(*scenario_latency) : metrics::summarize(*scenario_latency);
        run_latency->merge(*scenario_latency);
        r.scenarios.push_back(std::move(sr));
    }
    for (uint32_t a : run_order) {
        r.actions.push_back(action_report(script, a, by_action[a]));
        if (snap.final) r.actions.back().latency.histogram = by_action[a].latency.compact();
    }
    // Each workflow's tasks over the scenarios that run it.
    for (uint32_t w = 0; w < script.workflows.size(); ++w) {
        auto ok = std::make_unique<metrics::LatencyHistogram>(), failed = std::make_unique<metrics::LatencyHistogram>();
        bool ran = false;
        for (uint32_t s = 0; s < script.scenarios.size(); ++s) {
            if (script.scenarios[s].workflow != w) continue;
            ran = true;
            ok->merge(snap.scenarios[s].task_duration);
            failed->merge(snap.scenarios[s].task_failed_duration);
        }
        if (!ran) continue;
        r.workflows.push_back({script.workflows[w].name, ok->count(), failed->count(), metrics::summarize(*ok),
                               metrics::summarize(*failed)});
    }
    r.latency = snap.final ? metrics::summarize_with_buckets(*run_latency) : metrics::summarize(*run_latency);
    return r;
}

ResourcesReport resources_report(const dsl::Script& script, const std::vector<std::unique_ptr<resource::PairPool>>& pools,
                                 const std::vector<uint64_t>& leaked) {
    ResourcesReport out;
    for (size_t p = 0; p < pools.size(); ++p) {
        const auto& pool = *pools[p];
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
        pr.held_at_end = p < leaked.size() ? leaked[p] : st.held;
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
        out.leases_leaked += pr.held_at_end;
        out.pools.push_back(std::move(pr));
    }
    for (const auto& b : script.blobs) {
        std::error_code ec;
        auto rel = std::filesystem::relative(b.file, script.res_dir, ec);
        out.blobs.push_back({b.name, ec ? b.file.string() : rel.string(), b.sha256, b.size, b.verified ? "verified" : "auto"});
    }
    for (const auto& kv : script.kv_stores) out.kv_stores.push_back({kv.name, kv.source, kv.entries.size()});
    return out;
}

}  // namespace ntx::report
