// Core: takes a res_dir through the five phases. initiating + planning (plan): read and validate the
// script, manifests and config, load and check the plugins. executing + monitoring + closing
// (execute): init the plugins, run the scheduler, release everything, build the report.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <spdlog/logger.h>
#include <vector>

#include "dsl/script.hpp"
#include "frame/protocol_frame.hpp"
#include "live/remote_write.hpp"
#include "ntx/crash_trace.hpp"
#include "ntx/host.hpp"
#include "ntx/report.hpp"
#include "resource/pair_pool.hpp"

namespace ntx::scheduler {
class Scheduler;
}
namespace ntx::progress {
class Bus;
}
namespace ntx::live {
class RunMonitor;
}
namespace ntx::resource {
class ResourceMonitor;
}
namespace ntx::workbook {
struct Names;
class Archive;
}

namespace ntx::core {

// Protocols a harness registered in-process (Host::register_protocol), by the bare `entry` name that
// resolves to them.
struct InProcessProtocol {
    ProtocolEntry entry;
    void* init_state = nullptr;
};
using ProtocolRegistry = std::map<std::string, InProcessProtocol>;

class Core {
public:
    explicit Core(RunOptions options, ProtocolRegistry protocols = {});
    ~Core();

    // Throws InvalidInput with every problem found. With `texts`, script.yaml/config.yaml come from
    // them (ntx::ScriptBuilder) instead of res_dir's files.
    void plan(const std::filesystem::path& res_dir, const dsl::SourceTexts* texts = nullptr);
    // Throws RuntimeFailure when a plugin fails to initialise.
    // `stop` is the run's stop request: an abort-on-fail threshold sets it too.
    Report execute(std::atomic<int>& stop);

    const dsl::Script& script() const { return script_; }
    // After the reports are written: keeps the metrics endpoint serving the final counts for
    // RunOptions::metrics_grace_ms (unless `stop` reaches 2), then closes it.
    void linger_metrics(const std::atomic<int>& stop);

private:
    struct MetricsEndpoint;
    struct FileCloser {
        void operator()(std::FILE* f) const { std::fclose(f); }
    };
    struct Streams {
        std::unique_ptr<std::FILE, FileCloser> csv, jsonl;  // every interval
        std::unique_ptr<workbook::Archive> tasks;           // every finished task
        std::unique_ptr<live::RemoteWriter> remote_write;   // the metrics, every interval (prometheus-rw)
        std::string remote_write_url;
    };
    Streams open_streams(const workbook::Names& names, unsigned shards) const;
    struct Clock {
        std::chrono::steady_clock::time_point t0;           // execute() began (the report's duration)
        std::chrono::steady_clock::time_point run_started;  // the live readers' origin
        int64_t run_started_unix_ms = 0;                    // the same instant on the wall clock
    };
    // --start-at: waits (connecting nothing) until the barrier's wall-clock time, or a stop request.
    void wait_for_start(std::atomic<int>& stop);

    void load_plugins(std::vector<Diagnostic>& diagnostics);
    void name_in_trace(CrashTrace::Shared& trace) const;
    std::vector<PluginViolation> plugin_violations() const;
    void check_open_files() const;
    // Tells the progress subscribers that the run entered `phase`.
    void emit_phase(RunPhase phase);
    // execute()'s steps, in order.
    std::shared_ptr<MetricsEndpoint> open_metrics_endpoint() const;
    std::unique_ptr<resource::ResourceMonitor> open_resources(std::chrono::steady_clock::time_point t0,
                                                              const std::filesystem::path& trail);
    std::unique_ptr<progress::Bus> open_bus(const workbook::Names& names, unsigned shards) const;
    Report run(unsigned threads, std::atomic<int>& stop, resource::ResourceMonitor& resources, MetricsEndpoint& metrics,
               Clock& clock);
    void close(scheduler::Scheduler& sched, resource::ResourceMonitor& resources, progress::Bus& bus,
               workbook::Archive& archive, const workbook::Names& names);
    Report final_report(scheduler::Scheduler& sched, live::RunMonitor& monitor, const progress::Bus& bus,
                        workbook::Archive& archive, double duration_s, bool interrupted);
    std::unique_ptr<workbook::Archive> make_archive(const workbook::Names& names, unsigned shards) const;
    WorkbookSummary close_workbook(scheduler::Scheduler& sched, workbook::Archive& archive) const;
    static ProgressEvent phase_event(const workbook::Names& names, RunPhase phase, uint64_t t_ms);

    RunOptions options_;
    std::string run_id_;                         // options_.run_id, or made when the run starts
    std::shared_ptr<MetricsEndpoint> metrics_;   // --metrics-listen: open from execute() until linger_metrics()
    ProtocolRegistry protocols_;
    std::chrono::steady_clock::time_point created_ = std::chrono::steady_clock::now();
    std::shared_ptr<spdlog::logger> log_;
    dsl::Script script_;
    std::string script_hash_;  // report.json `script_hash` (core/script_hash.hpp)
    std::vector<std::unique_ptr<resource::PairPool>> pools_;
    std::vector<uint64_t> leaked_;  // per pool: leases still held when the run ended
    std::unique_ptr<frame::ProtocolFrame> frame_;
    // The records of which plugin call each thread is in: in the supervisor's shared pages
    // (RunOptions::crash_trace) or here. Read by the loop watchdog.
    std::unique_ptr<net::CallRecord[]> own_calls_;
    net::CallRecord* calls_ = nullptr;
};

}  // namespace ntx::core
