#include "result.hpp"

#include <ntx/sdk/number_text.hpp>

namespace ntx::http {

// Slots come back cleared, so append() fills them: cheaper than assign() and, within the capacity a
// slot already has, allocation-free.
ResultFields::Field &ResultFields::next() {
    if (used_ == fields_.size()) fields_.emplace_back();
    Field &f = fields_[used_++];
    f.key.clear();
    f.value.clear();
    f.borrowed = {};
    f.is_borrowed = false;
    return f;
}

void ResultFields::add(std::string_view key, std::string_view value) {
    Field &f = next();
    f.key.append(key);
    f.value.append(value);
}

void ResultFields::add_borrowed(std::string_view key, std::string_view value) {
    Field &f = next();
    f.key.append(key);
    f.borrowed = value;
    f.is_borrowed = true;
}

void ResultFields::add_prefixed(std::string_view prefix, std::string_view name, std::string_view value) {
    Field &f = next();
    f.key.append(prefix).append(name);
    f.value.append(value);
}

void ResultFields::add_uint(std::string_view key, std::uint64_t value) { add(key, sdk::NumberText().uint(value)); }

void ResultFields::add_ms(std::string_view key, double ms) { add(key, sdk::NumberText().ms(ms)); }

void ResultFields::add_header(std::string_view name, std::string_view value) {
    static constexpr std::string_view kPrefix = "headers.";
    Field &f = next();
    f.key.append(kPrefix).append(name);
    for (char *c = f.key.data() + kPrefix.size(), *end = f.key.data() + f.key.size(); c != end; ++c) {
        if (*c >= 'A' && *c <= 'Z') *c = static_cast<char>(*c - 'A' + 'a');
    }
    // A repeated header joins the earlier field (RFC 9110 5.3); the new slot is given back.
    for (std::size_t i = 0; i + 1 < used_; ++i) {
        Field &earlier = fields_[i];
        if (!earlier.is_borrowed && earlier.key == f.key) {
            earlier.value.append(", ").append(value);
            --used_;
            return;
        }
    }
    f.value.append(value);
}

const ntx_result_t *ResultFields::finish(std::uint64_t bytes_sent, std::uint64_t bytes_received,
                                         std::uint32_t status, std::string_view protocol) {
    // Views are taken only now: the strings no longer move.
    views_.clear();
    for (std::size_t i = 0; i < used_; ++i) {
        const Field &f = fields_[i];
        const std::string_view v = f.is_borrowed ? f.borrowed : std::string_view(f.value);
        views_.push_back(ntx_kv_t{ntx_str_t{f.key.data(), f.key.size()}, ntx_str_t{v.data(), v.size()}});
    }
    result_ = counts_only(bytes_sent, bytes_received, status, protocol);
    result_.fields = views_.empty() ? nullptr : views_.data();
    result_.field_count = views_.size();
    return &result_;
}

}  // namespace ntx::http
