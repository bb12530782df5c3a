#include "config.hpp"

// Boost.JSON, header-only: its definitions are compiled into this translation unit only.
#include <boost/json/src.hpp>

#include <limits>

namespace ntx::http {
namespace {

// Reads a non-negative integer no larger than `max` from `v`.
bool read_uint(const boost::json::value &v, std::uint64_t max, std::uint64_t &out) {
    if (v.is_uint64()) {
        out = v.get_uint64();
    } else if (v.is_int64()) {
        if (v.get_int64() < 0) return false;
        out = static_cast<std::uint64_t>(v.get_int64());
    } else if (v.is_double()) {
        const double d = v.get_double();
        if (!(d >= 0.0) || !(d < 18446744073709551616.0)) return false;  // also rejects NaN
        out = static_cast<std::uint64_t>(d);
        if (static_cast<double>(out) != d) return false;  // not integral
    } else {
        return false;
    }
    return out <= max;
}

Error bad(std::string_view key, std::string_view what) {
    return Error{NTX_E_INVALID, "http config: \"" + std::string(key) + "\" " + std::string(what)};
}

}  // namespace

Error parse_config(std::string_view json, Config &out) {
    if (json.find_first_not_of(" \t\r\n") == std::string_view::npos) return {};

    boost::system::error_code ec;
    boost::json::value root = boost::json::parse(boost::json::string_view(json.data(), json.size()), ec);
    if (ec) return Error{NTX_E_INVALID, "http config: invalid JSON: " + ec.message()};
    if (root.is_null()) return {};
    const boost::json::object *obj = root.if_object();
    if (!obj) return Error{NTX_E_INVALID, "http config: expected a JSON object"};

    Config cfg = out;
    std::uint64_t n = 0;
    if (const auto *v = obj->if_contains("max-header-bytes")) {
        if (!read_uint(*v, std::numeric_limits<std::uint32_t>::max(), n) || n == 0) {
            return bad("max-header-bytes", "must be an integer in 1..4294967295");
        }
        cfg.max_header_bytes = static_cast<std::uint32_t>(n);
    }
    if (const auto *v = obj->if_contains("max-body-bytes")) {
        if (!read_uint(*v, std::numeric_limits<std::uint64_t>::max(), n)) {
            return bad("max-body-bytes", "must be a non-negative integer");
        }
        cfg.max_body_bytes = n;
    }
    if (const auto *v = obj->if_contains("connect-timeout-ms")) {
        if (!read_uint(*v, std::numeric_limits<std::uint32_t>::max(), n)) {
            return bad("connect-timeout-ms", "must be an integer in 0..4294967295");
        }
        cfg.connect_timeout_ms = static_cast<std::uint32_t>(n);
    }
    if (const auto *v = obj->if_contains("user-agent")) {
        const boost::json::string *s = v->if_string();
        if (!s) return bad("user-agent", "must be a string");
        for (char c : *s) {
            if (c == '\r' || c == '\n' || c == '\0') return bad("user-agent", "must not contain CR, LF or NUL");
        }
        cfg.user_agent.assign(s->data(), s->size());
    }
    out = std::move(cfg);
    return {};
}

}  // namespace ntx::http
