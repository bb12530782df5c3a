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

}  // namespace ntx::dsl
