// The counters types moved to metrics/stats.hpp (shared by the scheduler and the report); this
// header keeps their scheduler names for the code that includes it.
#pragma once

#include <cstdint>

#include "frame/action_sink.hpp"
#include "metrics/stats.hpp"

namespace ntx::scheduler {

using Outcome = frame::Outcome;  // frame/action_sink.hpp: ok, error, timeout, cancelled

using metrics::ActionStats;
using metrics::ErrorKind;
using metrics::kTimelineBucketMs;
using metrics::ScenarioStats;
using metrics::Timeline;

}  // namespace ntx::scheduler
