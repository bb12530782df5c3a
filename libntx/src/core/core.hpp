// Core: takes a res_dir through the five phases. initiating + planning (plan): read and validate the
// script, manifests and config, load and check the plugins. executing + monitoring + closing
// (execute): init the plugins, run the scheduler, release everything, build the report.
#pragma once

#include <atomic>
#include <filesystem>
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

namespace ntx::core {

class Core {
public:
    explicit Core(RunOptions options);
    ~Core();

    // Throws InvalidInput with every problem found.
    void plan(const std::filesystem::path& res_dir);
    // Throws RuntimeFailure when a plugin fails to initialise.
    // `stop` is the run's stop request: an abort-on-fail threshold sets it too.
    Report execute(std::atomic<int>& stop);

    const dsl::Script& script() const { return script_; }

private:
    void load_plugins(std::vector<Diagnostic>& diagnostics);
    Report build_report(scheduler::Scheduler& sched, double duration_s, bool interrupted) const;
    WorkbookSummary close_workbook(scheduler::Scheduler& sched) const;

    RunOptions options_;
    std::shared_ptr<spdlog::logger> log_;
    dsl::Script script_;
    std::vector<std::unique_ptr<resource::PairPool>> pools_;
    std::unique_ptr<frame::ProtocolFrame> frame_;
};

}  // namespace ntx::core
