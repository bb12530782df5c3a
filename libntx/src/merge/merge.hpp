// `ntx merge`: the reports of the N segments of one test (ntx run --segment I/N) as one report, as if
// one instance had run the whole test: counts add, latency histograms merge (percentiles of the
// union), timelines and intervals align on wall time, thresholds are evaluated again on the result.
#pragma once

#include <string>
#include <vector>

#include "ntx/diagnostics.hpp"
#include "ntx/report.hpp"

namespace ntx::merge {

struct Input {
    std::string name;  // where it was read (for messages)
    Report report;
};

// Every reason the inputs are not the segments of one test goes to `problems`, naming what differs
// (script hash, plugin versions, a segment missing or doubled); the result is usable only when none
// was added.
Report merge(const std::vector<Input>& inputs, std::vector<Diagnostic>& problems);

}  // namespace ntx::merge
