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
// Empty when every lease was released by the end of the run; else what leaked, by pool (the run
// fails with exit code 3).
std::string lease_leaks(const Report& report);

// 1536 -> "1.5 KiB" (bytes below 1 KiB as "512 B").
std::string human_bytes(uint64_t bytes);

}  // namespace ntx::report
