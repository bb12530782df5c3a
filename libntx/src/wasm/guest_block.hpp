// A block of wasm32 structs and strings built on the host, then placed in a guest's memory with one
// ntx_alloc: pointer fields are written as offsets in the block and relocated to the block's address.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>
#include <vector>

#include "wasm/wasm_module.hpp"

namespace ntx::wasm {

class Block {
public:
    // An action's ctx with a few params fits without growing (one allocation each).
    Block() {
        bytes_.reserve(512);
        relocs_.reserve(16);
    }

    // Empty again, keeping the capacity (a Block reused call after call allocates once).
    void clear() {
        bytes_.clear();
        relocs_.clear();
    }

    // Room for `size` zeroed bytes aligned to `align`; returns its offset in the block.
    uint32_t reserve(size_t size, size_t align = 8) {
        size_t at = (bytes_.size() + align - 1) / align * align;
        bytes_.resize(at + size, 0);
        return static_cast<uint32_t>(at);
    }
    template <typename T>
    void set(uint32_t at, T value) {
        std::memcpy(bytes_.data() + at, &value, sizeof(T));
    }
    // A pointer field at `at` pointing at `target`, an offset in this block.
    void set_ptr(uint32_t at, uint32_t target) {
        set<uint32_t>(at, target);
        relocs_.push_back(at);
    }
    // An ntx_str_t (ptr, len) at `at`, its bytes copied into the block (NUL-terminated, not counted).
    void set_str(uint32_t at, std::string_view s) {
        uint32_t data = reserve(s.size() + 1, 1);
        if (!s.empty()) std::memcpy(bytes_.data() + data, s.data(), s.size());
        set_ptr(at, data);
        set<uint32_t>(at + 4, static_cast<uint32_t>(s.size()));
    }
    // Places the block in the guest (Guest::borrow; the caller gives it back) and copies it there; 0
    // with `trap` set on failure.
    uint32_t place(Guest& guest, Guest::Call& trap) {
        uint32_t base = guest.borrow(static_cast<uint32_t>(bytes_.size()), trap);
        if (!base) return 0;
        for (uint32_t at : relocs_) {
            uint32_t off;
            std::memcpy(&off, bytes_.data() + at, 4);
            off += base;
            std::memcpy(bytes_.data() + at, &off, 4);
        }
        std::memcpy(guest.span(base, bytes_.size()), bytes_.data(), bytes_.size());
        return base;
    }

private:
    std::vector<uint8_t> bytes_;
    std::vector<uint32_t> relocs_;
};

// The Block of one call into a guest: the owner's reusable one, cleared, when it is free; a fresh one
// when it is in use (the host calls a plugin hook from inside a host function of the same instance).
class BlockLease {
public:
    BlockLease(Block& shared, bool& busy) : busy_(busy ? nullptr : &busy) {
        if (busy_) {
            *busy_ = true;
            shared.clear();
            block_ = &shared;
        } else {
            block_ = &own_.emplace();
        }
    }
    ~BlockLease() {
        if (busy_) *busy_ = false;
    }
    BlockLease(const BlockLease&) = delete;
    BlockLease& operator=(const BlockLease&) = delete;
    Block& operator*() { return *block_; }
    Block* operator->() { return block_; }

private:
    bool* busy_;
    std::optional<Block> own_;
    Block* block_ = nullptr;
};

}  // namespace ntx::wasm
