// Surviving a plugin that crashes the process (docs/plugins.md, "When a plugin crashes").
//
// `ntx run` is a thin supervisor: it maps a CrashTrace (shared memory) and forks the real run, which
// gets the trace through RunOptions::crash_trace. The run notes in it which plugin call every thread
// is in (a few stores per call) and, every second, its report as it stands. When the run dies by a
// signal, the supervisor reads both: report.json from the last snapshot, with what crashed where.
// Embedders that run in-process need none of this and pay nothing for it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ntx/export.hpp"

NTX_BEGIN_NAMESPACE

class NTX_API CrashTrace {
public:
    struct Shared;  // the layout of the shared pages (libntx's own)

    // Maps the shared pages (MAP_SHARED | MAP_ANONYMOUS; memory is used only as it is written).
    // Call it before fork(): parent and child then see the same pages. Throws std::system_error.
    CrashTrace();
    ~CrashTrace();
    CrashTrace(const CrashTrace&) = delete;
    CrashTrace& operator=(const CrashTrace&) = delete;

    // In the run's process: SIGSEGV, SIGBUS, SIGABRT, SIGFPE and SIGILL note the crashing thread in
    // the trace, then kill the process as they would have (the handler only stores two numbers).
    void install_crash_handlers();

    // What the supervisor reads once the run died.
    struct Site {
        int signal = 0;          // the signal the handler saw (0: none ran, e.g. SIGKILL)
        bool in_plugin = false;  // the crashing thread was inside a plugin call
        std::string component;   // the script's component name
        std::string plugin;      // the plugin's own name
        std::string call;        // run_action, on_error, socket callback...
        std::string action;      // the script action, when the call had one
    };
    Site site() const;
    // The last report snapshot (report.json text), empty when none was published yet.
    std::string last_report() const;

    // The run's side (libntx).
    Shared* shared() const { return shared_; }
    void publish_report(std::string_view json);

private:
    Shared* shared_ = nullptr;
};

NTX_END_NAMESPACE
