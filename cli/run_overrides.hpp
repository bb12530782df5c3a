// The options of `ntx run` / `ntx validate` that change the script without editing it: --users,
// --rate, --duration, --scenario, -e KEY=VALUE (ntx/overrides.hpp; docs/dsl.md#overrides).
#pragma once

#include <boost/program_options.hpp>
#include <string>
#include <vector>

#include <ntx/overrides.hpp>

namespace ntx::cli {

// Adds the options to `opts`.
void add_override_options(boost::program_options::options_description& opts);

// Rewrites `--users -1` as `--users=-1` (and the same for the other value options of this file) so
// that a negative or dash-led value reaches the checks below instead of reading as an unknown option.
std::vector<std::string> join_dash_values(int argc, char** argv);

// Reads the options into `out`; false after printing `ntx: error: ...` for a value that is not one.
bool read_overrides(const boost::program_options::variables_map& vm, Overrides& out);

}  // namespace ntx::cli
