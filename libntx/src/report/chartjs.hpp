// Chart.js, inlined into report.html (libjs-chart.js, copied into the library at build time).
#pragma once

#include <string_view>

namespace ntx::report {

std::string_view chartjs();

}  // namespace ntx::report
