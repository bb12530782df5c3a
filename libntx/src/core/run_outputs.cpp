// What a run writes besides its report: the result streams (--out-stream, config.yaml outputs), the
// workbook archive (workbook.jsonl) and the workbook's summary at close. Split from core.cpp by job.
#include <boost/json.hpp>
#include <fmt/format.h>

#include "core/core.hpp"
#include "live/run_monitor.hpp"
#include "scheduler/scheduler.hpp"
#include "workbook/archive.hpp"

namespace ntx::core {
namespace fs = std::filesystem;

// The result streams asked for: config.yaml's outputs (relative target files in --out, else the
// current folder), replaced kind by kind by --out-stream (as given). A file that cannot be created is
// bad input. prometheus-rw is no file: its writer starts here and pushes from the monitor's snapshots.
Core::Streams Core::open_streams(const workbook::Names& names, unsigned shards) const {
    std::vector<std::pair<std::string, std::string>> wanted;
    for (const auto& [kind, target] : script_.config.outputs) {
        fs::path p(target);
        if (kind != "prometheus-rw" && p.is_relative() && !options_.out_dir.empty()) p = fs::path(options_.out_dir) / p;
        wanted.emplace_back(kind, p.string());
    }
    for (const auto& [kind, target] : options_.out_streams) {
        std::string error = dsl::output_kind_error(kind);
        if (error.empty()) error = dsl::output_target_error(kind, target);
        if (!error.empty()) throw InvalidInput({{"--out-stream", 0, 0, error.substr(std::string_view("outputs: ").size()), {}}});
        std::erase_if(wanted, [&](const auto& w) { return w.first == kind; });
        wanted.emplace_back(kind, target);
    }
    Streams out;
    for (const auto& [kind, target] : wanted) {
        if (kind == "prometheus-rw") {
            live::RemoteWriter::Options o;
            o.url = target;
            o.warn = [log = log_](const std::string& w) { log->warn("{}", w); };
            out.remote_write = std::make_unique<live::RemoteWriter>(std::move(o));
            out.remote_write_url = target;
            continue;
        }
        std::error_code ec;
        if (fs::path(target).has_parent_path()) fs::create_directories(fs::path(target).parent_path(), ec);
        if (kind == "tasks") {
            workbook::Retention all;
            all.keep = workbook::Retention::Keep::all;
            all.limit = 0;
            try {
                out.tasks = std::make_unique<workbook::Archive>(script_.workbook, names, all, fs::path(target), 0, shards,
                                                                script_.scenarios.size());
            } catch (const std::exception& e) {
                throw InvalidInput({{"--out-stream", 0, 0, fmt::format("tasks={}: {}", target, e.what()), {}}});
            }
            continue;
        }
        std::FILE* f = std::fopen(target.c_str(), "w");
        if (!f)
            throw InvalidInput({{"--out-stream", 0, 0, fmt::format("{}={}: cannot create the file: {}", kind, target,
                                                                   std::strerror(errno)), {}}});
        (kind == "csv" ? out.csv : out.jsonl).reset(f);
    }
    return out;
}

// The workbook archive of the run: retention from RunOptions, the snapshot file in --out (gzip when
// asked), the rows for keep_workbook.
std::unique_ptr<workbook::Archive> Core::make_archive(const workbook::Names& names, unsigned shards) const {
    const WorkbookRetention& o = options_.workbook_retention;
    workbook::Retention r;
    r.keep = static_cast<workbook::Retention::Keep>(o.keep);
    r.sample = static_cast<workbook::Retention::Sample>(o.sample);
    r.sample_n = o.sample_n;
    r.limit = o.limit;
    r.gzip = o.gzip;
    fs::path file;
    if (!options_.out_dir.empty()) file = fs::path(options_.out_dir) / (r.gzip ? "workbook.jsonl.gz" : "workbook.jsonl");
    return std::make_unique<workbook::Archive>(script_.workbook, names, r, std::move(file),
                                               options_.keep_workbook ? options_.keep_workbook_max : 0, shards,
                                               script_.scenarios.size());
}

// Closing: the ledger's summary (finished entries were counted as they were released; what is still
// open at the end is counted here), and what the archive kept. The loops have stopped.
WorkbookSummary Core::close_workbook(scheduler::Scheduler& sched, workbook::Archive& archive) const {
    WorkbookSummary w;
    std::vector<uint64_t> counts(workbook::kStates, 0);
    uint64_t released = 0;
    for (unsigned i = 0; i < sched.shard_count(); ++i) {
        const auto& ledger = sched.shard(i).ledger();
        w.memory_bytes += ledger.memory_bytes();
        w.entries += ledger.opened();
        for (size_t k = 0; k < workbook::kStates; ++k) {
            counts[k] += ledger.released_by_state()[k];
            released += ledger.released_by_state()[k];
        }
        ledger.for_each_live([&](const workbook::Entry& e) { ++counts[static_cast<size_t>(e.state)]; });
    }
    for (size_t k = 0; k < counts.size(); ++k)
        if (counts[k]) w.by_state.emplace_back(std::string(workbook::state_name(static_cast<workbook::State>(k))), counts[k]);
    auto st = archive.stats();
    w.retention = workbook::describe(archive.retention());
    w.kept = st.kept;
    w.not_kept = released >= st.kept ? released - st.kept : 0;
    w.over_limit = st.over_limit;
    w.dropped = st.dropped;
    w.snapshot_bytes = st.bytes;
    if (!st.error.empty()) log_->error("the workbook snapshot: {}", st.error);
    if (st.dropped) log_->warn("the workbook snapshot lost {} entries (its writer fell behind or the disk failed)", st.dropped);
    w.snapshot = archive.file_name();
    if (!options_.keep_workbook) return w;
    // The kept entries as C++ values: the same values as the snapshot's lines (one formatter for both).
    auto& kept = archive.rows();
    w.rows_dropped = st.kept > kept.size() ? st.kept - kept.size() : 0;
    std::sort(kept.begin(), kept.end(), [](const workbook::Entry& a, const workbook::Entry& b) {
        return a.user_id != b.user_id ? a.user_id < b.user_id : a.task_id < b.task_id;
    });
    w.rows.reserve(kept.size());
    for (const auto& e : kept) {
        auto o = boost::json::parse(workbook::entry_json(script_.workbook, sched.workbook_names(), e)).as_object();
        auto str = [](const boost::json::value& v) { return v.is_string() ? std::string(v.as_string()) : std::string(); };
        WorkbookEntry r;
        r.user_id = e.user_id;
        r.task_id = e.task_id;
        r.scenario = str(o["scenario"]);
        r.state = str(o["state"]);
        r.owner = str(o["owner"]);
        r.current_action = str(o["current_action"]);
        r.retry_left = e.retry_left;
        r.start_at_ms = e.start_at_ms;
        r.timeout_at_ms = e.timeout_at_ms;
        for (const auto& part : o["scope_trace"].as_array()) r.scope_trace.push_back(str(part));
        const auto& ev = o["evidence"].as_object();
        r.last_event = str(ev.at("last_event"));
        r.response_ms = ev.at("response_ms").is_number() ? ev.at("response_ms").to_number<double>() : 0.0;
        r.dynamic = e.dynamic;
        if (auto* sections = o.if_contains("sections"))
            for (const auto& [section, fields] : sections->as_object())
                for (const auto& [key, value] : fields.as_object())
                    r.fields.emplace_back(std::string(section) + "." + std::string(key), str(value));
        w.rows.push_back(std::move(r));
    }
    return w;
}

}  // namespace ntx::core
