#include "ntx/diagnostics.hpp"

#include <fmt/format.h>

NTX_BEGIN_NAMESPACE

std::string Diagnostic::to_string() const {
    std::string out = file;
    if (line > 0) out += fmt::format(":{}:{}", line, column > 0 ? column : 1);
    out += ": error: " + message;
    if (!hint.empty()) out += " (" + hint + ")";
    return out;
}

static std::string summarize(const std::vector<Diagnostic>& diagnostics) {
    std::string text;
    for (const auto& d : diagnostics) {
        if (!text.empty()) text += '\n';
        text += d.to_string();
    }
    return text;
}

InvalidInput::InvalidInput(std::vector<Diagnostic> diagnostics)
    : std::runtime_error(summarize(diagnostics)), diagnostics_(std::move(diagnostics)) {}

NTX_END_NAMESPACE
