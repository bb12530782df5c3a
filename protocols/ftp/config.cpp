#include "config.hpp"

// Boost.JSON, header-only: its definitions are compiled into this translation unit only.
#include <boost/json/src.hpp>

#include <limits>

namespace ntx::ftp {
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
    return Error{NTX_E_INVALID, "ftp config: \"" + std::string(key) + "\" " + std::string(what)};
}

bool has_ctl(std::string_view s) noexcept {
    for (char c : s) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
    }
    return false;
}

}  // namespace

bool parse_mode(std::string_view text, Mode &out) noexcept {
    if (text == "passive") {
        out = Mode::passive;
    } else if (text == "active") {
        out = Mode::active;
    } else {
        return false;
    }
    return true;
}

Error parse_config(std::string_view json, Config &out) {
    if (json.find_first_not_of(" \t\r\n") == std::string_view::npos) return {};

    boost::system::error_code ec;
    boost::json::value root = boost::json::parse(boost::json::string_view(json.data(), json.size()), ec);
    if (ec) return Error{NTX_E_INVALID, "ftp config: invalid JSON: " + ec.message()};
    if (root.is_null()) return {};
    const boost::json::object *obj = root.if_object();
    if (!obj) return Error{NTX_E_INVALID, "ftp config: expected a JSON object"};

    Config cfg = out;
    std::uint64_t n = 0;
    for (const auto &kv : *obj) {
        const std::string_view key(kv.key().data(), kv.key().size());
        const boost::json::value &v = kv.value();
        if (key == "connect-timeout-ms" || key == "response-timeout-ms") {
            if (!read_uint(v, std::numeric_limits<std::uint32_t>::max(), n) || n == 0) {
                return bad(key, "must be an integer in 1..4294967295");
            }
            (key == "connect-timeout-ms" ? cfg.connect_timeout_ms : cfg.response_timeout_ms) =
                static_cast<std::uint32_t>(n);
        } else if (key == "max-body-bytes") {
            if (!read_uint(v, std::numeric_limits<std::uint64_t>::max(), n)) {
                return bad(key, "must be a non-negative integer");
            }
            cfg.max_body_bytes = n;
        } else if (key == "mode") {
            const boost::json::string *s = v.if_string();
            if (!s || !parse_mode(std::string_view(s->data(), s->size()), cfg.mode)) {
                return bad(key, "must be \"passive\" or \"active\"");
            }
        } else if (key == "active-address") {
            const boost::json::string *s = v.if_string();
            if (!s || s->empty() || has_ctl(std::string_view(s->data(), s->size()))) {
                return bad(key, "must be a non-empty string without control characters (\"-\", an address or an interface)");
            }
            cfg.active_address.assign(s->data(), s->size());
        } else if (key == "epsv") {
            if (!v.is_bool()) return bad(key, "must be true or false");
            cfg.epsv = v.get_bool();
        } else {
            return Error{NTX_E_INVALID, "ftp config: unknown key \"" + std::string(key) +
                                            "\" (known: connect-timeout-ms, response-timeout-ms, max-body-bytes, "
                                            "mode, active-address, epsv)"};
        }
    }
    out = std::move(cfg);
    return {};
}

}  // namespace ntx::ftp
