#include "plugin/semver.hpp"

#include <algorithm>
#include <charconv>
#include <string>
#include <tuple>

namespace ntx::plugin {

std::optional<Semver> parse_semver(std::string_view text) {
    Semver v;
    unsigned* parts[] = {&v.major, &v.minor, &v.patch};
    const char* p = text.data();
    const char* end = text.data() + text.size();
    for (int i = 0; i < 3; ++i) {
        auto [next, ec] = std::from_chars(p, end, *parts[i]);
        if (ec != std::errc() || next == p) return std::nullopt;
        p = next;
        if (i < 2) {
            if (p == end || *p != '.') return std::nullopt;
            ++p;
        }
    }
    if (p != end) {
        if (*p != '-' && *p != '+') return std::nullopt;
        v.prerelease = *p == '-';
    }
    return v;
}

std::optional<Semver> parse_semver_prefix(std::string_view text) {
    if (auto v = parse_semver(text)) return v;
    const size_t dots = static_cast<size_t>(std::count(text.begin(), text.end(), '.'));
    if (dots >= 2) return std::nullopt;
    std::string padded(text);
    for (size_t i = dots; i < 2; ++i) padded += ".0";
    return parse_semver(padded);
}

bool semver_compatible(const Semver& required, const Semver& provided) {
    if (required.major != provided.major) return false;
    if (required.major == 0 && required.minor != provided.minor) return false;
    return std::tie(provided.major, provided.minor, provided.patch) >=
           std::tie(required.major, required.minor, required.patch);
}

}  // namespace ntx::plugin
