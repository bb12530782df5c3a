#include "report/thresholds.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fmt/format.h>
#include <optional>

#include "dsl/script.hpp"

namespace ntx::report {

namespace {

using Scope = Threshold::Scope;
using Op = Threshold::Op;

enum class Unit : uint8_t { count, ratio, ms, per_s };

struct MetricDef {
    const char* name;
    Unit unit;
};

// Metrics of a set of actions (one action, a scenario's actions, all actions).
constexpr MetricDef kActionMetrics[] = {
    {"count", Unit::count},    {"ok", Unit::count},          {"errors", Unit::count},
    {"timeouts", Unit::count}, {"cancelled", Unit::count},   {"retries", Unit::count},
    {"failed", Unit::count},  // errors + timeouts
    {"error-rate", Unit::ratio}, {"throughput", Unit::per_s}, {"bytes-sent", Unit::count},
    {"bytes-received", Unit::count}, {"min", Unit::ms},       {"mean", Unit::ms},
    {"p50", Unit::ms},         {"p90", Unit::ms},            {"p95", Unit::ms},
    {"p99", Unit::ms},         {"p999", Unit::ms},           {"max", Unit::ms},
};
// And of a scenario's users and tasks.
constexpr MetricDef kScenarioMetrics[] = {
    {"users", Unit::count},       {"peak-online", Unit::count}, {"completed", Unit::count},
    {"stopped", Unit::count},     {"tasks", Unit::count},       {"timeout-out", Unit::count},
    {"error-out", Unit::count},   {"arrivals-dropped", Unit::count},
};

std::optional<Unit> unit_of(Scope scope, std::string_view metric) {
    for (const auto& m : kActionMetrics)
        if (metric == m.name) return m.unit;
    if (scope == Scope::scenario)
        for (const auto& m : kScenarioMetrics)
            if (metric == m.name) return m.unit;
    return std::nullopt;
}

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

std::string_view trim(std::string_view s, size_t& offset) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
        ++offset;
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// Compiles one expression; reports at `column + offset` of the text within the line.
struct Compiler {
    const dsl::Script& script;
    std::string file;
    std::vector<Diagnostic>& out;

    void error(int line, int column, std::string message, std::string hint = {}) {
        out.push_back({file, line, column, std::move(message), std::move(hint)});
    }

    std::optional<Threshold> compile(std::string_view text, int line, int column, bool abort_on_fail) {
        Threshold t;
        t.text = std::string(text);
        t.abort_on_fail = abort_on_fail;
        t.file = file;
        t.line = line;
        t.column = column;
        size_t op_at = text.find_first_of("<>=!");
        if (op_at == std::string_view::npos) {
            error(line, column, fmt::format("threshold '{}' has no comparison", text),
                  "write METRIC OP VALUE, e.g. 'errors.rate < 1%' (OP: <, <=, >, >=, ==, !=)");
            return std::nullopt;
        }
        size_t op_len = 1;
        if (op_at + 1 < text.size() && text[op_at + 1] == '=') op_len = 2;
        std::string_view op = text.substr(op_at, op_len);
        if (op == "<") t.op = Op::lt;
        else if (op == "<=") t.op = Op::le;
        else if (op == ">") t.op = Op::gt;
        else if (op == ">=") t.op = Op::ge;
        else if (op == "==") t.op = Op::eq;
        else if (op == "!=") t.op = Op::ne;
        else {
            error(line, column + static_cast<int>(op_at), fmt::format("unknown comparison '{}' in threshold '{}'", op, text),
                  "use <, <=, >, >=, == or !=");
            return std::nullopt;
        }
        size_t left_off = 0, right_off = op_at + op_len;
        std::string_view path = trim(text.substr(0, op_at), left_off);
        std::string_view value = trim(text.substr(op_at + op_len), right_off);
        if (!resolve(t, path, line, column + static_cast<int>(left_off))) return std::nullopt;
        Unit unit = *unit_of(t.scope, t.metric);
        if (!parse_value(t, unit, value, line, column + static_cast<int>(right_off))) return std::nullopt;
        return t;
    }

    // The metric path: <action>.<metric>, <component>.<action>.<metric>, scenario.<name>.<metric>,
    // actions.<metric>, errors.rate / errors.count.
    bool resolve(Threshold& t, std::string_view path, int line, int column) {
        size_t dot = path.rfind('.');
        if (path.empty() || dot == std::string_view::npos || dot == 0 || dot + 1 == path.size()) {
            error(line, column, fmt::format("'{}' is not a metric path", path),
                  "write <action>.<metric>, <component>.<action>.<metric>, scenario.<name>.<metric>, actions.<metric> "
                  "or errors.rate");
            return false;
        }
        std::string_view target = path.substr(0, dot), metric = path.substr(dot + 1);
        const int metric_column = column + static_cast<int>(dot) + 1;
        t.metric = std::string(metric);
        if (target == "errors") {
            t.scope = Scope::total;
            if (metric == "rate") t.metric = "error-rate";
            else if (metric == "count") t.metric = "failed";
            else {
                error(line, metric_column, fmt::format("unknown metric 'errors.{}'", metric),
                      "errors.rate (a fraction of all actions) or errors.count");
                return false;
            }
            return true;
        }
        if (target == "actions") t.scope = Scope::total;
        else if (target.substr(0, 9) == "scenario.") {
            t.scope = Scope::scenario;
            t.target = std::string(target.substr(9));
            bool found = false;
            std::vector<std::string_view> names;
            for (const auto& s : script.scenarios) {
                names.push_back(s.name);
                if (s.name == t.target) found = true;
            }
            if (!found) {
                auto guess = dsl::closest_match(t.target, names);
                error(line, column + 9, fmt::format("unknown scenario '{}' in threshold '{}'", t.target, path),
                      guess.empty() ? fmt::format("the scenarios are: {}", fmt::join(names, ", "))
                                    : fmt::format("did you mean '{}'?", guess));
                return false;
            }
        } else {
            t.scope = Scope::action;
            // An action by its own name, or qualified by its component's name.
            std::vector<std::string> candidates;
            bool found = false;
            for (const auto& a : script.actions) {
                if (a.ad_hoc) continue;
                std::string qualified = script.components[a.component].name + "." + a.name;
                if (target == a.name || target == qualified) {
                    t.target = a.name;
                    found = true;
                    break;
                }
                candidates.push_back(a.name);
                candidates.push_back(std::move(qualified));
            }
            if (!found) {
                candidates.push_back("actions");
                candidates.push_back("errors");
                std::vector<std::string_view> views(candidates.begin(), candidates.end());
                auto guess = dsl::closest_match(target, views);
                error(line, column, fmt::format("unknown action '{}' in threshold '{}'", target, path),
                      guess.empty() ? "name an action of the script (optionally <component>.<action>), scenario.<name>, "
                                      "actions or errors"
                                    : fmt::format("did you mean '{}'?", guess));
                return false;
            }
        }
        if (!unit_of(t.scope, t.metric)) {
            std::vector<std::string_view> names;
            for (const auto& m : threshold_metrics(t.scope)) names.push_back(m);
            auto guess = dsl::closest_match(metric, names);
            error(line, metric_column, fmt::format("unknown metric '{}' in threshold '{}'", metric, path),
                  guess.empty() ? fmt::format("the metrics are: {}", fmt::join(names, ", "))
                                : fmt::format("did you mean '{}'?", guess));
            return false;
        }
        return true;
    }

    bool parse_value(Threshold& t, Unit unit, std::string_view text, int line, int column) {
        double v = 0;
        const char* begin = text.data();
        const char* end = text.data() + text.size();
        auto [ptr, ec] = std::from_chars(begin, end, v);
        if (ec != std::errc() || text.empty() || !std::isfinite(v) || v < 0) {
            error(line, column, fmt::format("'{}' is not a value (threshold '{}')", text, t.text),
                  "a non-negative number with an optional unit: 300ms, 2s, 1%, 0.01, 500/s, 1000");
            return false;
        }
        size_t skip = 0;
        std::string_view suffix = trim(std::string_view(ptr, static_cast<size_t>(end - ptr)), skip);
        const int unit_column = column + static_cast<int>(ptr - begin + static_cast<ptrdiff_t>(skip));
        auto bad_unit = [&](std::string_view expected) {
            error(line, unit_column,
                  fmt::format("'{}' does not fit metric '{}' (threshold '{}')", suffix.empty() ? text : suffix, t.metric, t.text),
                  std::string(expected));
            return false;
        };
        switch (unit) {
        case Unit::ms:
            if (suffix == "ms" || suffix.empty()) t.value = v;
            else if (suffix == "us") t.value = v / 1000.0;
            else if (suffix == "s") t.value = v * 1000.0;
            else if (suffix == "m") t.value = v * 60'000.0;
            else return bad_unit("a latency: 300ms, 1.5s, 250us or 1m (a bare number is ms)");
            break;
        case Unit::ratio:
            if (suffix == "%") t.value = v / 100.0;
            else if (suffix.empty() && v <= 1.0) t.value = v;
            else if (suffix.empty()) return bad_unit(fmt::format("a rate: write {}% or a fraction between 0 and 1", v));
            else return bad_unit("a rate: 1% or 0.01");
            break;
        case Unit::per_s:
            if (suffix.empty() || suffix == "/s") t.value = v;
            else if (suffix == "/m") t.value = v / 60.0;
            else return bad_unit("a throughput: 500/s, 100/m or a bare number per second");
            break;
        case Unit::count:
            if (!suffix.empty()) return bad_unit("a count: a plain number");
            t.value = v;
            break;
        }
        return true;
    }
};

// The metrics of a set of actions.
struct Totals {
    uint64_t count = 0, ok = 0, errors = 0, timeouts = 0, cancelled = 0, retries = 0, bytes_sent = 0, bytes_received = 0;
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

const std::vector<std::string>& threshold_metrics(Threshold::Scope scope) {
    static const std::vector<std::string> action = [] {
        std::vector<std::string> v;
        for (const auto& m : kActionMetrics) v.emplace_back(m.name);
        return v;
    }();
    static const std::vector<std::string> scenario = [] {
        std::vector<std::string> v = action;
        for (const auto& m : kScenarioMetrics) v.emplace_back(m.name);
        return v;
    }();
    return scope == Threshold::Scope::scenario ? scenario : action;
}

std::vector<Threshold> compile_thresholds(const YAML::Node& node, const std::string& file, const dsl::Script& script,
                                          std::vector<Diagnostic>& diagnostics) {
    std::vector<Threshold> out;
    Compiler c{script, file, diagnostics};
    auto where = [](const YAML::Node& n) {
        auto m = n.Mark();
        // A quoted scalar starts one column before its text.
        int quote = n.IsScalar() && n.Tag() == "!" ? 1 : 0;
        return std::pair<int, int>{m.is_null() ? 0 : m.line + 1, m.is_null() ? 0 : m.column + 1 + quote};
    };
    auto add = [&](const YAML::Node& n, const std::string& prefix, bool abort_on_fail) {
        if (!n.IsScalar()) {
            auto [line, col] = where(n);
            c.error(line, col, "a threshold must be a string such as 'errors.rate < 1%'");
            return;
        }
        auto [line, col] = where(n);
        std::string text = prefix.empty() ? n.Scalar() : prefix + " " + n.Scalar();
        // With a metric prefix (the map form) positions inside the condition still point at the condition.
        if (!prefix.empty()) col -= static_cast<int>(prefix.size()) + 1;
        if (auto t = c.compile(text, line, col, abort_on_fail)) out.push_back(std::move(*t));
    };
    // {threshold: EXPR, abort-on-fail: BOOL} (list form) or {condition: COND, abort-on-fail: BOOL} (map form).
    auto add_map = [&](const YAML::Node& m, const std::string& prefix) {
        const char* key = prefix.empty() ? "threshold" : "condition";
        bool abort_on_fail = false;
        for (auto it = m.begin(); it != m.end(); ++it) {
            std::string k = it->first.Scalar();
            if (k == key) continue;
            if (k == "abort-on-fail") {
                try {
                    abort_on_fail = it->second.as<bool>();
                } catch (const YAML::Exception&) {
                    auto [line, col] = where(it->second);
                    c.error(line, col, "abort-on-fail must be true or false");
                }
                continue;
            }
            auto [line, col] = where(it->first);
            std::vector<std::string_view> keys{key, "abort-on-fail"};
            auto guess = dsl::closest_match(k, keys);
            c.error(line, col, fmt::format("unknown key '{}' in a threshold", k),
                    guess.empty() ? fmt::format("a threshold map has '{}' and 'abort-on-fail'", key)
                                  : fmt::format("did you mean '{}'?", guess));
        }
        if (!m[key]) {
            auto [line, col] = where(m);
            c.error(line, col, fmt::format("a threshold map needs '{}'", key));
            return;
        }
        add(m[key], prefix, abort_on_fail);
    };
    if (node.IsSequence()) {
        for (const auto& item : node) {
            if (item.IsMap()) add_map(item, {});
            else add(item, {}, false);
        }
    } else if (node.IsMap()) {
        // metric: "< 300ms" | [conditions] | {condition, abort-on-fail}
        for (auto it = node.begin(); it != node.end(); ++it) {
            // Copies: `it->` hands out a temporary, which a range-for over its member would outlive.
            const std::string metric = it->first.Scalar();
            const YAML::Node conditions = it->second;
            auto one = [&](const YAML::Node& v) {
                if (v.IsMap()) add_map(v, metric);
                else add(v, metric, false);
            };
            if (conditions.IsSequence())
                for (const auto& v : conditions) one(v);
            else
                one(conditions);
        }
    } else if (!node.IsNull()) {
        auto [line, col] = where(node);
        c.error(line, col, "thresholds must be a list of expressions (or a map metric: condition)",
                "thresholds: [\"errors.rate < 1%\", \"actions.count > 1000\"]");
    }
    return out;
}

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
        r.unit = unit_name(unit_of(t.scope, t.metric).value_or(Unit::count));
        switch (t.scope) {
        case Threshold::Scope::total: {
            Totals tot;
            for (const auto& a : report.actions) tot.add(a);
            tot.duration_s = report.duration_s;
            tot.latency = report.latency;
            r.actual = tot.value(t.metric);
            r.metric = t.metric == "error-rate" ? "errors.rate" : t.metric == "failed" ? "errors.count" : "actions." + t.metric;
            break;
        }
        case Threshold::Scope::scenario:
            r.metric = "scenario." + t.target + "." + t.metric;
            for (const auto& s : report.scenarios)
                if (s.name == t.target) r.actual = scenario_value(s, t.metric);
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
