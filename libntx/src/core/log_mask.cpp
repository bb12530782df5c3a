#include "core/log_mask.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>

namespace ntx::core {

namespace {

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

bool name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; }

}  // namespace

Masker::Masker(std::vector<std::string> names) {
    for (auto& n : names) {
        std::transform(n.begin(), n.end(), n.begin(), lower);
        if (!n.empty()) names_.push_back(std::move(n));
    }
}

bool Masker::masks(std::string_view name) const {
    std::string low(name);
    std::transform(low.begin(), low.end(), low.begin(), lower);
    return std::any_of(names_.begin(), names_.end(), [&](const std::string& n) { return low.find(n) != std::string::npos; });
}

std::string Masker::mask(std::string_view text) const {
    // No separator, nothing to mask: the common case of a plain value costs one scan.
    if (names_.empty() || text.find_first_of("=:") == std::string_view::npos) return std::string(text);
    std::string low(text);
    std::transform(low.begin(), low.end(), low.begin(), lower);
    std::string out;
    size_t copied = 0;
    for (size_t i = 0; i < text.size();) {
        // A name token: a run of name characters containing a masked name.
        if (!name_char(text[i])) {
            ++i;
            continue;
        }
        size_t end = i;
        while (end < text.size() && name_char(text[end])) ++end;
        std::string_view token(low.data() + i, end - i);
        bool masked = std::any_of(names_.begin(), names_.end(), [&](const std::string& n) {
            return token.find(n) != std::string_view::npos;
        });
        size_t p = end;
        if (masked) {
            if (p < text.size() && (text[p] == '"' || text[p] == '\'')) ++p;  // "name": ...
            while (p < text.size() && text[p] == ' ') ++p;
            char sep = p < text.size() ? text[p] : '\0';
            // `cookie session=abc`: a masked name, then a pair of its own: that pair's value is masked.
            if (sep != '=' && sep != ':' && p > end && p < text.size() && name_char(text[p])) {
                size_t k = p;
                while (k < text.size() && name_char(text[k])) ++k;
                if (k < text.size() && text[k] == '=') {
                    p = k;
                    sep = '=';
                }
            }
            if (sep == '=' || sep == ':') {
                ++p;
                while (p < text.size() && text[p] == ' ') ++p;
                size_t v = p, v_end = p;
                if (p < text.size() && (text[p] == '"' || text[p] == '\'')) {
                    char q = text[p];
                    v = p + 1;
                    v_end = text.find(q, v);
                    if (v_end == std::string_view::npos) v_end = text.size();
                } else {
                    // A Cookie header's pairs are one value: `; b=2` must not leak past the first.
                    const bool cookie = token.find("cookie") != std::string_view::npos;
                    const char* stops = sep == '=' ? " \t\r\n,;&}" : cookie ? "\r\n}" : "\r\n,;&}";
                    v_end = text.find_first_of(stops, v);
                    if (v_end == std::string_view::npos) v_end = text.size();
                    // `authorization=Bearer S3CRET`: a scheme word and its credentials are one value.
                    // The next token joins unless it is a name of its own (followed by = or :).
                    if (sep == '=' && v_end < text.size() && text[v_end] == ' ' && v_end > v &&
                        std::all_of(text.begin() + static_cast<std::ptrdiff_t>(v), text.begin() + static_cast<std::ptrdiff_t>(v_end),
                                    [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; })) {
                        size_t t = v_end + 1;
                        size_t t_end = text.find_first_of(stops, t);
                        if (t_end == std::string_view::npos) t_end = text.size();
                        const bool a_name = text.substr(t, t_end - t).find_first_of("=:") != std::string_view::npos;
                        if (t_end > t && !a_name) v_end = t_end;
                    }
                }
                if (v_end > v) {
                    out.append(text.substr(copied, v - copied));
                    out += "***";
                    copied = v_end;
                }
                i = std::max(v_end, end);
                continue;
            }
        }
        i = end;
    }
    out.append(text.substr(copied));
    return out;
}

namespace {

class MaskingSink final : public spdlog::sinks::sink {
public:
    MaskingSink(std::shared_ptr<spdlog::sinks::sink> inner, Masker masker)
        : inner_(std::move(inner)), masker_(std::move(masker)) {}

    void log(const spdlog::details::log_msg& msg) override {
        std::string masked = masker_.mask(std::string_view(msg.payload.data(), msg.payload.size()));
        spdlog::details::log_msg copy = msg;
        copy.payload = spdlog::string_view_t(masked.data(), masked.size());
        inner_->log(copy);
    }
    void flush() override { inner_->flush(); }
    void set_pattern(const std::string& pattern) override { inner_->set_pattern(pattern); }
    void set_formatter(std::unique_ptr<spdlog::formatter> f) override { inner_->set_formatter(std::move(f)); }

private:
    std::shared_ptr<spdlog::sinks::sink> inner_;
    Masker masker_;
};

}  // namespace

std::shared_ptr<spdlog::sinks::sink> masking_sink(std::shared_ptr<spdlog::sinks::sink> inner, Masker masker) {
    return std::make_shared<MaskingSink>(std::move(inner), std::move(masker));
}

}  // namespace ntx::core
