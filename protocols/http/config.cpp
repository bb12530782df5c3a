#include "config.hpp"

// Boost.JSON, header-only: its definitions are compiled into this translation unit only.
#include <boost/json/src.hpp>

#include <ntx/sdk/json_config.hpp>

#include <fstream>
#include <limits>
#include <utility>

namespace ntx::http {
namespace {

using sdk::read_uint;

Error bad(std::string_view key, std::string_view what) { return sdk::config_error("http", key, what); }

// A JSON boolean, or the strings "true" / "false" (YAML quoted scalars arrive as strings).
bool read_bool(const boost::json::value &v, bool &out) {
    if (v.is_bool()) {
        out = v.get_bool();
        return true;
    }
    const boost::json::string *s = v.if_string();
    return s && parse_bool(std::string_view(s->data(), s->size()), out);
}

}  // namespace

bool parse_bool(std::string_view text, bool &out) {
    if (text == "true") {
        out = true;
        return true;
    }
    if (text == "false") {
        out = false;
        return true;
    }
    return false;
}

bool parse_http_version(std::string_view text, HttpVersion &out) {
    if (text == "1.1") {
        out = HttpVersion::v1_1;
    } else if (text == "2") {
        out = HttpVersion::v2;
    } else if (text == "auto") {
        out = HttpVersion::automatic;
    } else {
        return false;
    }
    return true;
}

std::string resolve_path(std::string_view path, std::string_view res_dir) {
    if (path.empty() || path.front() == '/' || res_dir.empty()) return std::string(path);
    std::string out(res_dir);
    if (out.back() != '/') out.push_back('/');
    out.append(path);
    return out;
}

Error parse_config(std::string_view json, std::string_view res_dir, Config &out) {
    sdk::ConfigObject doc;
    if (Error e = doc.parse(json, "http"); e || !doc.object()) return e;
    const boost::json::object *obj = doc.object();

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
    bool flag = false;
    if (const auto *v = obj->if_contains("keep-alive")) {
        if (!read_bool(*v, flag)) return bad("keep-alive", "must be true or false");
        cfg.keep_alive = flag;
    }
    if (const auto *v = obj->if_contains("tls-verify")) {
        if (!read_bool(*v, flag)) return bad("tls-verify", "must be true or false");
        cfg.tls_verify = flag;
    }
    if (const auto *v = obj->if_contains("follow-redirects")) {
        if (!read_bool(*v, flag)) return bad("follow-redirects", "must be true or false");
        cfg.follow_redirects = flag;
    }
    if (const auto *v = obj->if_contains("max-redirects")) {
        if (!read_uint(*v, 100, n)) return bad("max-redirects", "must be an integer in 0..100");
        cfg.max_redirects = static_cast<std::uint32_t>(n);
    }
    for (auto [key, field] : {std::pair{"cookies", &cfg.cookies}, std::pair{"keep-cookies", &cfg.keep_cookies},
                              std::pair{"compression", &cfg.compression}}) {
        if (const auto *v = obj->if_contains(key)) {
            if (!read_bool(*v, flag)) return bad(key, "must be true or false");
            *field = flag;
        }
    }
    for (auto [key, field] : {std::pair{"max-cookies", &cfg.max_cookies}, std::pair{"max-cookie-bytes", &cfg.max_cookie_bytes},
                              std::pair{"max-cookie-jar-bytes", &cfg.max_cookie_jar_bytes}}) {
        if (const auto *v = obj->if_contains(key)) {
            if (!read_uint(*v, 1u << 20, n) || n == 0) return bad(key, "must be an integer in 1..1048576");
            *field = static_cast<std::uint32_t>(n);
        }
    }
    if (const auto *v = obj->if_contains("http-version")) {
        const boost::json::string *s = v->if_string();
        const bool number_two = v->is_int64() && v->get_int64() == 2;
        const bool number_11 = v->is_double() && v->get_double() == 1.1;
        if (number_two || number_11) {
            cfg.http_version = number_two ? HttpVersion::v2 : HttpVersion::v1_1;
        } else if (!s || !parse_http_version(std::string_view(s->data(), s->size()), cfg.http_version)) {
            return bad("http-version", "must be \"1.1\", \"2\" or \"auto\"");
        }
    }
    if (const auto *v = obj->if_contains("max-streams")) {
        if (!read_uint(*v, 1000, n) || n == 0) return bad("max-streams", "must be an integer in 1..1000");
        cfg.max_streams = static_cast<std::uint32_t>(n);
    }
    if (const auto *v = obj->if_contains("max-decoded-bytes")) {
        if (!read_uint(*v, std::numeric_limits<std::uint64_t>::max(), n)) {
            return bad("max-decoded-bytes", "must be a non-negative integer");
        }
        cfg.max_decoded_bytes = n;
    }
    if (const auto *v = obj->if_contains("ca-file")) {
        const boost::json::string *s = v->if_string();
        if (!s || s->empty()) return bad("ca-file", "must be a non-empty path");
        if (std::string_view(s->data(), s->size()).find('\0') != std::string_view::npos) {
            return bad("ca-file", "must not contain NUL");
        }
        cfg.ca_file = resolve_path(std::string_view(s->data(), s->size()), res_dir);
        if (!std::ifstream(cfg.ca_file)) return bad("ca-file", "cannot be read: " + cfg.ca_file);
    }
    out = std::move(cfg);
    return {};
}

}  // namespace ntx::http
