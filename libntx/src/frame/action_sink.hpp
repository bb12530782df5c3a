// What the frame hands to the one who runs actions through it (the scheduler): how each action ended,
// and the plugin calls that belong to an action's owner (request_task, progress). The frame keeps no
// counters, variables or workbook of its own: the sink does, outside frame/.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ntx/plugin_abi.h"

namespace ntx::frame {

// Every way an action can end: exactly one of these per dispatched action.
enum class Outcome : uint8_t { ok, error, timeout, cancelled };

// An action slot: one per user (its owner), opened when the user is made and closed when it leaves.
// It runs one action at a time; each dispatch bumps its generation, and the token a plugin gets
// (ntx_action_t*) encodes loop, slot and generation, so a late completion of an earlier action (or
// of a user long gone) is refused instead of ending the current one.
struct SlotId {
    uint32_t loop = 0;
    uint32_t index = UINT32_MAX;
    bool valid() const { return index != UINT32_MAX; }
};

// An action's end, as the frame hands it to its sink. Views are valid during the call only.
struct ActionEnd {
    void* owner = nullptr;        // what the slot was opened for (the sink's own object)
    uint32_t action = 0;          // the script action
    Outcome outcome = Outcome::ok;
    ntx_status_t code = NTX_OK;   // the plugin's (or the host's) status; NTX_OK for ok
    std::string_view reason;      // empty for ok
    const ntx_result_t* result = nullptr;  // the plugin's report (size-checked by the reader), may be null
    std::chrono::steady_clock::duration elapsed{};  // since the action's start (its intended start, open model)
};

// One per loop, called on that loop's thread only.
class ActionSink {
public:
    virtual ~ActionSink() = default;
    // An action ended (possibly inside the plugin's call): count it, keep what it saved, and let its
    // owner go on later, never from inside this call.
    virtual void action_ended(const ActionEnd& end) = 0;
    // A plugin's request_task from `owner`'s live action: NTX_OK and the new task's id, or a refusal.
    virtual ntx_status_t request_task(void* owner, uint32_t action,
                                      std::vector<std::pair<std::string, std::string>> overrides, uint64_t& task_id) = 0;
    // A plugin's progress report from `owner`'s live action.
    virtual void plugin_progress(void* owner, uint32_t component, const ntx_progress_t& p) = 0;
};

}  // namespace ntx::frame
