#include "compare.hpp"

#include "files/safe_file.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <system_error>
#include <vector>

namespace ntx::cli {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

std::optional<json::object> read_json(const fs::path& p, std::string& error) {
    std::ifstream in(p);
    if (!in) {
        error = "cannot read " + p.string();
        return std::nullopt;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    boost::system::error_code ec;
    auto v = json::parse(ss.str(), ec);
    if (ec || !v.is_object()) {
        error = p.string() + ": not a JSON object" + (ec ? ": " + ec.message() : std::string());
        return std::nullopt;
    }
    return v.as_object();
}

// A report.json, a folder holding one, or a run id of the archive.
std::optional<fs::path> find_run(const std::string& what, const std::string& archive_dir, std::string& error) {
    std::error_code ec;
    fs::path p(what);
    if (fs::is_regular_file(p, ec)) return p.parent_path().empty() ? fs::path(".") : p.parent_path();
    if (fs::is_directory(p, ec) && fs::exists(p / "report.json", ec)) return p;
    if (!archive_dir.empty() && fs::exists(fs::path(archive_dir) / what / "report.json", ec)) return fs::path(archive_dir) / what;
    error = "'" + what + "': not a report.json, a folder with one" +
            (archive_dir.empty() ? std::string(" (give --archive DIR to name archived runs by id)")
                                 : ", or a run id in " + archive_dir);
    return std::nullopt;
}

double num(const json::value* v) {
    if (!v) return 0;
    if (v->is_double()) return v->as_double();
    if (v->is_int64()) return static_cast<double>(v->as_int64());
    if (v->is_uint64()) return static_cast<double>(v->as_uint64());
    return 0;
}

const json::value* at(const json::object& o, std::initializer_list<const char*> path) {
    const json::value* v = nullptr;
    const json::object* cur = &o;
    for (const char* k : path) {
        if (!cur) return nullptr;
        v = cur->if_contains(k);
        if (!v) return nullptr;
        cur = v->if_object();
    }
    return v;
}

struct Run {
    fs::path dir;
    json::object report;
    double duration_s = 0, actions = 0, errors = 0, throughput = 0, error_rate = 0, p50 = 0, p99 = 0;
    std::map<std::string, std::pair<double, double>> action_latency;  // name -> p50, p99
    std::map<std::string, double> action_count;
    std::map<std::string, uint64_t> states;  // workbook final states
    bool has_states = false;
};

std::optional<Run> load_run(const std::string& what, const std::string& archive_dir, std::string& error) {
    auto dir = find_run(what, archive_dir, error);
    if (!dir) return std::nullopt;
    auto report = read_json(*dir / "report.json", error);
    if (!report) return std::nullopt;
    Run r;
    r.dir = *dir;
    r.report = std::move(*report);
    r.duration_s = num(at(r.report, {"totals", "duration_s"}));
    r.actions = num(at(r.report, {"totals", "actions"}));
    r.errors = num(at(r.report, {"totals", "errors"})) + num(at(r.report, {"totals", "timeouts"}));
    r.throughput = r.duration_s > 0 ? r.actions / r.duration_s : 0;
    r.error_rate = r.actions > 0 ? r.errors / r.actions : 0;
    r.p50 = num(at(r.report, {"totals", "latency_ms", "p50"}));
    r.p99 = num(at(r.report, {"totals", "latency_ms", "p99"}));
    if (auto* actions = r.report.if_contains("actions"); actions && actions->is_array())
        for (const auto& a : actions->as_array()) {
            if (!a.is_object()) continue;
            const auto& o = a.as_object();
            auto* name = o.if_contains("name");
            if (!name || !name->is_string()) continue;
            std::string n(name->as_string());
            r.action_latency[n] = {num(at(o, {"latency_ms", "p50"})), num(at(o, {"latency_ms", "p99"}))};
            r.action_count[n] = num(o.if_contains("count"));
        }
    // Final states: the workbook summary of report.json, else counted from the snapshot.
    if (auto* by_state = at(r.report, {"workbook", "by_state"}); by_state && by_state->is_object()) {
        for (const auto& kv : by_state->as_object()) r.states[std::string(kv.key())] = static_cast<uint64_t>(num(&kv.value()));
        r.has_states = true;
    } else if (std::ifstream in(*dir / "workbook.jsonl"); in) {
        std::string line;
        while (std::getline(in, line)) {
            boost::system::error_code ec;
            auto v = json::parse(line, ec);
            if (ec || !v.is_object()) continue;
            if (auto* s = v.as_object().if_contains("state"); s && s->is_string()) ++r.states[std::string(s->as_string())];
        }
        r.has_states = true;
    }
    return r;
}

// "+12.5% better" style verdicts. `higher_is_better` says which way is good.
std::string verdict(double base, double now, bool higher_is_better, double tolerance = 0.02) {
    if (base == 0 && now == 0) return "same";
    if (base == 0) return higher_is_better ? "better (new)" : "worse (new)";
    double change = (now - base) / std::fabs(base);
    if (std::fabs(change) <= tolerance) return "same";
    bool better = higher_is_better ? change > 0 : change < 0;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%+.1f%% %s", change * 100.0, better ? "better" : "worse");
    return buf;
}

std::string iso_compact_now() {
    auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
    return buf;
}

}  // namespace

std::string archive_run(const std::string& out_dir, const std::string& archive_dir, std::string& error) {
    std::error_code ec;
    fs::path out(out_dir);
    auto report = read_json(out / "report.json", error);
    if (!report) return {};
    std::string name = "run";
    if (auto* res = report->if_contains("res_dir"); res && res->is_string())
        name = fs::path(std::string(res->as_string())).filename().string();
    if (name.empty()) name = "run";
    // <UTC time>-<res_dir name>, with -2, -3 ... when that id is taken (two runs in one second). The
    // folder is made with mkdir, which fails on anything already at the name (a planted link too): the
    // next id is tried, so a run's copies only ever go into a folder this run created.
    std::string base = iso_compact_now() + "-" + name, id = base;
    fs::path dest;
    try {
        fs::create_directories(archive_dir, ec);  // the folder the user named (may itself be a link)
        for (int k = 2;; ++k) {
            dest = fs::path(archive_dir) / id;
            if (ntx::files::create_folder(dest)) break;
            if (k > 1000) {
                error = "cannot create a run folder in " + archive_dir + ": 1000 names taken";
                return {};
            }
            id = base + "-" + std::to_string(k);
        }
        // report.json, and the workbook snapshot it names (workbook.jsonl or workbook.jsonl.gz), if any:
        // each read without following a link and created new (no-follow, exclusive) in the run folder.
        std::vector<std::string> files{"report.json"};
        if (auto* wb = report->if_contains("workbook"); wb && wb->is_object())
            if (auto* snap = wb->as_object().if_contains("snapshot"); snap && snap->is_string())
                files.emplace_back(snap->as_string());
        for (const std::string& file : files) {
            if (file.empty() || file.find('/') != std::string::npos || !fs::exists(out / file, ec)) continue;
            ntx::files::copy_file(out / file, dest / file);
        }
        json::object line{{"run_id", id},
                          {"res_dir", report->contains("res_dir") ? report->at("res_dir") : json::value("")},
                          {"started_at", report->contains("started_at") ? report->at("started_at") : json::value("")}};
        // One append (O_APPEND, no link followed): two runs archiving at once do not mix their lines.
        ntx::files::append(fs::path(archive_dir) / "index.jsonl", json::serialize(line) + "\n");
    } catch (const std::system_error& e) {
        error = std::string(e.what()) + (dest.empty() ? "" : " (archiving into " + dest.string() + ")");
        return {};
    }
    return id;
}

int compare_runs(const std::string& a_name, const std::string& b_name, const std::string& archive_dir, std::FILE* out) {
    std::string error;
    auto a = load_run(a_name, archive_dir, error);
    if (!a) {
        std::fprintf(stderr, "ntx: error: compare: %s\n", error.c_str());
        return 2;
    }
    auto b = load_run(b_name, archive_dir, error);
    if (!b) {
        std::fprintf(stderr, "ntx: error: compare: %s\n", error.c_str());
        return 2;
    }
    std::fprintf(out, "compare: baseline %s\n         run      %s\n\n", a->dir.string().c_str(), b->dir.string().c_str());
    std::fprintf(out, "%-34s %14s %14s  %s\n", "metric", "baseline", "run", "verdict");
    auto row = [&](const std::string& name, double x, double y, bool higher_is_better, const char* fmt) {
        char bx[32], by[32];
        std::snprintf(bx, sizeof bx, fmt, x);
        std::snprintf(by, sizeof by, fmt, y);
        std::fprintf(out, "%-34s %14s %14s  %s\n", name.c_str(), bx, by, verdict(x, y, higher_is_better).c_str());
    };
    row("throughput (actions/s)", a->throughput, b->throughput, true, "%.1f");
    row("actions", a->actions, b->actions, true, "%.0f");
    row("error rate (%)", a->error_rate * 100, b->error_rate * 100, false, "%.3f");
    row("p50 (ms)", a->p50, b->p50, false, "%.2f");
    row("p99 (ms)", a->p99, b->p99, false, "%.2f");
    std::vector<std::string> names;
    for (const auto& [n, _] : b->action_latency) names.push_back(n);
    for (const auto& [n, _] : a->action_latency)
        if (!b->action_latency.count(n)) names.push_back(n);
    for (const auto& n : names) {
        auto x = a->action_latency.count(n) ? a->action_latency[n] : std::pair<double, double>{0, 0};
        auto y = b->action_latency.count(n) ? b->action_latency[n] : std::pair<double, double>{0, 0};
        row(n + " p50 (ms)", x.first, y.first, false, "%.2f");
        row(n + " p99 (ms)", x.second, y.second, false, "%.2f");
    }
    if (a->has_states || b->has_states) {
        std::map<std::string, std::pair<uint64_t, uint64_t>> states;
        for (const auto& [s, n] : a->states) states[s].first = n;
        for (const auto& [s, n] : b->states) states[s].second = n;
        for (const auto& [s, n] : states) {
            // More tasks done is better; more of any other closing state is worse.
            bool higher_is_better = s == "closing.done";
            row("workbook " + s, static_cast<double>(n.first), static_cast<double>(n.second), higher_is_better, "%.0f");
        }
    }
    std::fflush(out);
    return 0;
}

}  // namespace ntx::cli
