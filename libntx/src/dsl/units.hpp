// Durations ("500ms", "5s", "2m", "1h") and rates ("200/s", "50 req/s", "10/m") of the DSL.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace ntx::dsl {

// Milliseconds, or nullopt when the text is not a duration. A bare number is seconds.
std::optional<uint64_t> parse_duration_ms(std::string_view text);

// Events per second, or nullopt when the text is not a rate.
std::optional<double> parse_rate_per_s(std::string_view text);

// A byte rate: "512KiB/s", "1MB/s", "64KiB/tick", "100/ms" (a bare number is bytes; KB = 1000,
// KiB = 1024; per s, ms, m or tick). Returns bytes and the window in milliseconds (`tick_ms` for /tick).
struct ByteRate {
    double bytes = 0;
    uint64_t per_ms = 1000;
};
std::optional<ByteRate> parse_byte_rate(std::string_view text, uint64_t tick_ms);

}  // namespace ntx::dsl
