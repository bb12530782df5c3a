// Moved to metrics/latency_histogram.hpp (the counters' module, shared by the scheduler and the
// report); this name stays for the code that includes it.
#pragma once

#include "metrics/latency_histogram.hpp"

namespace ntx::report {
using metrics::LatencyHistogram;
using metrics::summarize;
}  // namespace ntx::report
