// thresholds of script.yaml compiled to dsl::Threshold (report/ evaluates them), and the `progress:`
// section compiled to dsl::ProgressConfig.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "dsl/passes.hpp"
#include "dsl/thresholds_model.hpp"

namespace ntx::dsl {

namespace {

using Scope = Threshold::Scope;
using Op = Threshold::Op;
using Unit = ThresholdUnit;

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
    {"check-rate", Unit::ratio}, {"checks-passed", Unit::count}, {"checks-failed", Unit::count},
};
// And of a scenario's users and tasks.
constexpr MetricDef kScenarioMetrics[] = {
    {"users", Unit::count},       {"peak-online", Unit::count}, {"completed", Unit::count},
    {"stopped", Unit::count},     {"tasks", Unit::count},       {"timeout-out", Unit::count},
    {"error-out", Unit::count},   {"arrivals-dropped", Unit::count},
};

// And of a workflow's tasks (<workflow>.task.<m>): their durations, and how many ended each way.
constexpr MetricDef kTaskMetrics[] = {
    {"count", Unit::count}, {"failed", Unit::count}, {"min", Unit::ms},  {"mean", Unit::ms}, {"p50", Unit::ms},
    {"p90", Unit::ms},      {"p95", Unit::ms},       {"p99", Unit::ms},  {"p999", Unit::ms}, {"max", Unit::ms},
};

std::optional<Unit> find_unit(Scope scope, std::string_view metric) {
    if (scope == Scope::workflow) {
        for (const auto& m : kTaskMetrics)
            if (metric == m.name) return m.unit;
        return std::nullopt;
    }
    for (const auto& m : kActionMetrics)
        if (metric == m.name) return m.unit;
    if (scope == Scope::scenario)
        for (const auto& m : kScenarioMetrics)
            if (metric == m.name) return m.unit;
    return std::nullopt;
}

}  // namespace

std::optional<ThresholdUnit> threshold_unit(Threshold::Scope scope, std::string_view metric) { return find_unit(scope, metric); }

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
    static const std::vector<std::string> task = [] {
        std::vector<std::string> v;
        for (const auto& m : kTaskMetrics) v.emplace_back(m.name);
        return v;
    }();
    return scope == Threshold::Scope::scenario ? scenario : scope == Threshold::Scope::workflow ? task : action;
}

namespace passes {
namespace {

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
    const Script& script;
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
        Unit unit = *threshold_unit(t.scope, t.metric);
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
        // checks.rate (every check of the run), <action>.checks.rate, scenario.<name>.checks.rate.
        if (target == "checks" || target.ends_with(".checks")) {
            if (metric == "rate") t.metric = "check-rate";
            else if (metric == "passed" || metric == "failed") t.metric = fmt::format("checks-{}", metric);
            else {
                error(line, metric_column, fmt::format("unknown metric 'checks.{}'", metric),
                      "checks.rate (the fraction of checks that held), checks.passed or checks.failed");
                return false;
            }
            if (target == "checks") {
                t.scope = Scope::total;
                return true;
            }
            target.remove_suffix(7);
        }
        // <workflow>.task.<m>: the durations of its tasks.
        if (target.ends_with(".task")) {
            std::string_view wf = target.substr(0, target.size() - 5);
            auto found = std::find_if(script.workflows.begin(), script.workflows.end(), [&](const auto& w) { return w.name == wf; });
            if (found != script.workflows.end()) {
                t.scope = Scope::workflow;
                t.target = std::string(wf);
                if (!threshold_unit(t.scope, t.metric)) {
                    error(line, metric_column, fmt::format("unknown metric '{}' in threshold '{}'", metric, path),
                          "a task metric: count, failed, min, mean, p50, p90, p95, p99, p999, max");
                    return false;
                }
                return true;
            }
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
                auto guess = closest_match(t.target, names);
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
                auto guess = closest_match(target, views);
                error(line, column, fmt::format("unknown action '{}' in threshold '{}'", target, path),
                      guess.empty() ? "name an action of the script (optionally <component>.<action>), scenario.<name>, "
                                      "actions or errors"
                                    : fmt::format("did you mean '{}'?", guess));
                return false;
            }
        }
        if (!threshold_unit(t.scope, t.metric)) {
            std::vector<std::string_view> names;
            for (const auto& m : threshold_metrics(t.scope)) names.push_back(m);
            auto guess = closest_match(metric, names);
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

}  // namespace

std::vector<Threshold> compile_thresholds(const YAML::Node& node, const std::string& file, const Script& script,
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
            auto guess = closest_match(k, keys);
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

// progress.rollback: the seeds' "a failed health check triggers progress.rollback -> last-stable-point".
// `last-stable-point` makes rollback the on-failure of every pool health-check that does not write
// its own: the users holding an item that fails its probe end their task rolled back (their saves
// discarded) and go on from their last task boundary. `none` keeps evict. With no health-check in the
// script it could never act, so it is an error.
void parse_progress_rollback(Compilation& cx, FileCtx& f, const YAML::Node& n) {
    auto v = scalar(f, n, "progress.rollback");
    if (!v) return;
    if (*v != "last-stable-point" && *v != "none") {
        f.error(n, fmt::format("unknown progress.rollback '{}'", *v),
                "last-stable-point (a failed health check rolls back the tasks of the users holding the item) or none");
        return;
    }
    bool any = false;
    for (auto& pool : cx.script.pools) {
        if (!pool.health.set) continue;
        any = true;
        if (*v == "last-stable-point" && !pool.health.on_failure_set) pool.health.on_failure = OnProbeFailure::rollback;
    }
    if (!any && *v != "none")
        f.error(n, "progress.rollback: no resource has a health-check, so nothing could trigger a rollback",
                "add health-check: {interval: 5s, probe: tcp} to a pair_pool");
}

// `progress:`: batching {max-batch-size, flush-interval, priority-threshold}, poller.priorities
// {phase: weight}, queue-size.
void parse_progress(Compilation& cx, FileCtx& f, const YAML::Node& n) {
    if (!expect_map(f, n, "progress")) return;
    check_keys(f, n, "progress", {"batching", "poller", "queue-size", "rollback"});
    auto& p = cx.script.progress;
    if (n["rollback"]) parse_progress_rollback(cx, f, n["rollback"]);
    if (n["batching"] && expect_map(f, n["batching"], "progress.batching")) {
        const YAML::Node b = n["batching"];
        check_keys(f, b, "progress.batching", {"max-batch-size", "flush-interval", "priority-threshold"});
        if (b["max-batch-size"]) {
            if (auto v = uint_value(f, b["max-batch-size"], "max-batch-size")) {
                if (*v == 0 || *v > 1'000'000) f.error(b["max-batch-size"], "max-batch-size must be between 1 and 1000000");
                else p.max_batch_size = static_cast<uint32_t>(*v);
            }
        }
        if (b["flush-interval"]) {
            if (auto v = duration(f, b["flush-interval"], "flush-interval")) {
                if (*v == 0) f.error(b["flush-interval"], "flush-interval must be more than 0ms");
                else p.flush_interval_ms = *v;
            }
        }
        if (b["priority-threshold"])
            if (auto v = uint_value(f, b["priority-threshold"], "priority-threshold")) p.priority_threshold = static_cast<uint32_t>(*v);
    }
    if (n["poller"] && expect_map(f, n["poller"], "progress.poller")) {
        const YAML::Node po = n["poller"];
        check_keys(f, po, "progress.poller", {"priorities"});
        if (po["priorities"] && expect_map(f, po["priorities"], "progress.poller.priorities")) {
            const YAML::Node pr = po["priorities"];
            static constexpr std::string_view phases[5] = {"initiating", "planning", "executing", "monitoring", "closing"};
            for (auto it = pr.begin(); it != pr.end(); ++it) {
                std::string phase = it->first.Scalar();
                YAML::Node weight = it->second;
                size_t k = 0;
                while (k < 5 && phases[k] != phase) ++k;
                if (k == 5) {
                    auto guess = closest_match(phase, std::vector<std::string_view>(phases, phases + 5));
                    f.error(it->first, fmt::format("unknown process group '{}' in progress.poller.priorities", phase),
                            guess.empty() ? "one of initiating, planning, executing, monitoring, closing"
                                          : fmt::format("did you mean '{}'?", guess));
                    continue;
                }
                if (auto v = uint_value(f, weight, "a priority")) p.priorities[k] = static_cast<uint32_t>(*v);
            }
        }
    }
    if (n["queue-size"]) {
        if (auto v = uint_value(f, n["queue-size"], "queue-size")) {
            if (*v < 16 || *v > (1u << 24)) f.error(n["queue-size"], "queue-size must be between 16 and 16777216");
            else p.queue_size = static_cast<uint32_t>(*v);
        }
    }
}

}  // namespace passes
}  // namespace ntx::dsl
