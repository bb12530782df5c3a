// The run's clock: std::chrono::steady_clock, unless a test switched it to manual time (which then
// only moves when the test advances it). The scheduler, the frame and their timers read it, so a unit
// test can drive a whole run on its own thread (Scheduler::begin_manual, then the loops' poll()
// between advances) without the wall clock. Production never switches: now() costs one relaxed load
// more than steady_clock::now().
#pragma once

#include <atomic>
#include <boost/asio/basic_waitable_timer.hpp>
#include <chrono>

namespace ntx::net {

struct RunClock {
    using duration = std::chrono::steady_clock::duration;
    using rep = duration::rep;
    using period = duration::period;
    using time_point = std::chrono::steady_clock::time_point;  // the same epoch: plain steady time points
    static constexpr bool is_steady = true;

    static time_point now() noexcept {
        const rep manual = manual_.load(std::memory_order_relaxed);
        return manual ? time_point(duration(manual)) : std::chrono::steady_clock::now();
    }

    // Tests only, with no loop running on another thread: manual time from `at` on (it then moves only
    // by advance), and back to the steady clock.
    static void set_manual(time_point at) noexcept { manual_.store(at.time_since_epoch().count() | 1, std::memory_order_relaxed); }
    static void advance(duration d) noexcept { manual_.fetch_add(d.count(), std::memory_order_relaxed); }
    static void use_steady() noexcept { manual_.store(0, std::memory_order_relaxed); }
    static bool manual() noexcept { return manual_.load(std::memory_order_relaxed) != 0; }

private:
    static inline std::atomic<rep> manual_{0};  // 0: the steady clock
};

// A timer on the run's clock.
using RunTimer = boost::asio::basic_waitable_timer<RunClock>;

}  // namespace ntx::net
