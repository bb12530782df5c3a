#include "result.hpp"

#include <charconv>

namespace ntx::http {

void ResultFields::add_or_join(std::string key, std::string_view value) {
    for (auto &[k, v] : kv_) {
        if (k == key) {
            v.append(", ").append(value);
            return;
        }
    }
    kv_.emplace_back(std::move(key), std::string(value));
}

void ResultFields::add_ms(std::string key, double ms) {
    char buf[64];
    if (!(ms >= 0.0)) ms = 0.0;
    const auto r = std::to_chars(buf, buf + sizeof buf, ms, std::chars_format::fixed, 3);
    add(std::move(key), std::string(buf, r.ec == std::errc{} ? r.ptr : buf));
}

const ntx_result_t *ResultFields::finish(std::uint64_t bytes_sent, std::uint64_t bytes_received) {
    // Views are taken only now: the strings no longer move.
    views_.clear();
    views_.reserve(kv_.size());
    for (const auto &[k, v] : kv_) {
        views_.push_back(ntx_kv_t{ntx_str_t{k.data(), k.size()}, ntx_str_t{v.data(), v.size()}});
    }
    result_ = ntx_result_t{};
    result_.size = sizeof(ntx_result_t);
    result_.fields = views_.empty() ? nullptr : views_.data();
    result_.field_count = views_.size();
    result_.bytes_sent = bytes_sent;
    result_.bytes_received = bytes_received;
    return &result_;
}

}  // namespace ntx::http
