// Breaches of the plugin contract the host caught (docs/plugins.md, "The enforced contract"): counted
// per component and kind from any thread (rare: a relaxed atomic each), the first of each logged.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace ntx::frame {

enum class Violation : uint8_t {
    off_loop,           // a loop-bound host function called from another thread (or with no loop running)
    stale_handle,       // an action handle of an earlier action, or no action handle at all
    double_completion,  // the plugin ended the same action twice
    after_cancel,       // the plugin ended an action the host had ended first (timeout, stop)
    bad_result,         // out-of-range result fields (NULL arrays with counts, absurd counts)
    bad_code,           // action_fail with a code that is not a negative status
    blocked_loop,       // one plugin call kept its loop busy past the watchdog's limit
};
constexpr size_t kViolationKinds = 7;

inline const char* violation_name(Violation v) {
    switch (v) {
    case Violation::off_loop: return "off_loop";
    case Violation::stale_handle: return "stale_handle";
    case Violation::double_completion: return "double_completion";
    case Violation::after_cancel: return "after_cancel";
    case Violation::bad_result: return "bad_result";
    case Violation::bad_code: return "bad_code";
    case Violation::blocked_loop: return "blocked_loop";
    }
    return "?";
}

class Violations {
public:
    explicit Violations(size_t components)
        : n_(components), counts_(std::make_unique<std::atomic<uint64_t>[]>(components * kViolationKinds)) {}
    // Counts one; true for the first of its component and kind (the caller logs that one).
    bool count(uint32_t component, Violation v) {
        if (component >= n_) return false;
        return counts_[component * kViolationKinds + static_cast<size_t>(v)].fetch_add(1, std::memory_order_relaxed) == 0;
    }
    uint64_t get(uint32_t component, Violation v) const {
        return component < n_ ? counts_[component * kViolationKinds + static_cast<size_t>(v)].load(std::memory_order_relaxed)
                              : 0;
    }
    size_t components() const { return n_; }

private:
    size_t n_;
    std::unique_ptr<std::atomic<uint64_t>[]> counts_;
};

}  // namespace ntx::frame
