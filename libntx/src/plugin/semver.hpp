// Semantic versions and the compatibility rule between what a script requires and what a plugin is.
#pragma once

#include <optional>
#include <string_view>

namespace ntx::plugin {

struct Semver {
    unsigned major = 0, minor = 0, patch = 0;
    bool prerelease = false;
};

std::optional<Semver> parse_semver(std::string_view text);
// What a script may require: a full version, or a prefix ("1", "0.2") whose missing parts are 0.
std::optional<Semver> parse_semver_prefix(std::string_view text);

// Caret rule (as npm/cargo): same major and provided >= required; for 0.x the minor must match too,
// since 0.y.z releases may break at every minor.
bool semver_compatible(const Semver& required, const Semver& provided);

}  // namespace ntx::plugin
