// report.html: one self-contained page (inline CSS, JS and SVG; no network) with the run's charts over
// time (throughput, latency percentiles, online users, errors) and the summary tables.
#pragma once

#include <filesystem>
#include <string>

#include "ntx/report.hpp"

namespace ntx::report {

std::string to_html(const Report& report);
void write_html(const Report& report, const std::filesystem::path& file);

}  // namespace ntx::report
