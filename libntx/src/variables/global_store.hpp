// Run-wide save-as variables (scope: global): every user on every loop reads the latest value any
// user saved. A save publishes a new immutable value; readers take a reference to the one they read,
// so a value never changes or goes away under a render in progress.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "dsl/template.hpp"

namespace ntx::variables {

class GlobalStore {
public:
    explicit GlobalStore(size_t slots) : slots_(std::make_unique<Slot[]>(slots)), size_(slots) {}

    // The latest value saved in `slot` by any user, or null when none was saved yet.
    std::shared_ptr<const dsl::Fields> load(uint32_t slot) const {
        return slot < size_ ? slots_[slot].load(std::memory_order_acquire) : nullptr;
    }
    // Publishes `value` (last writer wins). Called once per save, by the saving user's loop.
    void store(uint32_t slot, dsl::Fields value) {
        if (slot < size_) slots_[slot].store(std::make_shared<const dsl::Fields>(std::move(value)), std::memory_order_release);
    }

private:
    using Slot = std::atomic<std::shared_ptr<const dsl::Fields>>;
    std::unique_ptr<Slot[]> slots_;
    size_t size_;
};

}  // namespace ntx::variables
