// The scheduler's per-action counters as the public report's rows (report.json, the summary, the
// live report and the C++ API all read the same conversion).
#pragma once

#include <cstdint>

#include "dsl/script.hpp"
#include "ntx/report.hpp"
#include "scheduler/stats.hpp"

namespace ntx::scheduler {

// The row of action `a` of `script` for the counters `st` (one scenario's, or summed over scenarios).
ActionReport action_report(const dsl::Script& script, uint32_t a, const ActionStats& st);

}  // namespace ntx::scheduler
