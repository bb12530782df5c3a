// Moved to report/report_builder.hpp (the one conversion from counters to the Report); this name
// stays for the code that includes it.
#pragma once

#include "report/report_builder.hpp"
#include "scheduler/stats.hpp"

namespace ntx::scheduler {
using report::action_report;
}  // namespace ntx::scheduler
