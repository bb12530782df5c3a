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
// The end summary, at most 100 columns wide (longer lines wrap); `colour`: ANSI colours (a terminal
// without NO_COLOR, the caller decides).
void print_summary(const Report& report, std::FILE* out, bool colour = false);
// Whether `out` gets colour: a terminal, NO_COLOR unset or empty, TERM not "dumb".
bool wants_colour(std::FILE* out);
// Empty when every lease was released by the end of the run; else what leaked, by pool (the run
// fails with exit code 3).
std::string lease_leaks(const Report& report);

// 1536 -> "1.5 KiB" (bytes below 1 KiB as "512 B").
std::string human_bytes(uint64_t bytes);

}  // namespace ntx::report
