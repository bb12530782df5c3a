// The Workbook: the run's ledger, one entry per user x task (seed 001 sections 2 and 5). Each entry holds
// the scheduler's own fields (state, current action, retry budget, deadlines, evidence) in a fixed,
// compact form, plus the script's fields (declared under `workbook:` in six sections) stored sparsely:
// a field still at its default takes no memory.
//
// Threading: each shard owns one Ledger and is its only writer (on its loop's thread); no lock is
// taken on the hot path. Readers (the snapshot at closing) read after the loops stopped.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ntx::core {
class Masker;
}

namespace ntx::workbook {

// An entry's state, written phase.substate.
enum class State : uint8_t {
    executing_waiting_resource,  // the user waits for a resource lease (the task has not started)
    executing_running_action,    // an action is in flight
    executing_thinking,          // a think step
    executing_throttled,         // waiting for its action's per-user rate limit
    monitoring_retry,            // waiting to retry a failed action, or to restart the task (monitoring.retry)
    closing_done,                // the task ran to its end (or goto: closing)
    closing_error,               // the task ended through error_out
    closing_timeout,             // the task ended through timeout_out
    closing_rollback,            // goto: closing.rollback
    closing_stopped,             // the user was stopped (stop: user, a stop request, max-duration, the profile's end)
};
constexpr size_t kStates = 10;
std::string_view state_name(State s);
std::optional<State> state_from_name(std::string_view name);
inline bool is_final(State s) { return s >= State::closing_done; }
// The process group of a state: 2 executing, 3 monitoring, 4 closing (ntx::RunPhase's values).
uint8_t state_phase(State s);

// evidence.last_event: how the entry's last action ended.
enum class LastEvent : uint8_t { none, ok, error, timeout, cancelled };
std::string_view last_event_name(LastEvent e);

// The scheduler's own fields: ids 0..kBuiltins-1 of every schema, with their section paths.
enum Builtin : uint32_t {
    f_user_id,         // user_id
    f_task_id,         // task_id
    f_state,           // timeline.phase
    f_start_at,        // timeline.start_at (ms on the run clock)
    f_timeout_at,      // timeline.timeout_at (ms on the run clock; empty when the task has no timeout)
    f_owner,           // execution.owner ("scenario/workflow")
    f_current_action,  // execution.current_action
    f_retry_left,      // execution.retry_left
    f_last_event,      // execution.evidence.last_event
    f_response_ms,     // execution.evidence.response_ms
    f_scope_trace,     // governance.scope_trace ("program/scenario/workflow/task-N")
    kBuiltins
};

// Dirty bits of an entry (since its last flush to the change stream).
enum Dirty : uint16_t {
    d_state = 1u << 0,
    d_action = 1u << 1,
    d_retry = 1u << 2,
    d_evidence = 1u << 3,
    d_timeout = 1u << 4,
    d_fields = 1u << 5,  // some script field changed (each carries its own flag)
    d_opened = 1u << 6,  // the entry is new
};

extern const char* const kSections[6];  // timeline, execution, governance, telemetry, registers, communications
bool is_section(std::string_view name);

struct FieldDef {
    std::string path;           // "telemetry.counters.success" (builtins: their section path)
    std::string default_value;  // what an entry that never set it reads
    bool masked = false;        // log.mask names it: written as *** in the snapshot and the change stream
};

// The ledger's fields: the builtins, then the script's, and the expose aliases. Built at planning;
// read-only during the run (add_register is for planning too).
class Schema {
public:
    Schema();
    static std::string_view builtin_alias(uint32_t id);  // "state", "owner", ... ("user_id" for f_user_id)

    // Adds a script field; its id, or nullopt when the path is already a field.
    std::optional<uint32_t> add_field(std::string path, std::string default_value);
    // A `save-as: {var: x, scope: workbook}` variable: the field `registers.<name>` (added once) and
    // the alias `<name>` (unless that alias exists). Returns the field's id.
    uint32_t add_register(std::string_view name);
    // Marks the script fields whose path contains a masked name (config.yaml log.mask).
    void mask_fields(const std::vector<std::string>& names);
    // A value as the snapshot and the change stream write it: `name=value` pairs, headers, JSON
    // members and query parameters of masked names inside it as *** (an unmasked field holding
    // `cookie session=...`), through the same rules as the log.
    std::string mask_value(std::string_view value) const;
    // Adds an alias; false when `alias` is already a field path or an alias of another field.
    bool add_alias(std::string alias, uint32_t id);

    // A field by section path or alias.
    std::optional<uint32_t> find(std::string_view path_or_alias) const;
    const FieldDef& field(uint32_t id) const { return fields_[id]; }
    size_t size() const { return fields_.size(); }
    static bool is_builtin(uint32_t id) { return id < kBuiltins; }
    // Every path and alias, for "did you mean" hints.
    std::vector<std::string_view> names() const;
    const std::vector<std::pair<std::string, uint32_t>>& aliases() const { return aliases_; }

private:
    std::shared_ptr<const core::Masker> masker_;  // log.mask, for values (null: none)
    std::vector<FieldDef> fields_;
    std::vector<std::pair<std::string, uint32_t>> aliases_;
};

// One script field an entry set to something else than its default.
struct FieldValue {
    uint32_t id = 0;
    bool dirty = false;
    std::string value;
};

constexpr uint32_t kNoAction = UINT32_MAX;

struct Entry {
    uint64_t user_id = 0;
    uint64_t task_id = 0;      // 0: the user waited for a resource and never started a task
    uint64_t start_at_ms = 0;  // run clock
    uint64_t timeout_at_ms = 0;  // run clock; 0 = no task timeout
    uint32_t scenario = 0;
    uint32_t current_action = kNoAction;
    uint32_t response_us = 0;  // evidence.response_ms, in microseconds
    uint16_t retry_left = 0;
    uint16_t dirty = 0;
    State state = State::executing_running_action;
    LastEvent last_event = LastEvent::none;
    bool dynamic = false;      // a plugin's request_task
    bool in_use = false;       // the slot holds an open (or closed, not yet released) entry
    std::vector<FieldValue> fields;  // sparse: only fields set away from their defaults
};

// Names the builtin fields render with (owner, current_action, scope_trace), made once per run.
struct Names {
    std::string program;                  // the res_dir's name
    std::vector<std::string> scenarios;   // by scenario index
    std::vector<std::string> workflows;   // the workflow of each scenario
    std::vector<std::string> actions;     // by action index
};

// A field's value as text, appended to `out` (builtins formatted; script fields or their defaults).
void append_value(const Schema& schema, const Names& names, const Entry& e, uint32_t id, std::string& out);

constexpr uint32_t kNoEntry = UINT32_MAX;

// One shard's part of the ledger. Its loop's thread is the only writer.
//
// It holds the entries of the tasks still running, never one per task of the run: an entry closed
// (close()) stays until the shard's next flush, which sends its last change to the progress bus, hands
// it to whoever keeps finished entries (release_closed(): the workbook archive, workbook/archive.hpp)
// and frees its slot for the next task. Slots are reused, so the memory held is a function of the
// users online, never of the run's length. What the report needs of the finished entries (how many,
// by final state) is kept as counts.
class Ledger {
public:
    // Opens the entry of a new user x task; its index (valid until the entry is closed and released).
    uint32_t open(uint64_t user_id, uint64_t task_id, uint32_t scenario, uint64_t now_ms, State state) {
        uint32_t i;
        if (free_.empty()) {
            i = static_cast<uint32_t>(entries_.size());
            entries_.emplace_back();
        } else {
            i = free_.back();
            free_.pop_back();
        }
        Entry& e = entries_[i];
        e.user_id = user_id;
        e.task_id = task_id;
        e.scenario = scenario;
        e.start_at_ms = now_ms;
        e.state = state;
        e.in_use = true;
        ++opened_;
        mark(e, i, d_opened | d_state);
        return i;
    }
    // Closes the entry with its final state (is_final). It is released at the next release_closed();
    // the caller forgets the index.
    void close(uint32_t i, State final_state) {
        if (i == kNoEntry) return;
        Entry& e = entries_[i];
        if (is_final(e.state)) return;  // the first exit decides
        e.state = final_state;
        mark(e, i, d_state);
        closed_.push_back(i);
    }
    Entry& at(uint32_t i) { return entries_[i]; }
    const Entry& at(uint32_t i) const { return entries_[i]; }
    // Entries open now (in use: running, or closed and not released yet).
    size_t live() const { return entries_.size() - free_.size(); }
    // Entries opened since the start of the run.
    uint64_t opened() const { return opened_; }
    // Calls f(entry) for every entry in use.
    template <typename F>
    void for_each_live(F&& f) const {
        for (const auto& e : entries_)
            if (e.in_use) f(e);
    }
    // Released entries by final state (indexed by State).
    const uint64_t* released_by_state() const { return released_by_state_; }

    // Hands every closed entry to `keep(const Entry&)` (which copies what it keeps), counts it, and
    // frees its slot. Call after the dirty entries went out (their last change is the final state).
    template <typename F>
    void release_closed(F&& keep) {
        for (uint32_t i : closed_) {
            Entry& e = entries_[i];
            keep(static_cast<const Entry&>(e));
            ++released_by_state_[static_cast<size_t>(e.state)];
            e.fields.clear();  // keeps its capacity: the next task's fields reuse it
            e = Entry{.fields = std::move(e.fields)};
            free_.push_back(i);
        }
        closed_.clear();
    }

    // ---- the hot path: a few stores and a bit (an index of kNoEntry is ignored) ---------------------
    void set_state(uint32_t i, State s) {
        if (i == kNoEntry) return;
        Entry& e = entries_[i];
        if (e.state == s) return;
        e.state = s;
        mark(e, i, d_state);
    }
    void set_action(uint32_t i, uint32_t action, State s) {
        if (i == kNoEntry) return;
        Entry& e = entries_[i];
        e.current_action = action;
        e.state = s;
        mark(e, i, d_state | d_action);
    }
    void set_evidence(uint32_t i, LastEvent ev, uint32_t response_us) {
        if (i == kNoEntry) return;
        Entry& e = entries_[i];
        e.last_event = ev;
        e.response_us = response_us;
        mark(e, i, d_evidence);
    }
    void set_retry_left(uint32_t i, uint16_t n) {
        if (i == kNoEntry) return;
        Entry& e = entries_[i];
        e.retry_left = n;
        mark(e, i, d_retry);
    }
    void set_timeout_at(uint32_t i, uint64_t ms) {
        if (i == kNoEntry) return;
        Entry& e = entries_[i];
        e.timeout_at_ms = ms;
        mark(e, i, d_timeout);
    }
    // A script field (id >= kBuiltins). Stored only while it differs from its default.
    void set_field(uint32_t i, uint32_t id, std::string_view value, const Schema& schema);

    // The entries changed since the last call, each once, in the order they first changed; their
    // dirty bits stay set until clear_dirty (the change stream reads them in between).
    const std::vector<uint32_t>& dirty() const { return dirty_; }
    // Clears the dirty marks (and drops script fields set back to their defaults).
    void clear_dirty(const Schema& schema);

    // Bytes held (entries, their fields' strings, the dirty list): what the benchmark reports.
    size_t memory_bytes() const;

private:
    void mark(Entry& e, uint32_t i, uint16_t bits) {
        if (!e.dirty) dirty_.push_back(i);
        e.dirty |= bits;
    }
    std::deque<Entry> entries_;
    std::vector<uint32_t> free_;    // released slots, reused first
    std::vector<uint32_t> closed_;  // closed since the last release_closed
    std::vector<uint32_t> dirty_;
    uint64_t opened_ = 0;
    uint64_t released_by_state_[kStates] = {};
};

// One entry as a JSON object (one line of workbook.jsonl): the builtins, then `sections` with every
// field of the schema (defaults included), then `expose` with every alias's value.
std::string entry_json(const Schema& schema, const Names& names, const Entry& e);

}  // namespace ntx::workbook
