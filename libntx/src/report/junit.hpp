// report.xml: the run as JUnit XML for CI systems. One test suite per kind of check: `thresholds`
// (one test case per threshold of the script) and `error-budget` (one per action of each scenario:
// it fails when the action had errors or timeouts beyond its budget: its `error-rate` threshold when
// the script has one, else none at all).
#pragma once

#include <filesystem>
#include <string>

#include "ntx/report.hpp"

namespace ntx::report {

std::string to_junit(const Report& report);
void write_junit(const Report& report, const std::filesystem::path& file);

// `text` with &, <, >, " and ' escaped and characters XML 1.0 cannot hold replaced by U+FFFD.
std::string xml_escape(std::string_view text);

}  // namespace ntx::report
