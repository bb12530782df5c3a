#include "supervisor.hpp"

#include <boost/json.hpp>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <string_view>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace ntx::cli {
namespace {

constexpr int kExitInternal = 3;

const char* signal_name(int sig) {
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGABRT: return "SIGABRT";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGKILL: return "SIGKILL";
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    default: return "a signal";
    }
}

boost::json::value or_null(const std::string& s) { return s.empty() ? boost::json::value(nullptr) : boost::json::value(s); }

// report.json from the last snapshot (or, when the run died before its first one, just the crash),
// written through a temporary file and a rename so that a reader never sees half of it.
bool write_crash_report(const std::string& out_dir, const ntx::CrashTrace& trace, int sig,
                        const ntx::CrashTrace::Site& site, std::string& error) {
    boost::json::object report;
    const std::string snapshot = trace.last_report();
    if (!snapshot.empty()) {
        boost::system::error_code ec;
        auto v = boost::json::parse(snapshot, ec);
        if (!ec && v.is_object()) report = std::move(v.as_object());
    }
    report["interrupted"] = true;
    report["crashed"] = boost::json::object{{"signal", sig},
                                            {"signal_name", signal_name(sig)},
                                            {"in_plugin", site.in_plugin},
                                            {"plugin", or_null(site.plugin)},
                                            {"component", or_null(site.component)},
                                            {"call", or_null(site.call)},
                                            {"action", or_null(site.action)},
                                            {"from_snapshot", !snapshot.empty()}};
    const std::string text = boost::json::serialize(report) + "\n";
    const int dir = ::open(out_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) {
        error = std::string("cannot open ") + out_dir + ": " + std::strerror(errno);
        return false;
    }
    ::unlinkat(dir, "report.json.crash.tmp", 0);  // what a crash of the supervisor itself may have left
    const int fd = ::openat(dir, "report.json.crash.tmp", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    bool ok = fd >= 0;
    if (ok) {
        size_t done = 0;
        while (ok && done < text.size()) {
            ssize_t n = ::write(fd, text.data() + done, text.size() - done);
            if (n < 0 && errno == EINTR) continue;
            ok = n > 0;
            if (ok) done += static_cast<size_t>(n);
        }
        ok = ::fsync(fd) == 0 && ok;
        ok = ::close(fd) == 0 && ok;
        ok = ok && ::renameat(dir, "report.json.crash.tmp", dir, "report.json") == 0;
    }
    if (!ok) error = std::string("cannot write report.json: ") + std::strerror(errno);
    ::close(dir);
    return ok;
}

}  // namespace

int supervise(const std::string& out_dir, const std::function<int(ntx::CrashTrace*)>& run) {
    const char* env = std::getenv("NTX_SUPERVISE");
    if (env && std::string_view(env) == "0") return run(nullptr);
    std::unique_ptr<ntx::CrashTrace> trace;
    try {
        trace = std::make_unique<ntx::CrashTrace>();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ntx: warning: %s; running unsupervised (a crashing plugin loses the report)\n", e.what());
        return run(nullptr);
    }
    // The supervisor takes SIGINT, SIGTERM and SIGHUP (to forward) and SIGCHLD (the run ended) with
    // sigwaitinfo, not in a handler: nothing runs asynchronously, so an interrupted waitpid, a handler's
    // errno or a sanitizer's deferred delivery (TSan holds a signal that arrives in a restarted wait4
    // until the thread next leaves an interceptor, which a supervisor in waitpid never does) cannot
    // lose a forward. The signals are blocked before the fork so none slips between fork and wait; the
    // run gets the mask it had.
    sigset_t waited, before;
    sigemptyset(&waited);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGCHLD}) sigaddset(&waited, sig);
    std::signal(SIGCHLD, SIG_DFL);  // an inherited SIG_IGN would reap the run and send nothing
    ::sigprocmask(SIG_BLOCK, &waited, &before);
    std::fflush(nullptr);  // nothing buffered is written twice
    const pid_t supervisor = ::getpid();
    const pid_t child = ::fork();
    if (child < 0) {
        ::sigprocmask(SIG_SETMASK, &before, nullptr);
        std::fprintf(stderr, "ntx: warning: fork: %s; running unsupervised\n", std::strerror(errno));
        return run(nullptr);
    }
    if (child == 0) {
        // The run. Its own process group: a terminal's Ctrl-C reaches the supervisor only, which
        // forwards it once (a group-wide signal would otherwise arrive twice: a second SIGINT means
        // "stop at once"). If the supervisor dies, the run stops as if SIGTERM had been sent.
        ::setpgid(0, 0);
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        ::sigprocmask(SIG_SETMASK, &before, nullptr);
        if (::getppid() != supervisor) ::raise(SIGTERM);  // it died before prctl
        trace->install_crash_handlers();
        int rc = run(trace.get());
        std::fflush(nullptr);
        std::_Exit(rc);  // no atexit work of the supervisor's (the trace stays mapped for it)
    }
    int status = 0;
    for (;;) {
        const pid_t done = ::waitpid(child, &status, WNOHANG);
        if (done == child) break;
        if (done < 0 && errno != EINTR) {
            std::fprintf(stderr, "ntx: error: waitpid: %s\n", std::strerror(errno));
            return kExitInternal;
        }
        if (done < 0) continue;
        const int sig = ::sigwaitinfo(&waited, nullptr);
        if (sig == SIGINT || sig == SIGTERM) ::kill(child, sig);
        if (sig == SIGHUP) ::kill(child, SIGTERM);  // a closed terminal: the run stops as if asked to
        // SIGCHLD (or EINTR): look at the run again
    }
    // The signals stay blocked: one that comes after the run ended must not kill the supervisor
    // while it writes the report; the process exits with them pending.
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    const int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    const ntx::CrashTrace::Site site = trace->site();
    if (site.in_plugin) {
        std::fprintf(stderr, "ntx: error: the run crashed: plugin '%s' (component '%s') died with %s in %s%s%s%s\n",
                     site.plugin.c_str(), site.component.c_str(), signal_name(sig), site.call.c_str(),
                     site.action.empty() ? "" : " of action '", site.action.c_str(), site.action.empty() ? "" : "'");
    } else {
        std::fprintf(stderr, "ntx: error: the run died with %s outside any plugin call%s\n", signal_name(sig),
                     sig == SIGKILL ? " (killed from outside, e.g. by the OOM killer)" : " (a bug of ntx: please report it)");
    }
    if (!out_dir.empty()) {
        std::string error;
        if (write_crash_report(out_dir, *trace, sig, site, error))
            std::fprintf(stderr, "ntx: %s/report.json holds the results counted until the run's last snapshot "
                                 "(at most one second before the crash)\n", out_dir.c_str());
        else
            std::fprintf(stderr, "ntx: error: %s\n", error.c_str());
    }
    return kExitInternal;
}

}  // namespace ntx::cli
