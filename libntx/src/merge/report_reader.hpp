// report.json read back into a Report (what `ntx merge` adds up and writes again through the report
// writers). Reads what report_writer.cpp writes; keys a report lacks keep their defaults.
#pragma once

#include <filesystem>
#include <string>

#include "ntx/report.hpp"

namespace ntx::merge {

// Throws std::runtime_error naming the file and what is wrong (unreadable, not JSON, not a report).
Report read_report(const std::filesystem::path& file);
// The same, from its text (`name` for messages).
Report parse_report(const std::string& text, const std::string& name);

}  // namespace ntx::merge
