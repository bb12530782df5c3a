#include "config.hpp"

// Boost.JSON, header-only: its definitions are compiled into this translation unit only.
#include <boost/json/src.hpp>

#include <ntx/sdk/json_config.hpp>

#include <limits>

namespace ntx::ftp {
namespace {

using sdk::read_uint;

Error bad(std::string_view key, std::string_view what) { return sdk::config_error("ftp", key, what); }

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
    sdk::ConfigObject doc;
    if (Error e = doc.parse(json, "ftp"); e || !doc.object()) return e;

    Config cfg = out;
    std::uint64_t n = 0;
    for (const auto &kv : *doc.object()) {
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
