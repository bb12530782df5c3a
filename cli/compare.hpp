// The archive of runs (the seeds' "experience library") and `ntx compare`: what got better or worse
// between two runs' report.json (and workbook snapshots).
#pragma once

#include <cstdio>
#include <string>

namespace ntx::cli {

// Copies OUT/report.json (and OUT/workbook.jsonl, when there) into ARCHIVE/<run id>/ and appends a
// line to ARCHIVE/index.jsonl. Returns the run id ("" with `error` set on failure).
std::string archive_run(const std::string& out_dir, const std::string& archive_dir, std::string& error);

// Compares run `a` (the baseline) with run `b`. Each is a report.json, a folder holding one, or a run
// id in `archive_dir`. Prints the comparison to `out`; returns 0, or 2 when a run cannot be read
// (the message goes to stderr).
int compare_runs(const std::string& a, const std::string& b, const std::string& archive_dir, std::FILE* out);

}  // namespace ntx::cli
