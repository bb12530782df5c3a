#include "url.hpp"

#include <charconv>

namespace ntx::http {
namespace {

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

bool is_alnum(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// reg-name characters of RFC 3986 (unreserved, sub-delims, pct-encoded), minus the few that have no
// business in a host name we hand to a resolver.
bool is_host_char(char c) noexcept {
    return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '%';
}

bool is_ipv6_char(char c) noexcept {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.' ||
           c == '%' || is_alnum(c);  // '%' and alnum: zone ids (fe80::1%eth0)
}

// Printable ASCII without space: what may appear verbatim in a request-target.
bool is_target_char(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f;
}

Error invalid(std::string_view text, std::string_view why) {
    return Error{NTX_E_INVALID, "invalid url \"" + std::string(text) + "\": " + std::string(why)};
}

}  // namespace

Error parse_url(std::string_view text, Url &out) {
    const std::size_t sep = text.find("://");
    if (sep == std::string_view::npos) return invalid(text, "expected http://host[:port]/path");
    const std::string_view scheme = text.substr(0, sep);
    const bool tls = iequals(scheme, "https");
    if (!tls && !iequals(scheme, "http")) return invalid(text, "unsupported scheme '" + std::string(scheme) + "'");
    const std::uint16_t default_port = tls ? 443 : 80;

    const std::string_view rest = text.substr(sep + 3);
    const std::size_t auth_end = rest.find_first_of("/?#");
    const std::string_view authority = rest.substr(0, auth_end);
    std::string_view path_query = auth_end == std::string_view::npos ? std::string_view{} : rest.substr(auth_end);

    if (authority.find('@') != std::string_view::npos) {
        return invalid(text, "credentials in the URL are not supported (set headers.Authorization)");
    }

    std::string_view host;
    std::uint16_t port_number = default_port;
    std::string_view port;
    bool ipv6 = false;
    if (!authority.empty() && authority.front() == '[') {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos) return invalid(text, "unterminated IPv6 address");
        host = authority.substr(1, close - 1);
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return invalid(text, "unexpected characters after the IPv6 address");
            port = after.substr(1);
        }
        for (char c : host) {
            if (!is_ipv6_char(c)) return invalid(text, "bad character in the IPv6 address");
        }
        ipv6 = true;
    } else {
        const std::size_t colon = authority.find(':');
        host = authority.substr(0, colon);
        if (colon != std::string_view::npos) port = authority.substr(colon + 1);
        for (char c : host) {
            if (!is_host_char(c)) return invalid(text, "bad character in the host name");
        }
    }
    if (host.empty()) return invalid(text, "missing host");

    if (!port.empty()) {
        unsigned value = 0;
        const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) {
            return invalid(text, "bad port");
        }
        port_number = static_cast<std::uint16_t>(value);
    }

    if (const std::size_t hash = path_query.find('#'); hash != std::string_view::npos) {
        path_query = path_query.substr(0, hash);
    }
    for (char c : path_query) {
        if (!is_target_char(c)) return invalid(text, "path and query must be percent-encoded (space or control character found)");
    }

    // Everything checked: write into `out`, whose strings keep their capacity.
    out.tls = tls;
    out.host.assign(host);
    out.port = port_number;
    out.host_header.clear();
    if (ipv6) {
        out.host_header.append("[").append(host).append("]");
    } else {
        out.host_header.append(host);
    }
    if (port_number != default_port) {
        char digits[8];
        const auto r = std::to_chars(digits, digits + sizeof digits, port_number);
        out.host_header.append(":").append(digits, static_cast<std::size_t>(r.ptr - digits));
    }
    out.target.clear();
    if (path_query.empty() || path_query.front() != '/') out.target.push_back('/');
    out.target.append(path_query);
    return {};
}

void Url::write_to(std::string &out) const {
    out.assign(tls ? "https://" : "http://").append(host_header).append(target);
}

Error resolve_location(const Url &base, std::string_view location, Url &out) {
    // Surrounding whitespace is not part of the value; anything else unprintable is refused below.
    while (!location.empty() && (location.front() == ' ' || location.front() == '\t')) location.remove_prefix(1);
    while (!location.empty() && (location.back() == ' ' || location.back() == '\t')) location.remove_suffix(1);
    if (location.empty()) return Error{NTX_E_PROTOCOL, "http: redirect without a Location"};

    // An absolute URL has a scheme: letters, digits, + - . before the first ':' (and before any / ? #).
    const std::size_t colon = location.find(':');
    const std::size_t delim = location.find_first_of("/?#");
    if (colon != std::string_view::npos && (delim == std::string_view::npos || colon < delim) && colon > 0) {
        Error e = parse_url(location, out);
        if (e) e.code = NTX_E_PROTOCOL;
        return e;
    }
    std::string text = base.tls ? "https:" : "http:";
    if (location.starts_with("//")) {
        text.append(location);
    } else {
        text.append("//").append(base.host_header);
        if (location.front() == '/') {
            text.append(location);
        } else {
            const std::string_view path = std::string_view(base.target).substr(0, base.target.find('?'));
            if (location.front() == '?') {
                text.append(path);  // same path, new query
            } else if (location.front() == '#') {
                text.append(base.target);  // a fragment only: the same resource
            } else {
                text.append(path.substr(0, path.rfind('/') + 1));  // the base's directory
            }
            text.append(location);
        }
    }
    Error e = parse_url(text, out);
    if (e) e.code = NTX_E_PROTOCOL;
    return e;
}

}  // namespace ntx::http
