// Problems found in a res_dir (script, manifest, config) before anything runs, reported as
// `file:line:col: error: message`.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "ntx/export.hpp"

NTX_BEGIN_NAMESPACE

struct Diagnostic {
    std::string file;   // path as given (relative to the working directory when possible)
    int line = 0;       // 1-based; 0 when unknown
    int column = 0;     // 1-based; 0 when unknown
    std::string message;
    std::string hint;   // e.g. "did you mean 'spawn-rate'?" (may be empty)

    // "file:line:col: error: message (hint)"
    NTX_API std::string to_string() const;
};

// Thrown by Host when the res_dir is invalid; carries every problem found, not only the first.
class NTX_API InvalidInput : public std::runtime_error {
public:
    explicit InvalidInput(std::vector<Diagnostic> diagnostics);
    const std::vector<Diagnostic>& diagnostics() const noexcept { return diagnostics_; }

private:
    std::vector<Diagnostic> diagnostics_;
};

// Thrown by Host when a plugin or the runtime fails (not the script's fault).
class NTX_API RuntimeFailure : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

NTX_END_NAMESPACE
