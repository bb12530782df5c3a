#include "ftp_url.hpp"

#include <charconv>

namespace ntx::ftp {
namespace {

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool istarts_with(std::string_view s, std::string_view prefix) noexcept {
    if (s.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        if (lower(s[i]) != prefix[i]) return false;
    }
    return true;
}

int hex(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

Error invalid(std::string what) { return Error{NTX_E_INVALID, "ftp: " + std::move(what)}; }

}  // namespace

std::string Url::directory_text() const {
    if (is_directory()) return path.empty() ? text + "/" : text;
    return text + "/";
}

Error parse_url(std::string_view text, Url &out) {
    constexpr std::string_view kScheme = "ftp://";
    if (!istarts_with(text, kScheme)) {
        if (istarts_with(text, "ftps://") || istarts_with(text, "sftp://")) {
            return Error{NTX_E_UNSUPPORTED, "ftp: only ftp:// URLs are supported (no ftps or sftp)"};
        }
        return invalid("url must start with ftp://");
    }
    for (char c : text) {
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
            return invalid("url contains a space or a control character (percent-encode it)");
        }
    }
    if (text.find('#') != std::string_view::npos) return invalid("url must not have a fragment ('#')");

    const std::string_view rest = text.substr(kScheme.size());
    const std::size_t slash = rest.find('/');
    const std::string_view authority = rest.substr(0, slash);
    const std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    if (authority.find('@') != std::string_view::npos) {
        return invalid("url must not carry user info (\"user:password@\"); use the user and password params");
    }
    if (authority.empty()) return invalid("url has no host");

    Url url;
    std::string_view host;
    std::string_view port;
    if (authority.front() == '[') {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos) return invalid("url has an unclosed '[' in its host");
        host = authority.substr(1, close - 1);
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return invalid("url has garbage after its IPv6 host");
            port = after.substr(1);
            if (port.empty()) return invalid("url has an empty port");
        }
    } else {
        const std::size_t colon = authority.find(':');
        host = authority.substr(0, colon);
        if (colon != std::string_view::npos) {
            port = authority.substr(colon + 1);
            if (port.empty()) return invalid("url has an empty port");
        }
    }
    if (host.empty()) return invalid("url has no host");
    if (!port.empty()) {
        unsigned value = 0;
        const auto r = std::from_chars(port.data(), port.data() + port.size(), value);
        if (r.ec != std::errc{} || r.ptr != port.data() + port.size() || value == 0 || value > 65535) {
            return invalid("url port must be a number in 1..65535");
        }
        url.port = static_cast<std::uint16_t>(value);
    }
    url.host.assign(host);
    url.path.assign(path);
    url.text.assign(kScheme).append(rest);
    out = std::move(url);
    return {};
}

Error file_name(const Url &url, std::string &out) {
    if (url.is_directory()) return invalid("url must name a file (it ends in '/' or has no path)");
    const std::string_view path = url.path;
    const std::string_view segment = path.substr(path.rfind('/') + 1);
    std::string name;
    name.reserve(segment.size());
    for (std::size_t i = 0; i < segment.size(); ++i) {
        char c = segment[i];
        if (c == '%') {
            if (i + 2 >= segment.size()) return invalid("url has a bad percent-escape");
            const int hi = hex(segment[i + 1]);
            const int lo = hex(segment[i + 2]);
            if (hi < 0 || lo < 0) return invalid("url has a bad percent-escape");
            c = static_cast<char>(hi * 16 + lo);
            i += 2;
        }
        if (c == '\r' || c == '\n' || c == '\0') return invalid("url's file name decodes to CR, LF or NUL");
        name.push_back(c);
    }
    if (name.empty()) return invalid("url must name a file");
    out = std::move(name);
    return {};
}

std::string mask(std::string_view text, std::string_view secret) {
    if (secret.empty()) return std::string(text);
    std::string out;
    out.reserve(text.size());
    std::size_t pos = 0;
    for (;;) {
        const std::size_t hit = text.find(secret, pos);
        if (hit == std::string_view::npos) break;
        out.append(text.substr(pos, hit - pos)).append("***");
        pos = hit + secret.size();
    }
    out.append(text.substr(pos));
    return out;
}

}  // namespace ntx::ftp
