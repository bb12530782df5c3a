// Numbers as result-field text, without allocating: the view lives as long as the NumberText (a
// temporary one lasts to the end of the full expression: add(key, NumberText().uint(n))).
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <system_error>

namespace ntx::sdk {

class NumberText {
public:
    std::string_view uint(std::uint64_t value) noexcept {
        const auto r = std::to_chars(buf_, buf_ + sizeof buf_, value);
        return std::string_view(buf_, static_cast<std::size_t>(r.ptr - buf_));
    }

    // Milliseconds with three decimals ("12.345"); a negative or NaN time is "0.000".
    std::string_view ms(double ms) noexcept {
        if (!(ms >= 0.0)) ms = 0.0;
        const auto r = std::to_chars(buf_, buf_ + sizeof buf_, ms, std::chars_format::fixed, 3);
        return r.ec == std::errc{} ? std::string_view(buf_, static_cast<std::size_t>(r.ptr - buf_)) : std::string_view();
    }

private:
    char buf_[64];
};

}  // namespace ntx::sdk
