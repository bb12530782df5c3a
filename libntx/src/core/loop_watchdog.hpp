// The loop watchdog: a thread that looks at each loop's call record (net/call_trace.hpp) every quarter
// of its limit and reports a plugin call that kept its loop busy longer than the limit (every user on
// that loop stalled meanwhile): counted as a blocked_loop violation of the plugin, the first logged
// with the plugin, the call and the action. The loops pay nothing for it beyond their call records.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "frame/protocol_frame.hpp"
#include "net/call_trace.hpp"

namespace ntx::core {

class LoopWatchdog {
public:
    LoopWatchdog(frame::ProtocolFrame& frame, const net::CallRecord* records, unsigned loops,
                 std::chrono::milliseconds limit);
    ~LoopWatchdog();
    LoopWatchdog(const LoopWatchdog&) = delete;
    LoopWatchdog& operator=(const LoopWatchdog&) = delete;

private:
    void run();

    frame::ProtocolFrame& frame_;
    const net::CallRecord* records_;
    unsigned loops_;
    std::chrono::milliseconds limit_;
    std::mutex mutex_;
    std::condition_variable cv_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace ntx::core
