// One user's cookie jar (RFC 6265): Set-Cookie parsing, domain and path matching, expiry, the Cookie
// header of a request.
//
// Bounded: at most `max_cookies` cookies and `max_bytes` bytes (names, values, domains and paths) per
// jar; a cookie over `max_cookie_bytes` is refused, and a jar over its caps drops its oldest cookies.
// Every refusal and drop is counted in JarStats, never an error of the action: a browser ignores a
// bad Set-Cookie too. Slots are reused, so a jar that sees the same cookies again allocates nothing.
#pragma once

#include "url.hpp"

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace ntx::http {

struct CookieLimits {
    std::uint32_t max_cookies = 50;         // per jar (RFC 6265 6.1 asks for at least 50 per domain)
    std::uint32_t max_cookie_bytes = 4096;  // name + value + attributes of one Set-Cookie
    std::uint32_t max_bytes = 16384;        // all of a jar's names, values, domains and paths
};

// What a jar refused or dropped (added up per plugin, logged when the plugin is released).
struct JarStats {
    std::uint64_t malformed = 0;     // no name=value, an empty name, bad characters
    std::uint64_t foreign = 0;       // Domain= that the request's host does not domain-match
    std::uint64_t oversized = 0;     // over max_cookie_bytes
    std::uint64_t evicted = 0;       // dropped to stay within max_cookies / max_bytes
};

enum class SameSite : std::uint8_t { unset, strict, lax, none };

struct Cookie {
    std::string name;
    std::string value;
    std::string domain;   // lowercase, no leading dot
    std::string path;
    std::int64_t expires = -1;  // Unix seconds; -1: a session cookie (lives as long as the jar)
    std::uint64_t created = 0;  // creation order (replacing a cookie keeps it)
    bool host_only = true;
    bool secure = false;
    bool http_only = false;
    SameSite same_site = SameSite::unset;
};

// Why set_cookie refused a header; `none` when it was stored (or deleted an old one, as asked).
enum class CookieRefusal { none, malformed, foreign, oversized };

class CookieJar {
public:
    explicit CookieJar(const CookieLimits &limits) noexcept : limits_(limits) {}

    bool empty() const noexcept { return used_ == 0; }
    std::size_t size() const noexcept { return used_; }
    const Cookie &at(std::size_t i) const noexcept { return cookies_[i]; }
    void clear() noexcept;

    // A Set-Cookie header received in answer to a request for `url`, at wall-clock time `now`.
    CookieRefusal set_cookie(std::string_view header, const Url &url, std::int64_t now, JarStats &stats);
    // A cookie the script sets (`cookies: {name: value}`): host-only for `url`'s host, path "/", a
    // session cookie. Setting the value it already has changes nothing.
    void put(std::string_view name, std::string_view value, const Url &url, JarStats &stats);

    // "name=value; name2=value2" of the cookies `url` gets (RFC 6265 5.4: longer paths first, then
    // older ones), appended to `out`; returns false (and appends nothing) when none applies.
    bool cookie_header(const Url &url, std::int64_t now, std::string &out) const;
    // Whether cookie `i` would be sent to `url`.
    bool applies(std::size_t i, const Url &url, std::int64_t now) const noexcept;

    // Name and value checks shared with the parameter checks (cookie-name is a token; cookie-value
    // has no CTL, whitespace, DQUOTE, comma, semicolon or backslash).
    static bool valid_name(std::string_view name) noexcept;
    static bool valid_value(std::string_view value) noexcept;

private:
    Cookie &slot_for(std::string_view name, std::string_view domain, std::string_view path, bool &existed);
    void remove(std::size_t i) noexcept;
    void enforce_caps(std::int64_t now, JarStats &stats) noexcept;
    std::size_t bytes() const noexcept;

    CookieLimits limits_;
    std::vector<Cookie> cookies_;  // [0, used_) are live; the rest are spare slots (capacity kept)
    std::size_t used_ = 0;
    std::uint64_t next_created_ = 1;
    mutable std::vector<std::uint32_t> order_;  // cookie_header's sort scratch
};

// RFC 6265 5.1.1: a cookie-date to Unix seconds; false when it is not one.
bool parse_cookie_date(std::string_view text, std::int64_t &out) noexcept;
// The request path of a target ("/a/b?q" -> "/a/b").
std::string_view request_path(std::string_view target) noexcept;

}  // namespace ntx::http
