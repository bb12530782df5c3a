// The pages a CrashTrace shares between `ntx run`'s supervisor and the run it forked.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "net/call_trace.hpp"
#include "ntx/crash_trace.hpp"

NTX_BEGIN_NAMESPACE

struct CrashTrace::Shared {
    static constexpr uint32_t kLoops = 256;  // calls[kLoops] is the main thread's
    static constexpr uint32_t kNames = 256, kActions = 4096, kNameLen = 64;
    static constexpr size_t kReportCap = size_t{16} << 20;

    std::atomic<int32_t> crashed_tid{0};
    std::atomic<int32_t> crashed_signal{0};
    net::CallRecord calls[kLoops + 1];
    // Names the supervisor prints, written once at planning (truncated to kNameLen - 1).
    uint32_t component_count = 0, action_count = 0;
    char components[kNames][kNameLen] = {};
    char plugins[kNames][kNameLen] = {};
    char actions[kActions][kNameLen] = {};
    // Two report buffers: the writer fills the one the reader is not pointed at, then flips.
    std::atomic<uint32_t> report_seq{0};
    uint32_t report_len[2] = {0, 0};
    char report[2][kReportCap];
};

NTX_END_NAMESPACE
