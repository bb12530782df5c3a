#include "cookie_jar.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

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

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool is_ip(std::string_view host) noexcept {
    if (host.find(':') != std::string_view::npos) return true;  // IPv6 (the Url keeps it without brackets)
    if (host.empty()) return false;
    for (char c : host) {
        if (!((c >= '0' && c <= '9') || c == '.')) return false;
    }
    return true;
}

// RFC 6265 5.1.3; `domain` is lowercase already.
bool domain_match(std::string_view host, std::string_view domain) noexcept {
    if (host.size() == domain.size()) return iequals(host, domain);
    if (host.size() < domain.size() + 1 || is_ip(host)) return false;
    return host[host.size() - domain.size() - 1] == '.' && iequals(host.substr(host.size() - domain.size()), domain);
}

// RFC 6265 5.1.4.
bool path_match(std::string_view request, std::string_view cookie) noexcept {
    if (!request.starts_with(cookie)) return false;
    return request.size() == cookie.size() || cookie.back() == '/' || request[cookie.size()] == '/';
}

std::string_view default_path(std::string_view target) noexcept {
    const std::string_view path = request_path(target);
    if (path.empty() || path.front() != '/') return "/";
    const std::size_t last = path.rfind('/');
    return last == 0 ? std::string_view("/") : path.substr(0, last);
}

bool is_delimiter(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    return u == 0x09 || (u >= 0x20 && u <= 0x2F) || (u >= 0x3B && u <= 0x40) || (u >= 0x5B && u <= 0x60) ||
           (u >= 0x7B && u <= 0x7E);
}

bool digits(std::string_view s, std::size_t min, std::size_t max, int &out) noexcept {
    std::size_t n = 0;
    while (n < s.size() && s[n] >= '0' && s[n] <= '9') ++n;
    if (n < min || n > max) return false;
    out = 0;
    for (std::size_t i = 0; i < n; ++i) out = out * 10 + (s[i] - '0');
    return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

}  // namespace

std::string_view request_path(std::string_view target) noexcept {
    const std::size_t q = target.find('?');
    return q == std::string_view::npos ? target : target.substr(0, q);
}

bool parse_cookie_date(std::string_view text, std::int64_t &out) noexcept {
    static constexpr std::string_view kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                                   "jul", "aug", "sep", "oct", "nov", "dec"};
    bool have_time = false, have_day = false, have_month = false, have_year = false;
    int hour = 0, minute = 0, second = 0, day = 0, month = 0, year = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && is_delimiter(text[i])) ++i;
        std::size_t end = i;
        while (end < text.size() && !is_delimiter(text[end])) ++end;
        const std::string_view token = text.substr(i, end - i);
        i = end;
        if (token.empty()) continue;
        int a = 0, b = 0, c = 0;
        if (!have_time) {
            const std::size_t c1 = token.find(':');
            const std::size_t c2 = c1 == std::string_view::npos ? c1 : token.find(':', c1 + 1);
            if (c2 != std::string_view::npos && digits(token, 1, 2, a) && c1 <= 2 &&
                digits(token.substr(c1 + 1), 1, 2, b) && c2 - c1 - 1 <= 2 && digits(token.substr(c2 + 1), 1, 2, c)) {
                have_time = true;
                hour = a, minute = b, second = c;
                continue;
            }
        }
        if (!have_day && digits(token, 1, 2, a)) {
            have_day = true;
            day = a;
            continue;
        }
        if (!have_month && token.size() >= 3) {
            bool found = false;
            for (int m = 0; m < 12; ++m) {
                if (iequals(token.substr(0, 3), kMonths[m])) {
                    month = m + 1;
                    found = true;
                    break;
                }
            }
            if (found) {
                have_month = true;
                continue;
            }
        }
        if (!have_year && digits(token, 2, 4, a)) {
            have_year = true;
            year = a;
            continue;
        }
    }
    if (!have_time || !have_day || !have_month || !have_year) return false;
    if (year >= 70 && year <= 99) year += 1900;
    if (year >= 0 && year <= 69) year += 2000;
    if (day < 1 || day > 31 || year < 1601 || hour > 23 || minute > 59 || second > 59) return false;
    out = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 + hour * 3600 +
          minute * 60 + second;
    return true;
}

bool CookieJar::valid_name(std::string_view name) noexcept {
    if (name.empty()) return false;
    for (char c : name) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7F) return false;
        switch (c) {
        case '(': case ')': case '<': case '>': case '@': case ',': case ';': case ':': case '\\': case '"':
        case '/': case '[': case ']': case '?': case '=': case '{': case '}':
            return false;
        default:
            break;
        }
    }
    return true;
}

bool CookieJar::valid_value(std::string_view value) noexcept {
    // A value wrapped in DQUOTEs is one too (RFC 6265 4.1.1); the quotes are part of it.
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    for (char c : value) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7F || c == '"' || c == ',' || c == ';' || c == '\\') return false;
    }
    return true;
}

void CookieJar::clear() noexcept { used_ = 0; }

std::size_t CookieJar::bytes() const noexcept {
    std::size_t n = 0;
    for (std::size_t i = 0; i < used_; ++i) {
        const Cookie &c = cookies_[i];
        n += c.name.size() + c.value.size() + c.domain.size() + c.path.size();
    }
    return n;
}

void CookieJar::remove(std::size_t i) noexcept {
    // Keep the order of the rest (creation order is kept in `created` anyway); the removed slot's
    // strings move to the spare end, so their capacity is reused.
    for (std::size_t j = i; j + 1 < used_; ++j) std::swap(cookies_[j], cookies_[j + 1]);
    --used_;
}

Cookie &CookieJar::slot_for(std::string_view name, std::string_view domain, std::string_view path, bool &existed) {
    for (std::size_t i = 0; i < used_; ++i) {
        Cookie &c = cookies_[i];
        if (c.name == name && c.domain == domain && c.path == path) {
            existed = true;
            return c;
        }
    }
    existed = false;
    if (used_ == cookies_.size()) cookies_.emplace_back();
    Cookie &c = cookies_[used_++];
    c.name.assign(name);
    c.domain.assign(domain);
    c.path.assign(path);
    c.created = next_created_++;
    return c;
}

void CookieJar::enforce_caps(std::int64_t now, JarStats &stats) noexcept {
    // Expired cookies go first, silently (they are gone anyway); then the oldest, counted.
    for (std::size_t i = 0; i < used_;) {
        if (cookies_[i].expires >= 0 && cookies_[i].expires <= now) {
            remove(i);
        } else {
            ++i;
        }
    }
    while (used_ > 0 && (used_ > limits_.max_cookies || bytes() > limits_.max_bytes)) {
        std::size_t oldest = 0;
        for (std::size_t i = 1; i < used_; ++i) {
            if (cookies_[i].created < cookies_[oldest].created) oldest = i;
        }
        remove(oldest);
        ++stats.evicted;
    }
}

CookieRefusal CookieJar::set_cookie(std::string_view header, const Url &url, std::int64_t now, JarStats &stats) {
    if (header.size() > limits_.max_cookie_bytes) {
        ++stats.oversized;
        return CookieRefusal::oversized;
    }
    // RFC 6265 5.2: the name-value-pair up to the first ';', then attributes.
    const std::size_t semi = header.find(';');
    const std::string_view pair = header.substr(0, semi);
    const std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos) {
        ++stats.malformed;
        return CookieRefusal::malformed;
    }
    const std::string_view name = trim(pair.substr(0, eq));
    const std::string_view value = trim(pair.substr(eq + 1));
    if (!valid_name(name) || !valid_value(value)) {
        ++stats.malformed;
        return CookieRefusal::malformed;
    }

    std::int64_t expires = -1;
    bool have_max_age = false;
    std::string_view domain_attr, path_attr;
    bool secure = false, http_only = false;
    SameSite same_site = SameSite::unset;
    std::string_view rest = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
    while (!rest.empty()) {
        const std::size_t next = rest.find(';');
        const std::string_view av = rest.substr(0, next);
        rest = next == std::string_view::npos ? std::string_view{} : rest.substr(next + 1);
        const std::size_t aeq = av.find('=');
        const std::string_view key = trim(av.substr(0, aeq));
        const std::string_view val = aeq == std::string_view::npos ? std::string_view{} : trim(av.substr(aeq + 1));
        if (iequals(key, "expires")) {
            std::int64_t t = 0;
            if (!have_max_age && parse_cookie_date(val, t)) expires = t;  // an unparsable date is ignored (5.2.1)
        } else if (iequals(key, "max-age")) {
            // RFC 6265 5.2.2: an optional '-' and digits, else the attribute is ignored; <= 0 expires now.
            const bool negative = !val.empty() && val.front() == '-';
            const std::string_view num = negative ? val.substr(1) : val;
            std::int64_t n = 0;
            const auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), n);
            const bool all_digits = !num.empty() && end == num.data() + num.size() &&
                                    std::all_of(num.begin(), num.end(), [](char c) { return c >= '0' && c <= '9'; });
            if (!all_digits) continue;
            have_max_age = true;
            if (ec == std::errc::result_out_of_range) n = std::numeric_limits<std::int64_t>::max() / 2;
            if (negative || n == 0) {
                expires = 0;  // the earliest time: deletes the cookie
            } else {
                expires = n > std::numeric_limits<std::int64_t>::max() / 2 - now ? std::numeric_limits<std::int64_t>::max() / 2
                                                                                  : now + n;
            }
        } else if (iequals(key, "domain")) {
            domain_attr = val;
            if (!domain_attr.empty() && domain_attr.front() == '.') domain_attr.remove_prefix(1);
        } else if (iequals(key, "path")) {
            path_attr = val;
        } else if (iequals(key, "secure")) {
            secure = true;
        } else if (iequals(key, "httponly")) {
            http_only = true;
        } else if (iequals(key, "samesite")) {
            same_site = iequals(val, "strict") ? SameSite::strict
                        : iequals(val, "lax")  ? SameSite::lax
                        : iequals(val, "none") ? SameSite::none
                                               : SameSite::unset;
        }
    }

    // Domain: a cookie for another site is refused; one for a single label other than the host
    // itself (a top-level domain, "com") too, as a public suffix would be.
    char domain_buf[256];
    std::string_view domain;
    bool host_only = true;
    if (!domain_attr.empty()) {
        if (domain_attr.size() > sizeof domain_buf) {
            ++stats.foreign;
            return CookieRefusal::foreign;
        }
        for (std::size_t i = 0; i < domain_attr.size(); ++i) domain_buf[i] = lower(domain_attr[i]);
        domain = std::string_view(domain_buf, domain_attr.size());
        const bool single_label = domain.find('.') == std::string_view::npos;
        if (!domain_match(url.host, domain) || (single_label && !iequals(domain, url.host))) {
            ++stats.foreign;
            return CookieRefusal::foreign;
        }
        host_only = false;  // RFC 6265 5.3 step 6: a Domain attribute, even the host's own, covers subdomains
    }
    if (host_only) {
        if (url.host.size() > sizeof domain_buf) {
            ++stats.foreign;
            return CookieRefusal::foreign;
        }
        for (std::size_t i = 0; i < url.host.size(); ++i) domain_buf[i] = lower(url.host[i]);
        domain = std::string_view(domain_buf, url.host.size());
    }
    const std::string_view path = (path_attr.empty() || path_attr.front() != '/') ? default_path(url.target) : path_attr;

    bool existed = false;
    if (expires >= 0 && expires <= now) {
        // Expired on arrival: it deletes the cookie of that name, domain and path (how servers log out).
        for (std::size_t i = 0; i < used_; ++i) {
            const Cookie &c = cookies_[i];
            if (c.name == name && c.domain == domain && c.path == path) {
                remove(i);
                break;
            }
        }
        return CookieRefusal::none;
    }
    Cookie &c = slot_for(name, domain, path, existed);
    c.value.assign(value);
    c.expires = expires;
    c.host_only = host_only;
    c.secure = secure;
    c.http_only = http_only;
    c.same_site = same_site;
    enforce_caps(now, stats);
    return CookieRefusal::none;
}

void CookieJar::put(std::string_view name, std::string_view value, const Url &url, JarStats &stats) {
    char domain_buf[256];
    if (url.host.size() > sizeof domain_buf) return;
    for (std::size_t i = 0; i < url.host.size(); ++i) domain_buf[i] = lower(url.host[i]);
    bool existed = false;
    Cookie &c = slot_for(name, std::string_view(domain_buf, url.host.size()), "/", existed);
    if (existed && c.value == value) return;
    c.value.assign(value);
    c.expires = -1;
    c.host_only = true;
    c.secure = false;
    c.http_only = false;
    c.same_site = SameSite::unset;
    enforce_caps(std::numeric_limits<std::int64_t>::min(), stats);
}

bool CookieJar::applies(std::size_t i, const Url &url, std::int64_t now) const noexcept {
    const Cookie &c = cookies_[i];
    if (c.expires >= 0 && c.expires <= now) return false;
    if (c.secure && !url.tls) return false;
    if (c.host_only ? !iequals(url.host, c.domain) : !domain_match(url.host, c.domain)) return false;
    return path_match(request_path(url.target), c.path);
}

bool CookieJar::cookie_header(const Url &url, std::int64_t now, std::string &out) const {
    order_.clear();
    for (std::size_t i = 0; i < used_; ++i) {
        if (applies(i, url, now)) order_.push_back(static_cast<std::uint32_t>(i));
    }
    if (order_.empty()) return false;
    std::sort(order_.begin(), order_.end(), [this](std::uint32_t a, std::uint32_t b) {
        const Cookie &x = cookies_[a], &y = cookies_[b];
        if (x.path.size() != y.path.size()) return x.path.size() > y.path.size();
        return x.created < y.created;
    });
    bool first = true;
    for (const std::uint32_t i : order_) {
        if (!first) out.append("; ");
        first = false;
        out.append(cookies_[i].name).append("=").append(cookies_[i].value);
    }
    return true;
}

}  // namespace ntx::http
