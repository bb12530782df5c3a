// `ntx run` as a thin supervisor: the run goes on in a forked child; if the child dies by a signal
// (a plugin's SIGSEGV, abort, an exception through the C ABI), the supervisor writes report.json from
// the child's last live snapshot, names the plugin and the call, and exits 3 (docs/plugins.md).
#pragma once

#include <functional>
#include <string>

#include <ntx/crash_trace.hpp>

namespace ntx::cli {

// Runs `run` (the child's whole `ntx run`, given the trace to hand to RunOptions) in a child
// process and returns its exit code, or 3 after a crash. SIGINT and SIGTERM reach the supervisor and
// are forwarded to the child once each. Without fork (or with NTX_SUPERVISE=0 in the environment,
// e.g. under a debugger) `run` runs in this process with no trace.
int supervise(const std::string& out_dir, const std::function<int(ntx::CrashTrace*)>& run);

}  // namespace ntx::cli
