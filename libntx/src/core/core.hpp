// Core: takes a res_dir through the five phases. initiating + planning (plan): read and validate the
// script, manifests and config, load and check the plugins. executing + monitoring + closing
// (execute): init the plugins, run the scheduler, release everything, build the report.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <spdlog/logger.h>
#include <vector>

#include "dsl/script.hpp"
#include "frame/protocol_frame.hpp"
#include "ntx/host.hpp"
#include "ntx/report.hpp"
#include "resource/pair_pool.hpp"

namespace ntx::scheduler {
class Scheduler;
}

namespace ntx::workbook {
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

private:
    void load_plugins(std::vector<Diagnostic>& diagnostics);
    // Tells the progress subscribers that the run entered `phase`.
    void emit_phase(RunPhase phase);
    Report build_report(scheduler::Scheduler& sched, double duration_s, bool interrupted) const;
    std::unique_ptr<workbook::Archive> make_archive(scheduler::Scheduler& sched) const;
    WorkbookSummary close_workbook(scheduler::Scheduler& sched, workbook::Archive& archive) const;

    RunOptions options_;
    ProtocolRegistry protocols_;
    std::chrono::steady_clock::time_point created_ = std::chrono::steady_clock::now();
    std::shared_ptr<spdlog::logger> log_;
    dsl::Script script_;
    std::vector<std::unique_ptr<resource::PairPool>> pools_;
    std::vector<uint64_t> leaked_;  // per pool: leases still held when the run ended
    std::unique_ptr<frame::ProtocolFrame> frame_;
};

}  // namespace ntx::core
