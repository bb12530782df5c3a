// Compiling save-as extract's pointers and patterns (see extract.hpp). The pointer walk and the
// regex search run in scheduler/extractor.cpp.
#include "dsl/extract.hpp"

#include <fmt/format.h>

#include "dsl/extract_regex.hpp"

namespace ntx::dsl {

namespace {

// A reference token that names an array element: "0", or digits not starting with 0 (RFC 6901 4).
std::optional<uint64_t> array_index(std::string_view t) {
    if (t.empty() || t.size() > 18 || (t.size() > 1 && t[0] == '0')) return std::nullopt;
    uint64_t v = 0;
    for (char c : t) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    return v;
}

void add_token(JsonPointer& p, std::string key) {
    auto index = array_index(key);
    p.text += '/';
    for (char c : key) {
        if (c == '~') p.text += "~0";
        else if (c == '/') p.text += "~1";
        else p.text += c;
    }
    p.tokens.push_back({std::move(key), index});
}

std::optional<JsonPointer> from_pointer(std::string_view s, std::string& error, size_t& at) {
    JsonPointer p;
    if (s.empty()) return p;  // the whole document
    if (s[0] != '/') {
        error = fmt::format("'{}' is not a JSON pointer: it must start with '/' (e.g. /token) or '$' (e.g. $.token)", s);
        at = 0;
        return std::nullopt;
    }
    size_t pos = 1;
    while (true) {
        size_t end = s.find('/', pos);
        std::string_view raw = s.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
        std::string key;
        for (size_t i = 0; i < raw.size(); ++i) {
            if (raw[i] != '~') {
                key += raw[i];
                continue;
            }
            if (i + 1 < raw.size() && (raw[i + 1] == '0' || raw[i + 1] == '1')) {
                key += raw[i + 1] == '0' ? '~' : '/';
                ++i;
                continue;
            }
            error = fmt::format("JSON pointer '{}': '~' must be followed by 0 or 1 (~0 is '~', ~1 is '/')", s);
            at = pos + i;
            return std::nullopt;
        }
        add_token(p, std::move(key));
        if (end == std::string_view::npos) break;
        pos = end + 1;
    }
    return p;
}

bool name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           static_cast<unsigned char>(c) >= 0x80;
}

// $.a.b[0]['c d']["e"]: names after '.', indices and quoted names in brackets.
std::optional<JsonPointer> from_jsonpath(std::string_view s, std::string& error, size_t& at) {
    JsonPointer p;
    size_t pos = 1;  // after '$'
    auto fail = [&](size_t where, std::string_view what) {
        error = fmt::format("JSONPath '{}': {} (a path to one value: $.a.b[0]['c d'])", s, what);
        at = where;
        return std::nullopt;
    };
    while (pos < s.size()) {
        if (s[pos] == '.') {
            size_t start = ++pos;
            while (pos < s.size() && name_char(s[pos])) ++pos;
            if (pos == start) return fail(start, pos < s.size() && s[pos] == '.' ? "'..' (recursive descent) is not supported"
                                                 : pos < s.size() && s[pos] == '*' ? "'*' (wildcard) is not supported"
                                                                                    : "a name must follow '.'");
            add_token(p, std::string(s.substr(start, pos - start)));
        } else if (s[pos] == '[') {
            size_t start = ++pos;
            if (pos < s.size() && (s[pos] == '\'' || s[pos] == '"')) {
                char q = s[pos++];
                std::string key;
                while (pos < s.size() && s[pos] != q) {
                    if (s[pos] == '\\' && pos + 1 < s.size()) ++pos;
                    key += s[pos++];
                }
                if (pos >= s.size()) return fail(start, "unterminated quoted name");
                ++pos;
                if (pos >= s.size() || s[pos] != ']') return fail(pos, "expected ']'");
                ++pos;
                add_token(p, std::move(key));
                continue;
            }
            while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
            if (pos == start || pos >= s.size() || s[pos] != ']')
                return fail(start, "a bracket holds an index ([0]) or a quoted name (['a'])");
            add_token(p, std::string(s.substr(start, pos - start)));
            if (!p.tokens.back().index) return fail(start, "an index has no leading zero");
            ++pos;
        } else {
            return fail(pos, fmt::format("unexpected '{}'", s[pos]));
        }
    }
    return p;
}

}  // namespace

std::optional<JsonPointer> compile_json_pointer(std::string_view text, std::string& error, size_t& error_offset) {
    if (!text.empty() && text[0] == '$') return from_jsonpath(text, error, error_offset);
    return from_pointer(text, error, error_offset);
}

std::shared_ptr<const CompiledRegex> compile_regex(std::string_view pattern, std::string& error, size_t& error_offset) {
    auto out = std::make_shared<CompiledRegex>();
    try {
        // No `optimize`-style flags: Boost.Regex compiles to its matcher here, once.
        out->re.assign(pattern.data(), pattern.data() + pattern.size(), boost::regex::perl);
    } catch (const boost::regex_error& e) {
        error = fmt::format("regex '{}' does not compile: {}", pattern, e.what());
        error_offset = e.position() >= 0 ? static_cast<size_t>(e.position()) : 0;
        return nullptr;
    }
    out->group = out->re.mark_count() > 0 ? 1 : 0;
    return out;
}

}  // namespace ntx::dsl
