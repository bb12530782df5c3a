#include "merge/report_reader.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace ntx::merge {
namespace json = boost::json;

namespace {

const json::object& obj(const json::object& o, std::string_view key) {
    static const json::object empty;
    auto it = o.find(key);
    return it != o.end() && it->value().is_object() ? it->value().get_object() : empty;
}
const json::array& arr(const json::object& o, std::string_view key) {
    static const json::array empty;
    auto it = o.find(key);
    return it != o.end() && it->value().is_array() ? it->value().get_array() : empty;
}
uint64_t u64(const json::value& v) {
    if (v.is_uint64()) return v.get_uint64();
    if (v.is_int64()) return v.get_int64() > 0 ? static_cast<uint64_t>(v.get_int64()) : 0;
    if (v.is_double()) return v.get_double() > 0 ? static_cast<uint64_t>(v.get_double()) : 0;
    return 0;
}
uint64_t u64(const json::object& o, std::string_view key) {
    auto it = o.find(key);
    return it == o.end() ? 0 : u64(it->value());
}
int64_t i64(const json::object& o, std::string_view key) {
    auto it = o.find(key);
    if (it == o.end()) return 0;
    if (it->value().is_int64()) return it->value().get_int64();
    if (it->value().is_uint64()) return static_cast<int64_t>(it->value().get_uint64());
    if (it->value().is_double()) return static_cast<int64_t>(it->value().get_double());
    return 0;
}
double num(const json::object& o, std::string_view key) {
    auto it = o.find(key);
    if (it == o.end()) return 0;
    const auto& v = it->value();
    if (v.is_double()) return v.get_double();
    if (v.is_int64()) return static_cast<double>(v.get_int64());
    if (v.is_uint64()) return static_cast<double>(v.get_uint64());
    return 0;
}
std::string str(const json::object& o, std::string_view key) {
    auto it = o.find(key);
    return it != o.end() && it->value().is_string() ? std::string(it->value().get_string()) : std::string();
}
bool flag(const json::object& o, std::string_view key) {
    auto it = o.find(key);
    return it != o.end() && it->value().is_bool() && it->value().get_bool();
}
std::vector<std::pair<std::string, uint64_t>> counts(const json::object& o) {
    std::vector<std::pair<std::string, uint64_t>> out;
    for (const auto& kv : o) out.emplace_back(std::string(kv.key()), u64(kv.value()));
    return out;
}

LatencySummary latency(const json::object& parent, bool& has_histogram) {
    LatencySummary l;
    const auto& o = obj(parent, "latency_ms");
    l.min_ms = num(o, "min");
    l.mean_ms = num(o, "mean");
    l.p50_ms = num(o, "p50");
    l.p90_ms = num(o, "p90");
    l.p95_ms = num(o, "p95");
    l.p99_ms = num(o, "p99");
    l.p999_ms = num(o, "p999");
    l.max_ms = num(o, "max");
    auto it = parent.find("latency_histogram");
    if (it == parent.end() || !it->value().is_object()) {
        has_histogram = false;
        return l;
    }
    const auto& h = it->value().get_object();
    l.histogram.count = u64(h, "count");
    l.histogram.sum_us = u64(h, "sum_us");
    l.histogram.min_us = u64(h, "min_us");
    l.histogram.max_us = u64(h, "max_us");
    // Runs of adjacent buckets: [first index, count, count, ...] (report_writer.cpp).
    for (const auto& run : arr(h, "buckets")) {
        if (!run.is_array() || run.get_array().size() < 2) continue;
        const auto& r = run.get_array();
        auto index = static_cast<uint32_t>(u64(r[0]));
        for (size_t k = 1; k < r.size(); ++k) l.histogram.buckets.emplace_back(index++, u64(r[k]));
    }
    return l;
}

ActionReport action(const json::object& o, bool& has_histogram) {
    ActionReport a;
    a.name = str(o, "name");
    a.component = str(o, "component");
    a.call = str(o, "call");
    a.count = u64(o, "count");
    a.ok = u64(o, "ok");
    a.errors = u64(o, "errors");
    a.timeouts = u64(o, "timeouts");
    a.cancelled = u64(o, "cancelled");
    a.retries = u64(o, "retries");
    a.throttled = u64(o, "throttled");
    a.dynamic = u64(o, "dynamic");
    a.ad_hoc = str(o, "origin") == "dynamic" && a.name.find("(ad hoc)") != std::string::npos;
    a.bytes_sent = u64(o, "bytes_sent");
    a.bytes_received = u64(o, "bytes_received");
    a.errors_by_kind = counts(obj(o, "errors_by_kind"));
    for (const auto& kv : obj(o, "error_examples")) {
        if (!kv.value().is_object()) continue;
        const auto& e = kv.value().get_object();
        a.error_examples.push_back({std::string(kv.key()), str(e, "reason"), u64(e, "user"), u64(e, "task"), num(e, "at_s")});
    }
    a.status_classes = counts(obj(o, "status_classes"));
    a.protocols = counts(obj(o, "protocols"));  // absent in reports before ABI 1.6: none
    a.latency = latency(o, has_histogram);
    return a;
}

std::vector<uint32_t> u32s(const json::array& a) {
    std::vector<uint32_t> out;
    out.reserve(a.size());
    for (const auto& v : a) out.push_back(static_cast<uint32_t>(u64(v)));
    return out;
}

}  // namespace

Report parse_report(const std::string& text, const std::string& name) {
    json::value root;
    try {
        root = json::parse(text);
    } catch (const std::exception& e) {
        throw std::runtime_error(fmt::format("{}: not JSON: {}", name, e.what()));
    }
    if (!root.is_object() || !root.get_object().contains("scenarios") || !root.get_object().contains("totals"))
        throw std::runtime_error(fmt::format("{}: not an ntx report.json (no scenarios and totals)", name));
    const auto& r = root.get_object();
    bool has_histogram = true;
    Report out;
    out.ntx_version = str(r, "ntx_version");
    out.res_dir = str(r, "res_dir");
    out.started_at = str(r, "started_at");
    out.started_at_unix_ms = i64(r, "started_at_unix_ms");
    out.start_at_unix_ms = i64(r, "start_at_unix_ms");
    out.interrupted = flag(r, "interrupted");
    const auto& seg = obj(r, "segment");
    out.segment_index = static_cast<uint32_t>(u64(seg, "index"));
    out.segment_count = seg.contains("count") ? static_cast<uint32_t>(u64(seg, "count")) : 0;  // 0: not recorded
    out.script_hash = str(r, "script_hash");
    for (const auto& p : arr(r, "plugins"))
        if (p.is_object()) out.plugins.push_back({str(p.get_object(), "component"), str(p.get_object(), "name"), str(p.get_object(), "version")});
    for (const auto& sv : arr(r, "scenarios")) {
        if (!sv.is_object()) continue;
        const auto& s = sv.get_object();
        ScenarioReport sr;
        sr.name = str(s, "name");
        sr.workflow = str(s, "workflow");
        sr.model = str(s, "model");
        sr.duration_s = num(s, "duration_s");
        const auto& users = obj(s, "users");
        sr.spawned = u64(users, "spawned");
        sr.peak_online = u64(users, "peak_online");
        sr.completed = u64(users, "completed");
        sr.stopped = u64(users, "stopped");
        sr.tasks = u64(s, "tasks");
        sr.task_retries = u64(s, "task_retries");
        sr.condition_errors = u64(s, "condition_errors");
        sr.condition_error_example = str(s, "condition_error_example");
        sr.resource_wait_timeouts = u64(s, "resource_wait_timeouts");
        const auto& dyn = obj(s, "dynamic_tasks");
        sr.dynamic_requested = u64(dyn, "requested");
        sr.dynamic_started = u64(dyn, "started");
        sr.dynamic_refused = u64(dyn, "refused");
        sr.dynamic_ended = u64(dyn, "ended");
        const auto& exits = obj(s, "exits");
        sr.exit_timeout = u64(exits, "timeout_out");
        sr.exit_error = u64(exits, "error_out");
        sr.exit_closing = u64(exits, "closing");
        sr.exit_rollback = u64(exits, "rollback");
        sr.exit_stop_user = u64(exits, "stop_user");
        const auto& arrivals = obj(s, "arrivals");
        sr.arrivals_planned = u64(arrivals, "planned");
        sr.arrivals_started = u64(arrivals, "started");
        sr.arrivals_dropped = u64(arrivals, "dropped");
        for (const auto& av : arr(s, "actions"))
            if (av.is_object()) sr.actions.push_back(action(av.get_object(), has_histogram));
        bool scenario_histogram = true;  // not written: the sum of its actions' (merge.cpp)
        sr.latency = latency(s, scenario_histogram);
        for (const auto& iv : arr(s, "intervals")) {
            if (!iv.is_object()) continue;
            const auto& i = iv.get_object();
            IntervalStats st;
            st.t_s = num(i, "t_s");
            st.ok = u64(i, "ok");
            st.errors = u64(i, "errors");
            st.timeouts = u64(i, "timeouts");
            st.p50_ms = num(i, "p50_ms");
            st.p95_ms = num(i, "p95_ms");
            st.p99_ms = num(i, "p99_ms");
            st.online = u64(i, "online");
            sr.intervals.push_back(std::move(st));
        }
        const auto& tl = obj(s, "timeline");
        sr.timeline_bucket_ms = tl.contains("bucket_ms") ? u64(tl, "bucket_ms") : 100;
        sr.started_per_100ms = u32s(arr(tl, "started"));
        sr.online_per_100ms = u32s(arr(tl, "online"));
        out.scenarios.push_back(std::move(sr));
    }
    const auto& totals = obj(r, "totals");
    out.total_actions = u64(totals, "actions");
    out.total_ok = u64(totals, "ok");
    out.total_errors = u64(totals, "errors");
    out.total_timeouts = u64(totals, "timeouts");
    out.total_cancelled = u64(totals, "cancelled");
    out.socket_bytes_sent = u64(totals, "socket_bytes_sent");
    out.socket_bytes_received = u64(totals, "socket_bytes_received");
    out.sockets_opened = u64(totals, "sockets_opened");
    out.duration_s = num(totals, "duration_s");
    bool derived = true;  // the run's and the top-level actions' histograms are sums of the scenarios' actions'
    out.latency = latency(totals, derived);
    for (const auto& av : arr(r, "actions"))
        if (av.is_object()) out.actions.push_back(action(av.get_object(), derived));
    out.interval_ms = r.contains("interval_ms") ? u64(r, "interval_ms") : 1000;
    for (const auto& tv : arr(r, "thresholds")) {
        if (!tv.is_object()) continue;
        const auto& t = tv.get_object();
        out.thresholds.push_back({str(t, "expression"), str(t, "metric"), str(t, "op"), num(t, "limit"), num(t, "actual"),
                                  str(t, "unit"), flag(t, "passed"), flag(t, "abort_on_fail"), str(t, "file"),
                                  static_cast<int>(i64(t, "line"))});
    }
    out.aborted_by_threshold = flag(r, "aborted_by_threshold");
    out.stopped_by_exit = str(r, "stopped_by_exit");
    const auto& persist = obj(r, "persist");
    out.persist = {u64(persist, "files"), u64(persist, "bytes"), u64(persist, "errors"), str(persist, "first_error")};
    const auto& res = obj(r, "resources");
    for (const auto& pv : arr(res, "pools")) {
        if (!pv.is_object()) continue;
        const auto& p = pv.get_object();
        PoolReport pr;
        pr.name = str(p, "name");
        pr.guard = str(p, "guard");
        pr.strategy = str(p, "strategy");
        pr.items = u64(p, "items");
        pr.ttl_ms = u64(p, "ttl_ms");
        pr.auto_renew = flag(p, "auto_renew");
        const auto& l = obj(p, "leases");
        pr.acquired = u64(l, "acquired");
        pr.released = u64(l, "released");
        pr.renewed = u64(l, "renewed");
        pr.expired = u64(l, "expired");
        pr.evicted = u64(l, "evicted");
        pr.rolled_back = u64(l, "rolled_back");
        pr.peak_held = u64(l, "peak_held");
        pr.held_at_end = u64(l, "held_at_end");
        const auto& w = obj(p, "waits");
        pr.waits = u64(w, "count");
        pr.wait_timeouts = u64(w, "timeouts");
        pr.wait_p50_ms = num(w, "p50_ms");
        pr.wait_p99_ms = num(w, "p99_ms");
        pr.wait_max_ms = num(w, "max_ms");
        if (p.contains("health")) {
            const auto& h = obj(p, "health");
            pr.health_check = true;
            pr.on_failure = str(h, "on_failure");
            pr.probe_rounds = u64(h, "rounds");
            pr.probes = u64(h, "probes");
            pr.probe_failures = u64(h, "failures");
            pr.downs = u64(h, "downs");
            pr.recoveries = u64(h, "recoveries");
            pr.down_at_end = u64(h, "down_at_end");
        }
        out.resources.pools.push_back(std::move(pr));
    }
    for (const auto& bv : arr(res, "file_blobs"))
        if (bv.is_object()) {
            const auto& b = bv.get_object();
            out.resources.blobs.push_back({str(b, "name"), str(b, "file"), str(b, "sha256"), u64(b, "size"), str(b, "checksum")});
        }
    for (const auto& kv : arr(res, "kv_stores"))
        if (kv.is_object()) out.resources.kv_stores.push_back({str(kv.get_object(), "name"), str(kv.get_object(), "source"), u64(kv.get_object(), "keys")});
    out.resources.leases_leaked = u64(res, "leases_leaked");
    const auto& wb = obj(r, "workbook");
    out.workbook.entries = u64(wb, "entries");
    out.workbook.by_state = counts(obj(wb, "by_state"));
    out.workbook.memory_bytes = u64(wb, "memory_bytes");
    out.workbook.snapshot = str(wb, "snapshot");
    out.workbook.snapshot_bytes = u64(wb, "snapshot_bytes");
    const auto& ret = obj(wb, "retention");
    out.workbook.retention = str(ret, "keeps");
    out.workbook.kept = u64(ret, "kept");
    out.workbook.not_kept = u64(ret, "not_kept");
    out.workbook.over_limit = u64(ret, "over_limit");
    out.workbook.dropped = u64(ret, "dropped");
    const auto& stream = obj(wb, "stream");
    out.workbook.stream_events = u64(stream, "events");
    out.workbook.stream_batches = u64(stream, "batches");
    out.workbook.stream_max_batch = u64(stream, "max_batch");
    out.workbook.stream_dropped = u64(stream, "dropped");
    if (!has_histogram)
        throw std::runtime_error(fmt::format("{}: has latency percentiles but no latency_histogram (written by an ntx "
                                             "older than ntx merge): percentiles cannot be merged exactly",
                                             name));
    return out;
}

Report read_report(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) throw std::runtime_error(fmt::format("{}: cannot be read", file.string()));
    std::ostringstream text;
    text << in.rdbuf();
    return parse_report(text.str(), file.string());
}

}  // namespace ntx::merge
