// Progress events: what the run's progress bus carries to its subscribers (the terminal line, the
// workbook change stream's JSON Lines file, a C++ harness). Plain values: an event owns its strings,
// so a subscriber may keep it after the callback returns.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "ntx/export.hpp"

NTX_BEGIN_NAMESPACE

// The level of the work breakdown tree an event is about (mirrors ntx_scope_t of the C ABI).
enum class ProgressScope : uint8_t { program, scenario, workflow, task, action };

// The process group the run (or the event's subject) is in.
enum class RunPhase : uint8_t { initiating, planning, executing, monitoring, closing };

// static: the script's own users; dynamic: a task a plugin asked for (request_task).
enum class Origin : uint8_t { static_task, dynamic_task };

struct ProgressEvent {
    ProgressScope scope = ProgressScope::program;
    RunPhase phase = RunPhase::executing;
    // What happened: "phase" (the run entered `phase`), "task.state" (a workbook entry changed
    // state), "workbook.field", "outcome" (an action ended), "plugin" (a plugin's progress call),
    // "lease"; subscribers ignore kinds they do not know.
    std::string kind;
    std::string path;       // the WBS path: "scenario/workflow/action" as far as `scope` goes
    uint64_t user_id = 0;   // 0 when the event is not about one user
    uint64_t task_id = 0;
    double progress = -1;   // 0..1, negative when unknown
    std::vector<std::pair<std::string, std::string>> fields;
    Origin origin = Origin::static_task;
    uint64_t t_ms = 0;      // since the run started (the run's monotonic clock)
    uint32_t priority = 0;  // progress.poller.priorities of its phase; at or above the batching
                            // priority-threshold an event is delivered without waiting for a batch
};

// A subscriber receives events in batches (progress.batching: max-batch-size, flush-interval), in
// order per user, on the run's monitor thread, never on a shard's loop: it may block briefly, but a
// slow subscriber delays only other subscribers, never the load.
using ProgressCallback = std::function<void(std::span<const ProgressEvent> batch)>;

NTX_END_NAMESPACE
