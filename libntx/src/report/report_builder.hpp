// The one conversion from the run's counters to its Report: the live readers (progress line,
// abort-on-fail thresholds) build it from each live snapshot, and the final report is the same
// builder applied to the snapshot taken after the loops ended. So the two cannot disagree.
#pragma once

#include <memory>
#include <vector>

#include "dsl/script.hpp"
#include "metrics/snapshot.hpp"
#include "ntx/report.hpp"

namespace ntx::resource {
class PairPool;
}

namespace ntx::report {

// Per scenario: its counters and exits, its users (peak), its actions in the order its workflow runs
// them (each once; then those its handlers run, then those only dynamic tasks ran) and its latency;
// the run's totals, each action over every scenario, the run's latency. duration_s is the
// snapshot's elapsed_s (a scenario's own: until its last user left, once the snapshot is final).
// A final snapshot adds the timelines and the sockets' counts. Not here: intervals, resources,
// persist, workbook, thresholds, and the run's identity (version, res_dir, started_at).
Report build_report(const dsl::Script& script, const metrics::RunSnapshot& snapshot);

// The row of action `a` of `script` for the counters `st` (one scenario's, or summed over scenarios).
ActionReport action_report(const dsl::Script& script, uint32_t a, const metrics::ActionStats& st);

// Resources at the end of the run: lease statistics per pool (`leaked`: per pool, leases still held
// when the run ended), the blobs' checksums, the kv_stores.
ResourcesReport resources_report(const dsl::Script& script, const std::vector<std::unique_ptr<resource::PairPool>>& pools,
                                 const std::vector<uint64_t>& leaked);

}  // namespace ntx::report
