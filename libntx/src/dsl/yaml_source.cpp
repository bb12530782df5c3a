#include "dsl/yaml_source.hpp"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>

#include <fmt/format.h>
#include <fstream>
#include <sstream>
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

// Walks the parser's events (aliases are not expanded here, so this is linear in the file's size):
// repeated keys of a map, more than one document, and the size the document would expand to.
class Checker final : public YAML::EventHandler {
public:
    Checker(const std::string& file, std::vector<Diagnostic>& out) : file_(file), out_(out) {}

    bool too_big() const { return too_big_; }

    void OnDocumentStart(const YAML::Mark& mark) override {
        if (++documents_ == 2)
            error(mark, "a second YAML document ('---'): an ntx file holds one document");
    }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
        remember(anchor, 1);
        child(1, mark, nullptr);
    }
    void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
        child(anchor < anchor_nodes_.size() ? anchor_nodes_[anchor] : 1, mark, nullptr);
    }
    void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor, const std::string& value) override {
        remember(anchor, 1);
        child(1, mark, &value);
    }
    void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                         YAML::EmitterStyle::value) override {
        stack_.push_back(Frame{false, true, anchor, 1, mark, {}});
    }
    void OnSequenceEnd() override { close(); }
    void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor, YAML::EmitterStyle::value) override {
        stack_.push_back(Frame{true, true, anchor, 1, mark, {}});
    }
    void OnMapEnd() override { close(); }

private:
    struct Frame {
        bool map;
        bool expect_key;
        YAML::anchor_t anchor;
        uint64_t nodes;  // this collection and everything in it, aliases expanded (saturating)
        YAML::Mark mark;
        std::unordered_map<std::string, YAML::Mark> keys;
    };

    static uint64_t add(uint64_t a, uint64_t b) { return a > kMaxYamlNodes || b > kMaxYamlNodes ? kMaxYamlNodes + 1 : a + b; }

    void error(const YAML::Mark& m, std::string message, std::string hint = {}) {
        out_.push_back({file_, m.is_null() ? 0 : m.line + 1, m.is_null() ? 0 : m.column + 1, std::move(message),
                        std::move(hint)});
    }
    void remember(YAML::anchor_t anchor, uint64_t nodes) {
        if (anchor == YAML::NullAnchor) return;
        if (anchor_nodes_.size() <= anchor) anchor_nodes_.resize(anchor + 1, 1);
        anchor_nodes_[anchor] = nodes;
    }
    void child(uint64_t nodes, const YAML::Mark& mark, const std::string* scalar) {
        if (stack_.empty()) return;
        Frame& f = stack_.back();
        f.nodes = add(f.nodes, nodes);
        if (f.nodes > kMaxYamlNodes && !too_big_) {
            too_big_ = true;
            error(mark, fmt::format("the document expands to more than {} nodes through its aliases", kMaxYamlNodes),
                  "an alias repeats what its anchor holds: nested aliases multiply it");
        }
        if (!f.map) return;
        if (f.expect_key && scalar) {
            auto [it, inserted] = f.keys.emplace(*scalar, mark);
            if (!inserted)
                error(mark,
                      fmt::format("duplicate key '{}' (first at line {}, column {})", *scalar, it->second.line + 1,
                                  it->second.column + 1),
                      "YAML keeps only one of the two: remove or rename one");
        }
        f.expect_key = !f.expect_key;
    }
    void close() {
        Frame f = std::move(stack_.back());
        stack_.pop_back();
        remember(f.anchor, f.nodes);
        child(f.nodes, f.mark, nullptr);
    }

    const std::string& file_;
    std::vector<Diagnostic>& out_;
    std::vector<Frame> stack_;
    std::vector<uint64_t> anchor_nodes_;
    int documents_ = 0;
    bool too_big_ = false;
};

}  // namespace

std::optional<YAML::Node> parse_yaml(const std::string& text, const std::string& file, std::vector<Diagnostic>& out) {
    if (auto fault = check_text(text)) {
        out.push_back({file, fault->line, fault->column, std::move(fault->what), {}});
        return std::nullopt;
    }
    try {
        std::istringstream in(text);
        YAML::Parser parser(in);
        Checker checker(file, out);
        while (parser.HandleNextDocument(checker)) {
        }
        if (checker.too_big()) return std::nullopt;
        return YAML::Load(text);
    } catch (const YAML::DeepRecursion& e) {
        out.push_back({file, e.mark.line + 1, e.mark.column + 1,
                       fmt::format("the document nests deeper than {} levels", e.depth() - 1), {}});
    } catch (const YAML::ParserException& e) {
        out.push_back({file, e.mark.is_null() ? 0 : e.mark.line + 1, e.mark.is_null() ? 0 : e.mark.column + 1, e.msg, {}});
    }
    return std::nullopt;
}

std::optional<YAML::Node> load_yaml_file(const std::filesystem::path& path, const std::string& file,
                                         std::vector<Diagnostic>& out) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    if (in) text << in.rdbuf();
    if (!in || in.bad()) {
        out.push_back({file, 0, 0, "cannot read the file", {}});
        return std::nullopt;
    }
    return parse_yaml(text.str(), file, out);
}

}  // namespace ntx::dsl
