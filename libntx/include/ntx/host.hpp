// ntx::Host: the entry point. Hands a res_dir to Core, runs it to the end, returns the report.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ntx/diagnostics.hpp"
#include "ntx/export.hpp"
#include "ntx/progress.hpp"
#include "ntx/report.hpp"

namespace ntx {

struct RunOptions {
    std::string out_dir;                    // where report.json goes; empty = write nothing
    std::vector<std::string> plugin_paths;  // searched before NTX_PLUGIN_PATH and the shipped plugins
    unsigned threads = 0;                   // event loops; 0 = config.yaml's `threads`, else one per core
    bool quiet = false;                     // no end summary and no progress line on stdout
    // Prometheus metrics over HTTP during the run ("127.0.0.1:9464"; loopback only); empty = none.
    std::string metrics_listen;
    unsigned progress_ms = 1000;            // the progress line's period (0 = no progress line)
    // Subscribers of the run's progress bus (progress.hpp): called in batches on the monitor thread.
    std::vector<ProgressCallback> progress_subscribers;
    // Also write the progress bus's events (the workbook change stream) as JSON Lines into
    // out_dir/workbook-stream.jsonl (needs out_dir).
    bool workbook_stream = false;
};

class NTX_API Host {
public:
    Host();
    ~Host();
    Host(const Host&) = delete;
    Host& operator=(const Host&) = delete;

    // Validates res_dir (script.yaml, manifests, config.yaml) and the plugins it names, without running.
    // Throws InvalidInput listing every problem found.
    void validate(const std::string& res_dir, const RunOptions& options = {});

    // Runs res_dir to the end: initiating, planning, executing/monitoring, closing. Blocks.
    // Throws InvalidInput (bad script/manifest) or RuntimeFailure (plugin or runtime failure).
    Report start(const std::string& res_dir, const RunOptions& options = {});

    // Asks a running start() to enter closing early (thread-safe, async-signal-safe): no more users
    // start, users leave after their current action, and in-flight actions still running after
    // config.yaml's grace-period are cancelled. A second call cancels them at once. The report still
    // covers everything that ran.
    void stop() noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ntx
