#include "plugin/semver.hpp"

#include <charconv>
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

bool semver_compatible(const Semver& required, const Semver& provided) {
    if (required.major != provided.major) return false;
    if (required.major == 0 && required.minor != provided.minor) return false;
    return std::tie(provided.major, provided.minor, provided.patch) >=
           std::tie(required.major, required.minor, required.patch);
}

}  // namespace ntx::plugin
