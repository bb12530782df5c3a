#include "merge/merge.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <map>
#include <memory>
#include <optional>

#include "metrics/latency_histogram.hpp"
#include "report/thresholds.hpp"

namespace ntx::merge {

namespace {

std::string plugins_text(const std::vector<PluginVersion>& plugins) {
    std::string out;
    for (const auto& p : plugins) out += fmt::format("{}{}={} {}", out.empty() ? "" : ", ", p.component, p.name, p.version);
    return out.empty() ? "none" : out;
}

// The inputs are the N segments of one test: same script, same plugins, each segment once.
void check(const std::vector<Input>& inputs, std::vector<Diagnostic>& problems) {
    auto problem = [&](const std::string& where, std::string message) {
        problems.push_back({where, 0, 0, std::move(message), {}});
    };
    if (inputs.empty()) return problem("ntx merge", "no reports to merge");
    const Input& first = inputs.front();
    for (const auto& in : inputs) {
        if (in.report.segment_count == 0 || in.report.script_hash.empty())
            problem(in.name, "has no segment and script_hash (written by an ntx older than ntx merge): run it again");
        else if (in.report.script_hash != first.report.script_hash)
            problem(in.name, fmt::format("is a run of another script: script_hash {} differs from {} in {} (a different "
                                         "script, res_dir file or load override)",
                                         in.report.script_hash, first.report.script_hash, first.name));
        if (in.report.plugins.size() != first.report.plugins.size() ||
            !std::equal(in.report.plugins.begin(), in.report.plugins.end(), first.report.plugins.begin(),
                        [](const PluginVersion& a, const PluginVersion& b) {
                            return a.component == b.component && a.name == b.name && a.version == b.version;
                        }))
            problem(in.name, fmt::format("ran other plugin versions: {} (but {} in {})", plugins_text(in.report.plugins),
                                         plugins_text(first.report.plugins), first.name));
        if (in.report.segment_count != first.report.segment_count && in.report.segment_count != 0)
            problem(in.name, fmt::format("is segment {}/{} of a test split {} ways, but {} is of one split {} ways",
                                         in.report.segment_index, in.report.segment_count, in.report.segment_count, first.name,
                                         first.report.segment_count));
        if (in.report.scenarios.size() != first.report.scenarios.size())
            problem(in.name, fmt::format("has {} scenarios, {} has {}", in.report.scenarios.size(), first.name,
                                         first.report.scenarios.size()));
    }
    if (!problems.empty()) return;
    const uint32_t n = first.report.segment_count;
    std::vector<std::string> seen(n);
    for (const auto& in : inputs) {
        std::string& where = seen[in.report.segment_index];
        if (!where.empty())
            problem(in.name, fmt::format("segment {}/{} appears twice: in {} and in {}", in.report.segment_index, n, where, in.name));
        else
            where = in.name;
    }
    std::string missing;
    for (uint32_t i = 0; i < n; ++i)
        if (seen[i].empty()) missing += fmt::format("{}{}/{}", missing.empty() ? "" : ", ", i, n);
    if (!missing.empty())
        problem("ntx merge", fmt::format("missing segments: {} (given {} reports of a test split {} ways: their merge would "
                                         "not be the whole test)",
                                         missing, inputs.size(), n));
}

void add_counts(std::vector<std::pair<std::string, uint64_t>>& to, const std::vector<std::pair<std::string, uint64_t>>& from) {
    for (const auto& [k, n] : from) {
        auto it = std::find_if(to.begin(), to.end(), [&](const auto& e) { return e.first == k; });
        if (it == to.end()) to.emplace_back(k, n);
        else it->second += n;
    }
}

// Percentiles of the union: the histograms added, summarized again.
LatencySummary combine(const std::vector<const LatencySummary*>& parts) {
    auto h = std::make_unique<metrics::LatencyHistogram>();  // 26 KiB: not on the stack
    for (const auto* p : parts) h->add(p->histogram);
    return metrics::summarize_with_buckets(*h);
}

// Actions by name, in the order they first appear; their error examples' times on the merged clock.
std::vector<ActionReport> merge_actions(const std::vector<std::pair<const std::vector<ActionReport>*, double>>& lists) {
    std::vector<ActionReport> out;
    std::map<std::string, std::vector<const LatencySummary*>> latencies;
    for (const auto& [list, offset_s] : lists)
        for (const auto& a : *list) {
            auto it = std::find_if(out.begin(), out.end(), [&](const ActionReport& x) { return x.name == a.name; });
            if (it == out.end()) {
                out.push_back(a);
                it = out.end() - 1;
                it->count = it->ok = it->errors = it->timeouts = it->cancelled = it->retries = it->throttled = it->dynamic = 0;
                it->bytes_sent = it->bytes_received = 0;
                it->errors_by_kind.clear();
                it->error_examples.clear();
                it->status_classes.clear();
                it->protocols.clear();
            }
            it->count += a.count;
            it->ok += a.ok;
            it->errors += a.errors;
            it->timeouts += a.timeouts;
            it->cancelled += a.cancelled;
            it->retries += a.retries;
            it->throttled += a.throttled;
            it->dynamic += a.dynamic;
            it->bytes_sent += a.bytes_sent;
            it->bytes_received += a.bytes_received;
            add_counts(it->errors_by_kind, a.errors_by_kind);
            add_counts(it->status_classes, a.status_classes);
            add_counts(it->protocols, a.protocols);
            for (ErrorExample e : a.error_examples) {  // the earliest of each kind, over every instance
                e.at_s += offset_s;
                auto ex = std::find_if(it->error_examples.begin(), it->error_examples.end(),
                                       [&](const ErrorExample& x) { return x.kind == e.kind; });
                if (ex == it->error_examples.end()) it->error_examples.push_back(e);
                else if (e.at_s < ex->at_s) *ex = e;
            }
            latencies[a.name].push_back(&a.latency);
        }
    for (auto& a : out) a.latency = combine(latencies[a.name]);
    return out;
}

// A timeline at twice its bucket width: sums add (started), peaks take the larger (online).
std::vector<uint32_t> coarsen(const std::vector<uint32_t>& v, bool peak) {
    std::vector<uint32_t> out((v.size() + 1) / 2, 0);
    for (size_t i = 0; i < v.size(); ++i) out[i / 2] = peak ? std::max(out[i / 2], v[i]) : out[i / 2] + v[i];
    return out;
}

std::vector<IntervalStats> coarsen(const std::vector<IntervalStats>& v, double width_s) {
    std::vector<IntervalStats> out((v.size() + 1) / 2);
    for (size_t i = 0; i < v.size(); ++i) {
        IntervalStats& o = out[i / 2];
        o.t_s = static_cast<double>(i / 2) * width_s;
        o.ok += v[i].ok;
        o.errors += v[i].errors;
        o.timeouts += v[i].timeouts;
        o.p50_ms = std::max(o.p50_ms, v[i].p50_ms);
        o.p99_ms = std::max(o.p99_ms, v[i].p99_ms);
        o.online = v[i].online;  // at the end of the wider interval
    }
    return out;
}

size_t shift(double offset_ms, uint64_t width_ms) {
    return static_cast<size_t>(std::llround(offset_ms / static_cast<double>(width_ms)));
}

// "errors.rate" -> total error-rate, "scenario.S.users" -> scenario S, "A.p99" -> action A: the
// threshold as the script compiled it, from what report.json says of it.
std::optional<dsl::Threshold> threshold_of(const ThresholdResult& r) {
    dsl::Threshold t;
    t.text = r.expression;
    t.value = r.limit;
    t.abort_on_fail = r.abort_on_fail;
    t.file = r.file;
    t.line = r.line;
    static const std::pair<const char*, dsl::Threshold::Op> ops[] = {{"<", dsl::Threshold::Op::lt}, {"<=", dsl::Threshold::Op::le},
                                                                     {">", dsl::Threshold::Op::gt}, {">=", dsl::Threshold::Op::ge},
                                                                     {"==", dsl::Threshold::Op::eq}, {"!=", dsl::Threshold::Op::ne}};
    bool op_known = false;
    for (const auto& [text, op] : ops)
        if (r.op == text) {
            t.op = op;
            op_known = true;
        }
    if (!op_known) return std::nullopt;
    const std::string& m = r.metric;
    if (m == "errors.rate") {
        t.scope = dsl::Threshold::Scope::total;
        t.metric = "error-rate";
    } else if (m == "errors.count") {
        t.scope = dsl::Threshold::Scope::total;
        t.metric = "failed";
    } else if (m.rfind("actions.", 0) == 0) {
        t.scope = dsl::Threshold::Scope::total;
        t.metric = m.substr(8);
    } else {
        auto dot = m.rfind('.');
        if (dot == std::string::npos) return std::nullopt;
        t.metric = m.substr(dot + 1);
        if (m.rfind("scenario.", 0) == 0) {
            t.scope = dsl::Threshold::Scope::scenario;
            t.target = m.substr(9, dot - 9);
        } else {
            t.scope = dsl::Threshold::Scope::action;
            t.target = m.substr(0, dot);
        }
    }
    if (!dsl::threshold_unit(t.scope, t.metric)) return std::nullopt;
    return t;
}

}  // namespace

Report merge(const std::vector<Input>& inputs, std::vector<Diagnostic>& problems) {
    const size_t before = problems.size();
    check(inputs, problems);
    if (problems.size() != before) return {};
    std::vector<const Input*> by_segment(inputs.size());
    for (const auto& in : inputs) by_segment[in.report.segment_index] = &in;  // segment order: deterministic output
    const Report& first = by_segment.front()->report;
    int64_t t0 = first.started_at_unix_ms;
    std::string started_at = first.started_at;
    for (const auto* in : by_segment)
        if (in->report.started_at_unix_ms < t0) {
            t0 = in->report.started_at_unix_ms;
            started_at = in->report.started_at;
        }
    auto offset_ms = [&](const Report& r) { return static_cast<double>(r.started_at_unix_ms - t0); };

    Report out;
    out.ntx_version = first.ntx_version;
    out.res_dir = first.res_dir;
    out.started_at = started_at;
    out.started_at_unix_ms = t0;
    out.start_at_unix_ms = first.start_at_unix_ms;
    out.segment_index = 0;
    out.segment_count = 1;  // the whole test
    out.script_hash = first.script_hash;
    out.plugins = first.plugins;
    out.resources.blobs = first.resources.blobs;
    out.resources.kv_stores = first.resources.kv_stores;
    out.workbook.retention = first.workbook.retention;
    uint64_t interval_ms = 0;
    for (const auto* in : by_segment) interval_ms = std::max(interval_ms, in->report.interval_ms);
    out.interval_ms = interval_ms ? interval_ms : 1000;

    for (const auto* in : by_segment) {
        const Report& r = in->report;
        const double off = offset_ms(r);
        out.duration_s = std::max(out.duration_s, off / 1000.0 + r.duration_s);
        out.interrupted = out.interrupted || r.interrupted;
        out.aborted_by_threshold = out.aborted_by_threshold || r.aborted_by_threshold;
        if (out.stopped_by_exit.empty() && !r.stopped_by_exit.empty())
            out.stopped_by_exit = fmt::format("segment {}/{}: {}", r.segment_index, r.segment_count, r.stopped_by_exit);
        out.total_actions += r.total_actions;
        out.total_ok += r.total_ok;
        out.total_errors += r.total_errors;
        out.total_timeouts += r.total_timeouts;
        out.total_cancelled += r.total_cancelled;
        out.socket_bytes_sent += r.socket_bytes_sent;
        out.socket_bytes_received += r.socket_bytes_received;
        out.sockets_opened += r.sockets_opened;
        out.persist.files += r.persist.files;
        out.persist.bytes += r.persist.bytes;
        out.persist.errors += r.persist.errors;
        if (out.persist.first_error.empty()) out.persist.first_error = r.persist.first_error;
        out.resources.leases_leaked += r.resources.leases_leaked;
        for (const auto& p : r.resources.pools) {
            auto it = std::find_if(out.resources.pools.begin(), out.resources.pools.end(),
                                   [&](const PoolReport& x) { return x.name == p.name; });
            if (it == out.resources.pools.end()) {
                out.resources.pools.push_back(p);
                continue;
            }
            // Each instance leased its own items: the pool is their union.
            it->items += p.items;
            it->acquired += p.acquired;
            it->released += p.released;
            it->renewed += p.renewed;
            it->expired += p.expired;
            it->evicted += p.evicted;
            it->rolled_back += p.rolled_back;
            it->peak_held += p.peak_held;  // at most: the instances' peaks need not coincide
            it->held_at_end += p.held_at_end;
            it->waits += p.waits;
            it->wait_timeouts += p.wait_timeouts;
            it->wait_p50_ms = std::max(it->wait_p50_ms, p.wait_p50_ms);
            it->wait_p99_ms = std::max(it->wait_p99_ms, p.wait_p99_ms);
            it->wait_max_ms = std::max(it->wait_max_ms, p.wait_max_ms);
            it->probe_rounds += p.probe_rounds;
            it->probes += p.probes;
            it->probe_failures += p.probe_failures;
            it->downs += p.downs;
            it->recoveries += p.recoveries;
            it->down_at_end += p.down_at_end;
        }
        const auto& w = r.workbook;
        out.workbook.entries += w.entries;
        add_counts(out.workbook.by_state, w.by_state);
        out.workbook.memory_bytes += w.memory_bytes;
        out.workbook.kept += w.kept;
        out.workbook.not_kept += w.not_kept;
        out.workbook.over_limit += w.over_limit;
        out.workbook.dropped += w.dropped;
        out.workbook.stream_events += w.stream_events;
        out.workbook.stream_batches += w.stream_batches;
        out.workbook.stream_dropped += w.stream_dropped;
        out.workbook.stream_max_batch = std::max(out.workbook.stream_max_batch, w.stream_max_batch);
    }

    for (size_t s = 0; s < first.scenarios.size(); ++s) {
        ScenarioReport sr = first.scenarios[s];
        uint64_t bucket_ms = 0;
        for (const auto* in : by_segment) bucket_ms = std::max(bucket_ms, in->report.scenarios[s].timeline_bucket_ms);
        sr.timeline_bucket_ms = bucket_ms ? bucket_ms : 100;
        sr.started_per_100ms.clear();
        sr.online_per_100ms.clear();
        sr.intervals.clear();
        sr.duration_s = 0;
        sr.spawned = sr.peak_online = sr.completed = sr.stopped = sr.tasks = sr.task_retries = 0;
        sr.exit_timeout = sr.exit_error = sr.exit_closing = sr.exit_rollback = sr.exit_stop_user = 0;
        sr.condition_errors = sr.resource_wait_timeouts = 0;
        sr.condition_error_example.clear();
        sr.dynamic_requested = sr.dynamic_started = sr.dynamic_refused = sr.dynamic_ended = 0;
        sr.arrivals_planned = sr.arrivals_started = sr.arrivals_dropped = 0;
        std::vector<std::pair<const std::vector<ActionReport>*, double>> actions;
        uint64_t peak = 0;
        for (const auto* in : by_segment) {
            const ScenarioReport& x = in->report.scenarios[s];
            const double off = offset_ms(in->report);
            sr.duration_s = std::max(sr.duration_s, off / 1000.0 + x.duration_s);
            sr.spawned += x.spawned;
            sr.completed += x.completed;
            sr.stopped += x.stopped;
            sr.tasks += x.tasks;
            sr.task_retries += x.task_retries;
            sr.exit_timeout += x.exit_timeout;
            sr.exit_error += x.exit_error;
            sr.exit_closing += x.exit_closing;
            sr.exit_rollback += x.exit_rollback;
            sr.exit_stop_user += x.exit_stop_user;
            sr.condition_errors += x.condition_errors;
            if (sr.condition_error_example.empty() && !x.condition_error_example.empty())
                sr.condition_error_example =
                    fmt::format("[segment {}/{}] {}", in->report.segment_index, in->report.segment_count, x.condition_error_example);
            sr.resource_wait_timeouts += x.resource_wait_timeouts;
            sr.dynamic_requested += x.dynamic_requested;
            sr.dynamic_started += x.dynamic_started;
            sr.dynamic_refused += x.dynamic_refused;
            sr.dynamic_ended += x.dynamic_ended;
            sr.arrivals_planned += x.arrivals_planned;
            sr.arrivals_started += x.arrivals_started;
            sr.arrivals_dropped += x.arrivals_dropped;
            peak = std::max(peak, x.peak_online);
            actions.emplace_back(&x.actions, off / 1000.0);
            // Timelines: at the widest bucket of all, shifted by the instance's start on the wall clock.
            std::vector<uint32_t> started = x.started_per_100ms, online = x.online_per_100ms;
            for (uint64_t b = x.timeline_bucket_ms ? x.timeline_bucket_ms : 100; b < sr.timeline_bucket_ms; b *= 2) {
                started = coarsen(started, false);
                online = coarsen(online, true);
            }
            const size_t at = shift(off, sr.timeline_bucket_ms);
            if (sr.started_per_100ms.size() < at + started.size()) sr.started_per_100ms.resize(at + started.size(), 0);
            if (sr.online_per_100ms.size() < at + online.size()) sr.online_per_100ms.resize(at + online.size(), 0);
            for (size_t i = 0; i < started.size(); ++i) sr.started_per_100ms[at + i] += started[i];
            for (size_t i = 0; i < online.size(); ++i) sr.online_per_100ms[at + i] += online[i];
            std::vector<IntervalStats> intervals = x.intervals;
            for (uint64_t w = in->report.interval_ms ? in->report.interval_ms : 1000; w < out.interval_ms; w *= 2)
                intervals = coarsen(intervals, static_cast<double>(w * 2) / 1000.0);
            const size_t iat = shift(off, out.interval_ms);
            if (sr.intervals.size() < iat + intervals.size()) sr.intervals.resize(iat + intervals.size());
            for (size_t i = 0; i < intervals.size(); ++i) {
                IntervalStats& o = sr.intervals[iat + i];
                o.ok += intervals[i].ok;
                o.errors += intervals[i].errors;
                o.timeouts += intervals[i].timeouts;
                o.online += intervals[i].online;
                // Not mergeable exactly (an interval keeps no histogram): the worst instance's.
                o.p50_ms = std::max(o.p50_ms, intervals[i].p50_ms);
                o.p99_ms = std::max(o.p99_ms, intervals[i].p99_ms);
            }
        }
        for (size_t i = 0; i < sr.intervals.size(); ++i)
            sr.intervals[i].t_s = static_cast<double>(i) * static_cast<double>(out.interval_ms) / 1000.0;
        // The peak of the union: of the summed per-bucket peaks (an upper bound within one bucket),
        // never below one instance's own peak.
        for (uint32_t v : sr.online_per_100ms) peak = std::max<uint64_t>(peak, v);
        sr.peak_online = peak;
        sr.actions = merge_actions(actions);
        // report.json keeps the actions' histograms only: the scenario's is their sum, as in a run.
        std::vector<const LatencySummary*> latencies;
        for (const auto& a : sr.actions) latencies.push_back(&a.latency);
        sr.latency = combine(latencies);
        out.scenarios.push_back(std::move(sr));
    }
    // The run's actions and latency: the merged scenarios' actions added up (their times are already
    // on the merged clock).
    std::vector<std::pair<const std::vector<ActionReport>*, double>> actions;
    std::vector<const LatencySummary*> latencies;
    for (const auto& sr : out.scenarios) {
        actions.emplace_back(&sr.actions, 0.0);
        for (const auto& a : sr.actions) latencies.push_back(&a.latency);
    }
    out.actions = merge_actions(actions);
    out.latency = combine(latencies);

    // The thresholds, evaluated again on the union (each instance judged only its share).
    std::vector<dsl::Threshold> thresholds;
    for (const auto& t : first.thresholds) {
        auto compiled = threshold_of(t);
        if (!compiled) {
            problems.push_back({t.file, t.line, 0,
                                fmt::format("threshold '{}' (metric '{}', op '{}') cannot be evaluated again", t.expression,
                                            t.metric, t.op),
                                {}});
            continue;
        }
        thresholds.push_back(std::move(*compiled));
    }
    out.thresholds = report::evaluate_thresholds(thresholds, out);
    return out;
}

}  // namespace ntx::merge
