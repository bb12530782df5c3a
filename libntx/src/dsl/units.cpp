#include "dsl/units.hpp"

#include <charconv>
#include <cmath>
#include <string>

namespace ntx::dsl {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// Leading non-negative decimal number; the rest of the text goes to `rest`.
std::optional<double> leading_number(std::string_view s, std::string_view& rest) {
    size_t i = 0;
    while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
    if (i == 0) return std::nullopt;
    double value = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + i, value);
    if (ec != std::errc() || ptr != s.data() + i || !std::isfinite(value)) return std::nullopt;
    rest = trim(s.substr(i));
    return value;
}

}  // namespace

std::optional<uint64_t> parse_duration_ms(std::string_view text) {
    std::string_view unit;
    auto value = leading_number(trim(text), unit);
    if (!value) return std::nullopt;
    double factor;
    if (unit == "ms") factor = 1;
    else if (unit.empty() || unit == "s") factor = 1000;
    else if (unit == "m" || unit == "min") factor = 60'000;
    else if (unit == "h") factor = 3'600'000;
    else return std::nullopt;
    return static_cast<uint64_t>(std::llround(*value * factor));
}

std::optional<double> parse_rate_per_s(std::string_view text) {
    std::string_view rest;
    auto value = leading_number(trim(text), rest);
    if (!value) return std::nullopt;
    auto slash = rest.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    std::string_view what = trim(rest.substr(0, slash));  // "", "req", "users" ...
    (void)what;
    std::string_view per = trim(rest.substr(slash + 1));
    if (per == "s" || per == "sec") return *value;
    if (per == "m" || per == "min") return *value / 60.0;
    if (per == "h") return *value / 3600.0;
    if (per == "ms") return *value * 1000.0;
    return std::nullopt;
}

std::optional<ByteRate> parse_byte_rate(std::string_view text, uint64_t tick_ms) {
    std::string_view rest;
    auto value = leading_number(trim(text), rest);
    if (!value) return std::nullopt;
    auto slash = rest.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    std::string_view unit = trim(rest.substr(0, slash));
    std::string_view per = trim(rest.substr(slash + 1));
    double factor;
    if (unit.empty() || unit == "B") factor = 1;
    else if (unit == "KB" || unit == "kB") factor = 1e3;
    else if (unit == "KiB") factor = 1024;
    else if (unit == "MB") factor = 1e6;
    else if (unit == "MiB") factor = 1024.0 * 1024;
    else if (unit == "GB") factor = 1e9;
    else if (unit == "GiB") factor = 1024.0 * 1024 * 1024;
    else return std::nullopt;
    ByteRate r;
    r.bytes = *value * factor;
    if (per == "s" || per == "sec") r.per_ms = 1000;
    else if (per == "ms") r.per_ms = 1;
    else if (per == "m" || per == "min") r.per_ms = 60'000;
    else if (per == "tick") r.per_ms = tick_ms;
    else return std::nullopt;
    return r;
}

}  // namespace ntx::dsl

