// Writes a Report: report.json (the documented, machine-readable format) and the end summary table
// on the terminal.
#pragma once

#include <cstdio>
#include <filesystem>
#include <string>

#include "ntx/report.hpp"

namespace ntx::report {

std::string to_json(const Report& report);
void write_json(const Report& report, const std::filesystem::path& file);
void print_summary(const Report& report, std::FILE* out);

}  // namespace ntx::report
