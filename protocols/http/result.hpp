// Owned storage for the fields of an ntx_result_t, built before action_complete / action_fail.
#pragma once

#include <ntx/plugin_abi.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ntx::http {

class ResultFields {
public:
    void reserve(std::size_t n) { kv_.reserve(n); }
    void add(std::string key, std::string value) { kv_.emplace_back(std::move(key), std::move(value)); }
    // Adds the field, or appends ", value" to an existing field of that key (repeated headers).
    void add_or_join(std::string key, std::string_view value);
    // Adds "<key>" = milliseconds with three decimals.
    void add_ms(std::string key, double ms);

    // The result as the ABI wants it. Valid until this object is modified or destroyed.
    const ntx_result_t *finish(std::uint64_t bytes_sent, std::uint64_t bytes_received);

private:
    std::vector<std::pair<std::string, std::string>> kv_;
    std::vector<ntx_kv_t> views_;
    ntx_result_t result_{};
};

}  // namespace ntx::http
