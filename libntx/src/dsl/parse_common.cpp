// Helpers every pass uses: typed scalars, key checks, did-you-mean hints, reading a YAML document.
#include <algorithm>
#include <charconv>

#include "dsl/passes.hpp"
#include "dsl/units.hpp"
#include "dsl/yaml_source.hpp"

namespace ntx::dsl {

std::string closest_match(std::string_view word, const std::vector<std::string_view>& candidates) {
    auto distance = [](std::string_view a, std::string_view b) {
        std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
        for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
        for (size_t i = 1; i <= a.size(); ++i) {
            cur[0] = i;
            for (size_t j = 1; j <= b.size(); ++j)
                cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1] ? 1u : 0u)});
            std::swap(prev, cur);
        }
        return prev[b.size()];
    };
    std::string best;
    size_t best_d = std::max<size_t>(2, word.size() / 3) + 1;
    for (auto c : candidates) {
        size_t d = distance(word, c);
        if (d < best_d) {
            best_d = d;
            best = std::string(c);
        }
    }
    return best;
}

namespace passes {

const char* type_name(const YAML::Node& n) {
    switch (n.Type()) {
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Null: return "empty";
    default: return "undefined";
    }
}

// The index of the item called `name` in `items` (anything with a .name); otherwise reports
// "unknown <what> 'name'" at `node`, with a did-you-mean hint when a name is close.

bool expect_map(FileCtx& f, const YAML::Node& n, std::string_view what) {
    if (n.IsMap()) return true;
    f.error(n, fmt::format("{} must be a map, found {}", what, type_name(n)));
    return false;
}

bool expect_seq(FileCtx& f, const YAML::Node& n, std::string_view what) {
    if (n.IsSequence()) return true;
    f.error(n, fmt::format("{} must be a list, found {}", what, type_name(n)));
    return false;
}

// Checks every key of `map` against `allowed`; `later` are DSL keys this version does not run yet.
void check_keys(FileCtx& f, const YAML::Node& map, std::string_view where, std::vector<std::string_view> allowed,
                std::vector<std::string_view> later) {
    for (auto it = map.begin(); it != map.end(); ++it) {
        const YAML::Node key = it->first;
        std::string k = key.IsScalar() ? key.Scalar() : std::string();
        if (std::find(allowed.begin(), allowed.end(), k) != allowed.end()) continue;
        if (std::find(later.begin(), later.end(), k) != later.end()) {
            f.error(key, fmt::format("'{}' in {} is part of the ntx DSL but not supported by this version yet", k, where));
            continue;
        }
        if (auto hint = foreign_word_hint(k, where)) {  // k6 / Locust / Artillery habits
            f.error(key, fmt::format("unknown key '{}' in {}", k, where), std::move(*hint));
            continue;
        }
        std::vector<std::string_view> all = allowed;
        all.insert(all.end(), later.begin(), later.end());
        auto guess = closest_match(k, all);
        f.error(key, fmt::format("unknown key '{}' in {}", k, where),
                guess.empty() ? std::string() : fmt::format("did you mean '{}'?", guess));
    }
}

std::optional<std::string> scalar(FileCtx& f, const YAML::Node& n, std::string_view what) {
    if (n.IsScalar()) return n.Scalar();
    f.error(n, fmt::format("{} must be a scalar, found {}", what, type_name(n)));
    return std::nullopt;
}

std::optional<uint64_t> uint_value(FileCtx& f, const YAML::Node& n, std::string_view what) {
    auto s = scalar(f, n, what);
    if (!s) return std::nullopt;
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
    if (ec != std::errc() || p != s->data() + s->size()) {
        f.error(n, fmt::format("{} must be a non-negative integer, found '{}'", what, *s));
        return std::nullopt;
    }
    return v;
}

std::optional<uint64_t> duration(FileCtx& f, const YAML::Node& n, std::string_view what) {
    auto s = scalar(f, n, what);
    if (!s) return std::nullopt;
    auto v = parse_duration_ms(*s);
    if (!v) f.error(n, fmt::format("{} must be a duration such as 500ms, 5s or 2m, found '{}'", what, *s));
    return v;
}

std::optional<bool> bool_value(FileCtx& f, const YAML::Node& n, std::string_view what) {
    auto s = scalar(f, n, what);
    if (!s) return std::nullopt;
    if (*s == "true") return true;
    if (*s == "false") return false;
    f.error(n, fmt::format("{} must be true or false, found '{}'", what, *s));
    return std::nullopt;
}

std::optional<double> rate(FileCtx& f, const YAML::Node& n, std::string_view what) {
    auto s = scalar(f, n, what);
    if (!s) return std::nullopt;
    auto v = parse_rate_per_s(*s);
    if (!v) f.error(n, fmt::format("{} must be a rate such as 200/s or 10/m, found '{}'", what, *s));
    return v;
}

std::vector<std::string> string_list(FileCtx& f, const YAML::Node& n, std::string_view what) {
    std::vector<std::string> out;
    if (!expect_seq(f, n, what)) return out;
    for (const auto& item : n)
        if (auto s = scalar(f, item, what)) out.push_back(*s);
    return out;
}

boost::json::value yaml_to_json(const YAML::Node& n) {
    switch (n.Type()) {
    case YAML::NodeType::Map: {
        boost::json::object o;
        for (auto it = n.begin(); it != n.end(); ++it) o[it->first.Scalar()] = yaml_to_json(it->second);
        return o;
    }
    case YAML::NodeType::Sequence: {
        boost::json::array a;
        for (const auto& item : n) a.push_back(yaml_to_json(item));
        return a;
    }
    case YAML::NodeType::Scalar: {
        const std::string& s = n.Scalar();
        if (n.Tag() != "!") {  // plain scalars may be numbers or booleans
            if (s == "true") return true;
            if (s == "false") return false;
            int64_t i;
            auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
            if (ec == std::errc() && p == s.data() + s.size() && !s.empty()) return i;
        }
        return boost::json::string(s);
    }
    default: return nullptr;
    }
}

// Flattens a `with` map into "a.b" keys.
void flatten(const YAML::Node& n, const std::string& prefix, std::vector<std::pair<std::string, YAML::Node>>& out) {
    if (n.IsMap()) {
        for (auto it = n.begin(); it != n.end(); ++it)
            flatten(it->second, prefix.empty() ? it->first.Scalar() : prefix + "." + it->first.Scalar(), out);
    } else {
        out.emplace_back(prefix, n);
    }
}

std::optional<YAML::Node> load_yaml(Compilation& cx, FileCtx& f, const std::filesystem::path& path, const std::string* text) {
    if (text) return parse_yaml(*text, f.file, f.out);
    auto read = cx.reader.read_text(path);
    if (!read) {
        f.out.push_back({f.file, 0, 0, "cannot read the file", {}});
        return std::nullopt;
    }
    return parse_yaml(*read, f.file, f.out);
}

std::string display(Compilation& cx, const std::filesystem::path& p) { return cx.reader.display_name(p); }

}  // namespace passes
}  // namespace ntx::dsl
