// --start-at: the start barrier of a distributed run, parsed (ntx/distributed.hpp).
#include <cctype>
#include <charconv>
#include <cmath>
#include <ctime>
#include <fmt/format.h>

#include "ntx/distributed.hpp"

NTX_BEGIN_NAMESPACE

namespace {

// Exactly `n` digits at text[pos], as a number.
bool digits(std::string_view text, size_t pos, size_t n, int& out) {
    if (pos + n > text.size()) return false;
    out = 0;
    for (size_t i = pos; i < pos + n; ++i) {
        if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
        out = out * 10 + (text[i] - '0');
    }
    return true;
}

// RFC 3339: YYYY-MM-DD('T'|'t'|' ')hh:mm:ss[.fraction](Z|z|+hh:mm|-hh:mm).
bool parse_rfc3339(std::string_view t, int64_t& unix_ms) {
    int year, mon, day, hour, min, sec;
    if (!digits(t, 0, 4, year) || t.size() < 20 || t[4] != '-' || !digits(t, 5, 2, mon) || t[7] != '-' ||
        !digits(t, 8, 2, day) || (t[10] != 'T' && t[10] != 't' && t[10] != ' ') || !digits(t, 11, 2, hour) ||
        t[13] != ':' || !digits(t, 14, 2, min) || t[16] != ':' || !digits(t, 17, 2, sec))
        return false;
    if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) return false;
    size_t pos = 19;
    double fraction = 0;
    if (pos < t.size() && t[pos] == '.') {
        size_t start = ++pos;
        double scale = 0.1;
        while (pos < t.size() && std::isdigit(static_cast<unsigned char>(t[pos]))) {
            fraction += (t[pos] - '0') * scale;
            scale /= 10;
            ++pos;
        }
        if (pos == start) return false;
    }
    int offset_min = 0;
    if (pos < t.size() && (t[pos] == 'Z' || t[pos] == 'z')) {
        ++pos;
    } else if (pos < t.size() && (t[pos] == '+' || t[pos] == '-')) {
        int oh, om;
        if (!digits(t, pos + 1, 2, oh) || pos + 3 >= t.size() || t[pos + 3] != ':' || !digits(t, pos + 4, 2, om) || oh > 23 ||
            om > 59)
            return false;
        offset_min = (t[pos] == '+' ? 1 : -1) * (oh * 60 + om);
        pos += 6;
    } else {
        return false;  // RFC 3339 always names its offset
    }
    if (pos != t.size()) return false;
    std::tm tm{};
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;
    const time_t secs = timegm(&tm);
    if (tm.tm_mday != day) return false;  // 2026-02-30 normalised into March: not a date
    unix_ms = (static_cast<int64_t>(secs) - offset_min * 60LL) * 1000 + static_cast<int64_t>(std::llround(fraction * 1000));
    return true;
}

bool parse_unix_seconds(std::string_view t, int64_t& unix_ms) {
    if (t.empty() || t.size() > 20) return false;
    for (char c : t)
        if (!std::isdigit(static_cast<unsigned char>(c)) && c != '.') return false;
    double v = 0;
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec != std::errc() || end != t.data() + t.size() || !std::isfinite(v)) return false;
    unix_ms = static_cast<int64_t>(std::llround(v * 1000.0));
    return true;
}

}  // namespace

std::string format_unix_ms(int64_t unix_ms) {
    const time_t secs = static_cast<time_t>(unix_ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    return fmt::format("{}.{:03}Z", buf, unix_ms % 1000);
}

bool parse_start_at(std::string_view text, int64_t now_unix_ms, int64_t& unix_ms, std::string& error) {
    int64_t at = 0;
    if (!parse_rfc3339(text, at) && !parse_unix_seconds(text, at)) {
        error = fmt::format("--start-at '{}': expected an RFC 3339 time (2026-12-07T19:00:00Z, with its offset) or Unix "
                            "seconds (1796670000)",
                            text);
        return false;
    }
    if (at - now_unix_ms > kMaxStartDelayMs) {
        error = fmt::format("--start-at '{}' ({}) is {:.1f} hours from now; a start barrier is at most {} hours ahead", text,
                            format_unix_ms(at), static_cast<double>(at - now_unix_ms) / 3.6e6, kMaxStartDelayMs / 3'600'000);
        return false;
    }
    unix_ms = at;
    return true;
}

NTX_END_NAMESPACE
