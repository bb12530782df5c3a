#include "report/thresholds.hpp"

#include <string_view>

namespace ntx::report {

namespace {

using Op = Threshold::Op;
using Unit = dsl::ThresholdUnit;

const char* unit_name(Unit u) {
    switch (u) {
    case Unit::count: return "count";
    case Unit::ratio: return "ratio";
    case Unit::ms: return "ms";
    case Unit::per_s: return "per_s";
    }
    return "count";
}

const char* op_text(Op op) {
    switch (op) {
    case Op::lt: return "<";
    case Op::le: return "<=";
    case Op::gt: return ">";
    case Op::ge: return ">=";
    case Op::eq: return "==";
    case Op::ne: return "!=";
    }
    return "<";
}

// The metrics of a set of actions.
struct Totals {
    uint64_t count = 0, ok = 0, errors = 0, timeouts = 0, cancelled = 0, retries = 0, bytes_sent = 0, bytes_received = 0;
    uint64_t checks_passed = 0, checks_failed = 0;
    double duration_s = 0;
    LatencySummary latency;

    void add(const ActionReport& a) {
        count += a.count;
        ok += a.ok;
        errors += a.errors;
        timeouts += a.timeouts;
        cancelled += a.cancelled;
        retries += a.retries;
        bytes_sent += a.bytes_sent;
        bytes_received += a.bytes_received;
        for (const auto& c : a.checks) {
            checks_passed += c.pass;
            checks_failed += c.fail;
        }
    }
    double value(std::string_view m) const {
        auto n = [](uint64_t v) { return static_cast<double>(v); };
        if (m == "count") return n(count);
        if (m == "ok") return n(ok);
        if (m == "errors") return n(errors);
        if (m == "timeouts") return n(timeouts);
        if (m == "cancelled") return n(cancelled);
        if (m == "retries") return n(retries);
        if (m == "failed") return n(errors + timeouts);
        if (m == "error-rate") return count ? n(errors + timeouts) / n(count) : 0.0;
        if (m == "throughput") return duration_s > 0 ? n(count) / duration_s : 0.0;
        if (m == "bytes-sent") return n(bytes_sent);
        if (m == "bytes-received") return n(bytes_received);
        if (m == "min") return latency.min_ms;
        if (m == "mean") return latency.mean_ms;
        if (m == "p50") return latency.p50_ms;
        if (m == "p90") return latency.p90_ms;
        if (m == "p95") return latency.p95_ms;
        if (m == "p99") return latency.p99_ms;
        if (m == "p999") return latency.p999_ms;
        if (m == "max") return latency.max_ms;
        if (m == "checks-passed") return n(checks_passed);
        if (m == "checks-failed") return n(checks_failed);
        // No check ran: nothing failed (a rate threshold over an action without checks holds).
        if (m == "check-rate") return checks_passed + checks_failed ? n(checks_passed) / n(checks_passed + checks_failed) : 1.0;
        return 0;
    }
};

double scenario_value(const ScenarioReport& s, std::string_view m) {
    auto n = [](uint64_t v) { return static_cast<double>(v); };
    if (m == "users") return n(s.spawned);
    if (m == "peak-online") return n(s.peak_online);
    if (m == "completed") return n(s.completed);
    if (m == "stopped") return n(s.stopped);
    if (m == "tasks") return n(s.tasks);
    if (m == "timeout-out") return n(s.exit_timeout);
    if (m == "error-out") return n(s.exit_error);
    if (m == "arrivals-dropped") return n(s.arrivals_dropped);
    Totals t;
    for (const auto& a : s.actions) t.add(a);
    t.duration_s = s.duration_s;
    t.latency = s.latency;
    return t.value(m);
}

bool compare(double actual, Op op, double limit) {
    switch (op) {
    case Op::lt: return actual < limit;
    case Op::le: return actual <= limit;
    case Op::gt: return actual > limit;
    case Op::ge: return actual >= limit;
    case Op::eq: return actual == limit;
    case Op::ne: return actual != limit;
    }
    return false;
}

}  // namespace

std::vector<ThresholdResult> evaluate_thresholds(const std::vector<Threshold>& thresholds, const Report& report) {
    std::vector<ThresholdResult> results;
    for (const auto& t : thresholds) {
        ThresholdResult r;
        r.expression = t.text;
        r.op = op_text(t.op);
        r.limit = t.value;
        r.abort_on_fail = t.abort_on_fail;
        r.file = t.file;
        r.line = t.line;
        r.unit = unit_name(dsl::threshold_unit(t.scope, t.metric).value_or(Unit::count));
        switch (t.scope) {
        case Threshold::Scope::total: {
            Totals tot;
            for (const auto& a : report.actions) tot.add(a);
            tot.duration_s = report.duration_s;
            tot.latency = report.latency;
            r.actual = tot.value(t.metric);
            r.metric = t.metric == "error-rate" ? "errors.rate" : t.metric == "failed" ? "errors.count"
                       : t.metric.starts_with("check") ? "checks." + t.metric.substr(t.metric.find('-') + 1)
                                                        : "actions." + t.metric;
            break;
        }
        case Threshold::Scope::scenario:
            r.metric = "scenario." + t.target + "." + t.metric;
            for (const auto& s : report.scenarios)
                if (s.name == t.target) r.actual = scenario_value(s, t.metric);
            break;
        case Threshold::Scope::workflow:
            r.metric = t.target + ".task." + t.metric;
            for (const auto& w : report.workflows)
                if (w.name == t.target) {
                    const auto& l = w.task_duration;
                    const std::string_view m = t.metric;
                    r.actual = m == "count" ? static_cast<double>(w.tasks_ok) : m == "failed" ? static_cast<double>(w.tasks_failed)
                               : m == "min" ? l.min_ms : m == "mean" ? l.mean_ms : m == "p50" ? l.p50_ms : m == "p90" ? l.p90_ms
                               : m == "p95" ? l.p95_ms : m == "p99" ? l.p99_ms : m == "p999" ? l.p999_ms : l.max_ms;
                }
            break;
        case Threshold::Scope::action: {
            r.metric = t.target + "." + t.metric;
            Totals tot;
            tot.duration_s = report.duration_s;
            for (const auto& a : report.actions)
                if (a.name == t.target) {
                    tot.add(a);
                    tot.latency = a.latency;
                }
            r.actual = tot.value(t.metric);
            break;
        }
        }
        r.passed = compare(r.actual, t.op, t.value);
        results.push_back(std::move(r));
    }
    return results;
}

}  // namespace ntx::report