#include "ntx/crash_trace.hpp"

#include <csignal>
#include <cstring>
#include <new>
#include <sys/mman.h>
#include <system_error>
#include <unistd.h>

#include "core/crash_trace_layout.hpp"

NTX_BEGIN_NAMESPACE

namespace {

std::atomic<CrashTrace::Shared*> g_trace{nullptr};

extern "C" void note_crash(int sig) {
    // Async-signal-safe: two stores and a raise. SA_RESETHAND restored the default action, so the
    // signal raised here (delivered when the handler returns) or the faulting instruction run again
    // ends the process as it would have without the handler.
    if (CrashTrace::Shared* s = g_trace.load(std::memory_order_relaxed)) {
        s->crashed_tid.store(static_cast<int32_t>(::gettid()), std::memory_order_relaxed);
        s->crashed_signal.store(sig, std::memory_order_relaxed);
    }
    ::raise(sig);
}

std::string name_at(const char* p, size_t cap) { return std::string(p, ::strnlen(p, cap)); }

}  // namespace

CrashTrace::CrashTrace() {
    void* p = ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "crash trace: mmap");
    shared_ = new (p) Shared;  // zero pages: the constructor writes only the first few
}

CrashTrace::~CrashTrace() {
    if (g_trace.load() == shared_) g_trace.store(nullptr);
    ::munmap(shared_, sizeof(Shared));
}

void CrashTrace::install_crash_handlers() {
    g_trace.store(shared_);
    struct sigaction sa {};
    sa.sa_handler = note_crash;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    for (int sig : {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL}) ::sigaction(sig, &sa, nullptr);
}

CrashTrace::Site CrashTrace::site() const {
    Site site;
    const Shared& s = *shared_;
    site.signal = s.crashed_signal.load();
    const int32_t tid = s.crashed_tid.load();
    const net::CallRecord* r = nullptr;
    for (uint32_t i = 0; i <= Shared::kLoops && tid; ++i)
        if (s.calls[i].tid.load() == tid) r = &s.calls[i];
    // No handler ran (SIGKILL) or the thread is not one of the run's: a loop in a plugin call is the best guess.
    if (!r)
        for (uint32_t i = 0; i <= Shared::kLoops && !r; ++i)
            if (s.calls[i].active.load() && !tid) r = &s.calls[i];
    if (!r || !r->active.load()) return site;
    site.in_plugin = true;
    const uint32_t c = r->component.load();
    if (c < s.component_count && c < Shared::kNames) {
        site.component = name_at(s.components[c], Shared::kNameLen);
        site.plugin = name_at(s.plugins[c], Shared::kNameLen);
    }
    site.call = net::plugin_call_name(r->call.load());
    const uint32_t a = r->action.load();
    if (a < s.action_count && a < Shared::kActions) site.action = name_at(s.actions[a], Shared::kNameLen);
    return site;
}

std::string CrashTrace::last_report() const {
    const uint32_t seq = shared_->report_seq.load(std::memory_order_acquire);
    if (!seq) return {};
    const uint32_t b = seq & 1u;
    return std::string(shared_->report[b], shared_->report_len[b]);
}

void CrashTrace::publish_report(std::string_view json) {
    if (json.size() > Shared::kReportCap) return;  // too big to keep: the previous snapshot stays
    const uint32_t next = shared_->report_seq.load(std::memory_order_relaxed) + 1;
    const uint32_t b = next & 1u;
    std::memcpy(shared_->report[b], json.data(), json.size());
    shared_->report_len[b] = static_cast<uint32_t>(json.size());
    shared_->report_seq.store(next, std::memory_order_release);
}

NTX_END_NAMESPACE
