// save-as extract at run time: the values an action's ExtractSpecs (dsl/extract.hpp, compiled at
// planning) take from its result. One per shard: the JSON parser's scratch is reused, so a body
// parses without touching the heap until it outgrows the scratch (kScratchBytes).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "dsl/script.hpp"
#include "ntx/plugin_abi.h"

namespace ntx::scheduler {

// Why an extract found nothing: the first of an action's extracts that did (and had no default).
struct ExtractMiss {
    const dsl::ExtractSpec* spec = nullptr;  // null: every extract found its value
    const char* why = "";                    // static text
    size_t token = 0;                        // json: the pointer token that was missing
    uint64_t offset = 0;                     // json: where the body stopped being JSON
    explicit operator bool() const { return spec != nullptr; }
    // The first example a report shows ("extract token {json: /user/id}: no member 'id' at /user").
    std::string describe() const;
};

class Extractor {
public:
    static constexpr size_t kScratchBytes = 64 * 1024;  // JSON values of a body up to ~16 KiB fit
    Extractor();
    ~Extractor();

    // Writes the value of each of `a`'s extracts into out[0 .. extracts) (their keys the extract
    // names), reading `result`'s fields; an extract that finds nothing takes its default, else "" and
    // the first such is returned in the miss. Reuses the strings' capacity.
    ExtractMiss run(const dsl::ActionSpec& a, const ntx_result_t& result, dsl::Fields& out);

private:
    struct Json;
    std::unique_ptr<Json> json_;
};

// The field `key` of `result` (its first), or nullopt.
std::optional<std::string_view> result_field(const ntx_result_t& result, std::string_view key);

}  // namespace ntx::scheduler
