#include "dsl/yaml_source.hpp"

#include <yaml-cpp/depthguard.h>

#include <algorithm>
#include <fmt/format.h>
#include <unordered_map>

namespace ntx::dsl {

std::optional<TextFault> check_text(std::string_view s) {
    if (s.size() >= 2 && ((s[0] == '\xff' && s[1] == '\xfe') || (s[0] == '\xfe' && s[1] == '\xff')))
        return TextFault{1, 1, "the file is UTF-16 (it starts with a UTF-16 byte-order mark): save it as UTF-8"};
    int line = 1;
    size_t line_start = 0;
    auto fault = [&](size_t at, std::string what) {
        return TextFault{line, static_cast<int>(at - line_start) + 1, std::move(what)};
    };
    for (size_t i = 0; i < s.size();) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c == '\n') {
            ++line;
            line_start = ++i;
            continue;
        }
        if (c == 0) return fault(i, "a NUL byte: the file is binary or not UTF-8");
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t len = 0;
        uint32_t cp = 0;
        if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1Fu;
        else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0Fu;
        else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07u;
        bool ok = len != 0 && i + len <= s.size();
        for (size_t k = 1; ok && k < len; ++k) {
            auto cc = static_cast<unsigned char>(s[i + k]);
            ok = (cc & 0xC0) == 0x80;
            cp = (cp << 6) | (cc & 0x3Fu);
        }
        if (ok)  // overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8 either
            ok = !((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
                   cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF));
        if (!ok) return fault(i, fmt::format("invalid UTF-8 (byte 0x{:02X}): save the file as UTF-8", c));
        i += len;
    }
    return std::nullopt;
}

namespace {

// Walks the loaded tree once: repeated keys of a map, and the size the document has with its aliases
// expanded. yaml-cpp shares an anchored node with its aliases, so a collection met again (same start
// position) is counted from a memo instead of walked again: linear in the file, even for a
// "billion laughs" file.
class Checker {
public:
    Checker(const std::string& file, std::vector<Diagnostic>& out) : file_(file), out_(out) {}

    // Nodes under `n`, `n` included (saturating just past the limit).
    uint64_t walk(const YAML::Node& n, int depth = 0) {
        if (!n.IsMap() && !n.IsSequence()) return 1;
        const YAML::Mark m = n.Mark();
        const bool known_mark = !m.is_null();
        if (known_mark)
            if (auto it = sizes_.find(m.pos); it != sizes_.end()) return it->second;
        uint64_t total = 1;
        if (n.IsMap()) {
            std::unordered_map<std::string, YAML::Mark> keys;
            for (auto it = n.begin(); it != n.end(); ++it) {
                const YAML::Node key = it->first;
                if (key.IsScalar()) {
                    auto [first, inserted] = keys.emplace(key.Scalar(), key.Mark());
                    if (!inserted)
                        error(key.Mark(),
                              fmt::format("duplicate key '{}' (first at line {}, column {})", key.Scalar(),
                                          first->second.line + 1, first->second.column + 1),
                              "YAML keeps only one of the two: remove or rename one");
                }
                total = add(total, walk(key, depth + 1));
                total = add(total, walk(it->second, depth + 1));
            }
        } else {
            for (const auto& item : n) total = add(total, walk(item, depth + 1));
        }
        if (known_mark) sizes_[m.pos] = total;
        return total;
    }

private:
    static uint64_t add(uint64_t a, uint64_t b) { return a > kMaxYamlNodes || b > kMaxYamlNodes ? kMaxYamlNodes + 1 : a + b; }

    void error(const YAML::Mark& m, std::string message, std::string hint = {}) {
        out_.push_back({file_, m.is_null() ? 0 : m.line + 1, m.is_null() ? 0 : m.column + 1, std::move(message),
                        std::move(hint)});
    }

    const std::string& file_;
    std::vector<Diagnostic>& out_;
    std::unordered_map<int, uint64_t> sizes_;  // collection start position -> its expanded size
};

// The position of a second document ("---" at the start of a line after content), or npos.
size_t second_document(std::string_view text) {
    bool content = false;
    size_t line_start = 0;
    while (line_start < text.size()) {
        size_t end = text.find('\n', line_start);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(line_start, end - line_start);
        if (line.starts_with("---") && (line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r')) {
            if (content) return line_start;
        } else {
            size_t first = line.find_first_not_of(" \t\r");
            if (first != std::string_view::npos && line[first] != '#' && !line.starts_with("%")) content = true;
        }
        line_start = end + 1;
    }
    return std::string_view::npos;
}

}  // namespace

std::optional<YAML::Node> parse_yaml(const std::string& text, const std::string& file, std::vector<Diagnostic>& out) {
    if (auto fault = check_text(text)) {
        out.push_back({file, fault->line, fault->column, std::move(fault->what), {}});
        return std::nullopt;
    }
    try {
        YAML::Node root = YAML::Load(text);
        if (size_t at = second_document(text); at != std::string::npos) {
            int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
            out.push_back({file, line, 1, "a second YAML document ('---'): an ntx file holds one document", {}});
        }
        Checker checker(file, out);
        if (checker.walk(root) > kMaxYamlNodes) {
            out.push_back({file, 1, 1, fmt::format("the document expands to more than {} nodes through its aliases", kMaxYamlNodes),
                           "an alias repeats what its anchor holds: nested aliases multiply it"});
            return std::nullopt;
        }
        return root;
    } catch (const YAML::DeepRecursion& e) {
        out.push_back({file, e.mark.line + 1, e.mark.column + 1,
                       fmt::format("the document nests deeper than {} levels", e.depth() - 1), {}});
    } catch (const YAML::ParserException& e) {
        out.push_back({file, e.mark.is_null() ? 0 : e.mark.line + 1, e.mark.is_null() ? 0 : e.mark.column + 1, e.msg, {}});
    }
    return std::nullopt;
}

}  // namespace ntx::dsl
