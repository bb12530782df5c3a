// One test run by several instances (docs/distributed.md): what the command line of `ntx run
// --segment I/N`, `--start-at TIME` and `ntx merge` parse and do, for harnesses as for the CLI.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <vector>

#include "ntx/export.hpp"
#include "ntx/report.hpp"

NTX_BEGIN_NAMESPACE

// "I/N" with 0 <= I < N: RunOptions::segment_index / segment_count. False with `error` saying why
// (naming --segment and the text given).
NTX_API bool parse_segment(std::string_view text, uint32_t& index, uint32_t& count, std::string& error);

// How far ahead a --start-at may be: a start barrier a day away is a typo, not a plan.
constexpr int64_t kMaxStartDelayMs = 24LL * 3600 * 1000;

// "--start-at TIME": RFC 3339 ("2026-12-07T19:00:00Z", "2026-12-07T20:00:00.250+01:00") or Unix
// seconds ("1796670000", "1796670000.5"), as Unix milliseconds (RunOptions::start_at_unix_ms). False
// with `error` when it is neither, or more than kMaxStartDelayMs after `now_unix_ms`. A time already
// passed is accepted: the run starts at once and says so.
NTX_API bool parse_start_at(std::string_view text, int64_t now_unix_ms, int64_t& unix_ms, std::string& error);

// `ntx merge DIR... --out DIR`: reads DIR/report.json of every dir, checks that they are the N
// segments of one test (the same script_hash and plugin versions, every segment once), merges them
// (counts add, latency histograms merge, timelines align on wall time), evaluates the thresholds
// again on the result and writes report.json, report.xml and report.html into out_dir (nothing when
// out_dir is empty). Throws InvalidInput with every problem, each naming what differs (exit code 2),
// RuntimeFailure when out_dir cannot be written.
NTX_API Report merge_runs(const std::vector<std::string>& dirs, const std::string& out_dir);

// Unix milliseconds as RFC 3339 UTC with milliseconds ("2026-12-07T19:00:00.000Z").
NTX_API std::string format_unix_ms(int64_t unix_ms);

NTX_END_NAMESPACE
