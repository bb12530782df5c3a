#include "auth.hpp"

#include <boost/json.hpp>

#include <cstdint>
#include <random>
#include <cctype>

namespace ntx_target {
namespace {

std::uint64_t secret() {
    static const std::uint64_t s = [] {
        std::random_device rd;
        return (std::uint64_t(rd()) << 32) ^ rd();
    }();
    return s;
}

// FNV-1a over the secret and the user: enough to tell an issued token from a made-up one.
std::uint64_t mac(std::string_view user) {
    std::uint64_t h = 1469598103934665603ULL ^ secret();
    for (unsigned char c : user) {
        h ^= c;
        h *= 1099511628211ULL;
    }
    return h;
}

constexpr char hex_digits[] = "0123456789abcdef";

std::optional<std::string> from_hex(std::string_view s) {
    if (s.size() % 2) return std::nullopt;
    std::string out;
    out.reserve(s.size() / 2);
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    for (std::size_t i = 0; i < s.size(); i += 2) {
        int hi = nibble(s[i]), lo = nibble(s[i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += char(hi * 16 + lo);
    }
    return out;
}

std::string hex(std::uint64_t v) {
    std::string out(16, '0');
    for (int i = 15; i >= 0; --i, v >>= 4) out[std::size_t(i)] = hex_digits[v & 15];
    return out;
}

}  // namespace

std::optional<std::string> login_user(std::string_view json_body, std::string& error) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(json_body, ec);
    if (ec || !v.is_object()) {
        error = "expected a JSON object {\"user\": ..., \"password\": ...}";
        return std::nullopt;
    }
    const auto& o = v.as_object();
    const auto* user = o.if_contains("user");
    const auto* password = o.if_contains("password");
    if (!user || !user->is_string() || user->as_string().empty()) {
        error = "\"user\" must be a non-empty string";
        return std::nullopt;
    }
    if (!password || !password->is_string() || password->as_string().empty()) {
        error = "\"password\" must be a non-empty string";
        return std::nullopt;
    }
    return std::string(user->as_string());
}

std::string issue_token(std::string_view user) {
    std::string out;
    out.reserve(user.size() * 2 + 17);
    for (unsigned char c : user) {
        out += hex_digits[c >> 4];
        out += hex_digits[c & 15];
    }
    out += '.';
    out += hex(mac(user));
    return out;
}

std::optional<std::string> bearer_user(std::string_view authorization) {
    constexpr std::string_view scheme = "Bearer ";
    if (authorization.size() <= scheme.size()) return std::nullopt;
    for (std::size_t i = 0; i < scheme.size(); ++i)  // the scheme is case-insensitive (RFC 7235)
        if (std::tolower(static_cast<unsigned char>(authorization[i])) != std::tolower(static_cast<unsigned char>(scheme[i])))
            return std::nullopt;
    std::string_view token = authorization.substr(scheme.size());
    const auto dot = token.rfind('.');
    if (dot == std::string_view::npos) return std::nullopt;
    auto user = from_hex(token.substr(0, dot));
    if (!user || user->empty() || token.substr(dot + 1) != hex(mac(*user))) return std::nullopt;
    return user;
}

std::string json_string(std::string_view s) { return boost::json::serialize(boost::json::string(s)); }

}  // namespace ntx_target
