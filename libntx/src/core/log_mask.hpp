// log.mask: sensitive values (passwords, tokens, Authorization headers, cookies) written as *** in
// every log line, whoever wrote it (the host, a plugin, a `log` step).
#pragma once

#include <memory>
#include <spdlog/sinks/sink.h>
#include <string>
#include <string_view>
#include <vector>

namespace ntx::core {

class Masker {
public:
    explicit Masker(std::vector<std::string> names);

    // `text` with the value of every `name=value`, `name: value`, `"name": "value"` whose name
    // contains one of the masked names (case-insensitive) replaced by ***. A value runs to the end of
    // its quotes, else to a space (after `=`) or to the end of the line (after `:`, as in headers),
    // and stops at , ; & }.
    std::string mask(std::string_view text) const;
    bool empty() const { return names_.empty(); }
    // A field name (a workbook path, a saved result's key) that contains a masked name.
    bool masks(std::string_view name) const;

private:
    std::vector<std::string> names_;  // lower case
};

// A sink that masks each message before `inner` formats and writes it.
std::shared_ptr<spdlog::sinks::sink> masking_sink(std::shared_ptr<spdlog::sinks::sink> inner, Masker masker);

}  // namespace ntx::core
