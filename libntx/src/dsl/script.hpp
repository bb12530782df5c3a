// The compiled form of a res_dir: script.yaml, config.yaml and resource/config.yaml, validated, with
// every name resolved to an index and every template compiled. What the scheduler runs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "dsl/template.hpp"
#include "ntx/diagnostics.hpp"

namespace ntx::dsl {

struct SourceLoc {
    std::string file;
    int line = 0;
    int column = 0;
};

struct ComponentSpec {
    std::string name;
    std::string version;  // semver the script requires
    std::string kind;     // native | wasm | wasi-component | service-adapter | builtin
    std::string entry;    // path (relative to res_dir) or bare plugin name
    std::vector<std::string> declared_capabilities;  // metadata.capabilities (optional)
    std::string config_json = "{}";                  // its section of resource/config.yaml
    bool builtin = false;                            // the built-in resource-manager
    SourceLoc loc, version_loc, entry_loc;
};

enum class Guard : uint8_t { exclusive, shared };
enum class LeaseStrategy : uint8_t { round_robin, least_used };

struct PoolSpec {
    std::string name;
    std::filesystem::path manifest;  // absolute
    std::string format = "csv";      // csv | yaml
    std::vector<std::string> fields;
    std::optional<uint64_t> capacity;
    Guard guard = Guard::exclusive;
    LeaseStrategy strategy = LeaseStrategy::round_robin;
    uint64_t ttl_ms = 0;  // 0 = the user's life
    SourceLoc loc, manifest_loc;
};

struct ActionSpec {
    std::string name;
    uint32_t component = 0;  // index into components
    std::string call;
    std::vector<std::pair<std::string, Template>> with;  // flattened keys ("headers.X")
    std::vector<SourceLoc> with_locs;                     // where each `with` value is written
    std::optional<uint32_t> save_slot;
    uint64_t timeout_ms = 0;  // 0 = config default
    SourceLoc loc, call_loc;
};

enum class Exit : uint8_t { error_out, timeout_out, closing };

struct WorkflowSpec {
    std::string name;
    std::vector<uint32_t> steps;  // action indices, in order
    uint64_t timeout_ms = 0;      // task timeout, 0 = none
    Exit on_error = Exit::error_out;
    SourceLoc loc;
};

struct ScenarioSpec {
    std::string name;
    uint32_t workflow = 0;
    uint64_t user_count = 1;
    double spawn_rate = 0;          // users per second; 0 = all at once
    uint64_t task_duration_ms = 0;  // 0 = one task per user
    uint64_t max_duration_ms = 0;   // 0 = none
    std::vector<uint32_t> inherit;  // pool indices
    SourceLoc loc;
};

struct RunConfig {
    uint64_t tick_ms = 20;
    unsigned threads = 0;  // 0 = one per core
    uint64_t action_timeout_ms = 30'000;
    std::string log_level = "warn";
};

struct Script {
    std::filesystem::path res_dir;  // absolute
    std::string version;
    std::vector<ComponentSpec> components;
    std::vector<PoolSpec> pools;
    std::vector<ActionSpec> actions;
    std::vector<WorkflowSpec> workflows;
    std::vector<ScenarioSpec> scenarios;
    std::vector<std::string> variables;  // save-as names by slot
    RunConfig config;
};

// Reads and validates res_dir. Every problem found goes to `diagnostics`; the result is usable only when
// no diagnostic was added.
Script load_res_dir(const std::filesystem::path& res_dir, std::vector<Diagnostic>& diagnostics);

// Closest candidate within a small edit distance, for "did you mean" hints; empty when none is close.
std::string closest_match(std::string_view word, const std::vector<std::string_view>& candidates);

}  // namespace ntx::dsl
