#include "ntx/diagnostics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

#include "dsl/script.hpp"

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

// Sorts in place (reading order) and returns what it sorted: the base is built before the member.
static const std::vector<Diagnostic>& in_reading_order(std::vector<Diagnostic>& diagnostics) {
    dsl::sort_diagnostics(diagnostics);
    return diagnostics;
}

InvalidInput::InvalidInput(std::vector<Diagnostic> diagnostics)
    : std::runtime_error(summarize(in_reading_order(diagnostics))), diagnostics_(std::move(diagnostics)) {}

NTX_END_NAMESPACE

namespace ntx::dsl {

void sort_diagnostics(std::vector<Diagnostic>& diagnostics, size_t first) {
    std::vector<std::string_view> files;
    for (size_t i = first; i < diagnostics.size(); ++i)
        if (std::find(files.begin(), files.end(), diagnostics[i].file) == files.end()) files.push_back(diagnostics[i].file);
    auto key = [&](const Diagnostic& d) {
        return std::tuple(std::find(files.begin(), files.end(), d.file) - files.begin(), d.line, d.column);
    };
    std::stable_sort(diagnostics.begin() + static_cast<std::ptrdiff_t>(first), diagnostics.end(),
                     [&](const Diagnostic& a, const Diagnostic& b) { return key(a) < key(b); });
}

}  // namespace ntx::dsl
