#include "request.hpp"

#include "cookie_jar.hpp"

#include <ntx/sdk/validate.hpp>

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

// RFC 9110 token characters.
bool is_tchar(char c) noexcept {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-': case '.':
    case '^': case '_': case '`': case '|': case '~':
        return true;
    default:
        return false;
    }
}

bool valid_value(std::string_view v) noexcept {
    for (char c : v) {
        if (c == '\r' || c == '\n' || c == '\0') return false;
    }
    return true;
}

std::string_view view(ntx_str_t s) noexcept { return s.ptr ? std::string_view(s.ptr, s.len) : std::string_view{}; }

constexpr std::string_view kHeaderPrefix = "headers.";
constexpr std::string_view kQueryPrefix = "query.";
constexpr std::string_view kCookiePrefix = "cookies.";
constexpr std::string_view kFormPrefix = "form.";
constexpr std::string_view kMultipartPrefix = "multipart.";
constexpr std::string_view kJsonPrefix = "json.";

Error set_body_kind(RequestSpec &out, BodyKind kind) {
    if (out.method.head) return Error{NTX_E_INVALID, "http: a head request has no body"};
    if (out.body_kind != BodyKind::none && out.body_kind != kind) {
        return Error{NTX_E_INVALID, "http: body, form, multipart and json cannot be combined: give one"};
    }
    out.body_kind = kind;
    return {};
}

// RFC 3986 unreserved characters go as they are; everything else as %XX.
void append_encoded(std::string &out, std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
            c == '_' || c == '~') {
            out.push_back(c);
        } else {
            out.push_back('%');
            out.push_back(kHex[u >> 4]);
            out.push_back(kHex[u & 15]);
        }
    }
}

// Whether `name` is one of keep-on-redirect's comma-separated names (any case).
bool kept_on_redirect(std::string_view list, std::string_view name) {
    for (std::size_t pos = 0; pos < list.size();) {
        std::size_t comma = list.find(',', pos);
        if (comma == std::string_view::npos) comma = list.size();
        std::string_view item = list.substr(pos, comma - pos);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        if (iequals(item, name)) return true;
        pos = comma + 1;
    }
    return false;
}

Error bad_bool(std::string_view key) {
    return Error{NTX_E_INVALID, "http: " + std::string(key) + " must be \"true\" or \"false\""};
}

}  // namespace

bool is_request_param(std::string_view key) noexcept {
    return key == "url" || key == "body" || key == "keep-alive" || key.starts_with(kHeaderPrefix) ||
           key.starts_with(kQueryPrefix) || key == "tls-verify" || key == "ca-file" || key == "tls-server-name" ||
           key == "follow-redirects" || key == "max-redirects" || key == "keep-on-redirect" || key == "cookies" || key.starts_with(kCookiePrefix) ||
           key == "keep-cookies" || key == "compression" || key.starts_with(kFormPrefix) ||
           key.starts_with(kMultipartPrefix) || key == "json" || key.starts_with(kJsonPrefix) || key == "auth.user" ||
           key == "auth.password" || key == "http-version";
}

bool method_for_call(std::string_view call, Method &out) {
    static constexpr Method kMethods[] = {
        {"GET", false, false},  {"POST", false, true},    {"PUT", false, true},
        {"PATCH", false, true}, {"DELETE", false, false}, {"HEAD", true, false},
    };
    for (const Method &m : kMethods) {
        if (iequals(call, m.token)) {
            out = m;
            return true;
        }
    }
    return false;
}

Error parse_param(std::string_view key, std::string_view value, RequestSpec &out) {
    if (key == "url") {
        if (Error e = parse_url(value, out.url)) return e;
    } else if (key == "body") {
        if (Error e = set_body_kind(out, BodyKind::raw)) return e;
        out.has_body = true;
        out.body = value;
    } else if (key.starts_with(kFormPrefix)) {
        if (Error e = set_body_kind(out, BodyKind::form)) return e;
        const std::string_view name = key.substr(kFormPrefix.size());
        if (name.empty()) return Error{NTX_E_INVALID, "http: empty form field name"};
        out.form.emplace_back(name, value);
    } else if (key.starts_with(kMultipartPrefix)) {
        if (Error e = set_body_kind(out, BodyKind::multipart)) return e;
        if (Error e = add_part(key.substr(kMultipartPrefix.size()), value, out.parts)) return e;
    } else if (key == "json") {
        if (Error e = set_body_kind(out, BodyKind::json_text)) return e;
        if (Error e = check_json(value)) return e;
        out.json_text = value;
    } else if (key.starts_with(kJsonPrefix)) {
        if (Error e = set_body_kind(out, BodyKind::json_fields)) return e;
        out.json_fields.emplace_back(key.substr(kJsonPrefix.size()), value);
    } else if (key == "auth.user") {
        if (value.find(':') != std::string_view::npos) return Error{NTX_E_INVALID, "http: auth.user must not contain ':'"};
        if (!valid_value(value)) return Error{NTX_E_INVALID, "http: auth.user contains CR, LF or NUL"};
        out.auth_user_set = true;
        out.auth_user = value;
    } else if (key == "auth.password") {
        out.auth_password_set = true;
        out.auth_password = value;
    } else if (key == "keep-alive") {
        if (!parse_bool(value, out.keep_alive)) return bad_bool(key);
    } else if (key == "tls-verify") {
        if (!parse_bool(value, out.tls_verify)) return bad_bool(key);
    } else if (key == "follow-redirects") {
        if (!parse_bool(value, out.follow_redirects)) return bad_bool(key);
    } else if (key == "max-redirects") {
        unsigned n = 0;
        const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
        if (ec != std::errc{} || end != value.data() + value.size() || value.empty() || n > 100) {
            return Error{NTX_E_INVALID, "http: max-redirects must be an integer in 0..100"};
        }
        out.max_redirects = n;
    } else if (key == "keep-on-redirect") {
        // "X-Api-Key, Accept": header names, commas between, spaces allowed around them.
        std::size_t names = 0;
        for (std::size_t pos = 0; pos <= value.size();) {
            std::size_t comma = value.find(',', pos);
            if (comma == std::string_view::npos) comma = value.size();
            std::string_view name = value.substr(pos, comma - pos);
            while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
            while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
            if (name.empty() && !(value.empty() && names == 0)) {
                return Error{NTX_E_INVALID, "http: keep-on-redirect lists header names separated by commas (an empty name)"};
            }
            for (char c : name) {
                if (!is_tchar(c)) {
                    return Error{NTX_E_INVALID, "http: keep-on-redirect: '" + std::string(name) + "' is not a header name"};
                }
            }
            names += name.empty() ? 0 : 1;
            pos = comma + 1;
        }
        out.keep_on_redirect = value;
    } else if (key == "ca-file") {
        if (value.empty() || value.find('\0') != std::string_view::npos) {
            return Error{NTX_E_INVALID, "http: ca-file must be a non-empty path"};
        }
        out.ca_file_set = true;
        out.ca_file = value;
    } else if (key == "tls-server-name") {
        for (char c : value) {
            if (!is_tchar(c) && c != ':') return Error{NTX_E_INVALID, "http: bad tls-server-name"};
        }
        out.tls_server_name = value;
    } else if (key.starts_with(kHeaderPrefix)) {
        const std::string_view name = key.substr(kHeaderPrefix.size());
        if (name.empty()) return Error{NTX_E_INVALID, "http: empty header name"};
        for (char c : name) {
            if (!is_tchar(c)) return Error{NTX_E_INVALID, "http: invalid header name '" + std::string(name) + "'"};
        }
        if (!valid_value(value)) {
            return Error{NTX_E_INVALID, "http: header '" + std::string(name) + "' contains CR, LF or NUL"};
        }
        // Framing is the plugin's: letting a script set these would desynchronize the connection.
        if (iequals(name, "content-length") || iequals(name, "transfer-encoding") || iequals(name, "connection")) {
            return Error{NTX_E_INVALID, "http: header '" + std::string(name) +
                                            "' is set by the plugin (use body / keep-alive)"};
        }
        out.headers.emplace_back(name, value);
        if (iequals(name, "cookie")) out.has_cookie_header = true;
        if (iequals(name, "content-type")) out.has_content_type = true;
        if (iequals(name, "authorization")) out.has_authorization = true;
    } else if (key == "cookies") {
        if (!parse_bool(value, out.cookies)) return bad_bool(key);
    } else if (key == "http-version") {
        if (!parse_http_version(value, out.http_version)) {
            return Error{NTX_E_INVALID, "http: http-version must be \"1.1\", \"2\" or \"auto\""};
        }
    } else if (key == "keep-cookies") {
        if (!parse_bool(value, out.keep_cookies)) return bad_bool(key);
    } else if (key == "compression") {
        if (!parse_bool(value, out.compression)) return bad_bool(key);
    } else if (key.starts_with(kCookiePrefix)) {
        const std::string_view name = key.substr(kCookiePrefix.size());
        if (!CookieJar::valid_name(name)) return Error{NTX_E_INVALID, "http: invalid cookie name '" + std::string(name) + "'"};
        if (!CookieJar::valid_value(value)) {
            return Error{NTX_E_INVALID, "http: cookie '" + std::string(name) +
                                            "' has a character a cookie value cannot hold (space, quote, comma, "
                                            "semicolon, backslash or a control character)"};
        }
        out.set_cookies.emplace_back(name, value);
    } else if (key.starts_with(kQueryPrefix)) {
        const std::string_view name = key.substr(kQueryPrefix.size());
        if (name.empty()) return Error{NTX_E_INVALID, "http: empty query parameter name"};
        out.query.emplace_back(name, value);
    } else {
        return Error{NTX_E_INVALID, "http: unknown parameter '" + std::string(key) + "'"};
    }
    return {};
}

Error parse_request(std::string_view call, const ntx_kv_t *params, std::size_t count, const Config &defaults,
                    RequestSpec &out) {
    out.headers.clear();
    out.query.clear();
    out.has_body = false;
    out.body = {};
    out.keep_alive = defaults.keep_alive;
    out.tls_verify = defaults.tls_verify;
    out.ca_file_set = false;
    out.ca_file = {};
    out.tls_server_name = {};
    out.follow_redirects = defaults.follow_redirects;
    out.max_redirects = defaults.max_redirects;
    out.keep_on_redirect = {};
    out.cookies = defaults.cookies;
    out.keep_cookies = defaults.keep_cookies;
    out.compression = defaults.compression;
    out.http_version = defaults.http_version;
    out.set_cookies.clear();
    out.has_cookie_header = false;
    out.body_kind = BodyKind::none;
    out.form.clear();
    out.parts.clear();
    out.json_fields.clear();
    out.json_text = {};
    out.has_content_type = false;
    out.has_authorization = false;
    out.auth_user_set = out.auth_password_set = false;
    out.auth_user = out.auth_password = {};

    if (!method_for_call(call, out.method)) {
        return Error{NTX_E_UNSUPPORTED, "http: unknown call '" + std::string(call) + "'"};
    }

    bool have_url = false;
    for (std::size_t i = 0; i < count; ++i) {
        const std::string_view key = view(params[i].key);
        // Other keys belong to nobody here: ignored (validate_action reports them at planning).
        if (!is_request_param(key)) continue;
        if (Error e = parse_param(key, view(params[i].value), out)) return e;
        have_url = have_url || key == "url";
    }
    if (!have_url) return Error{NTX_E_INVALID, "http: missing parameter 'url'"};
    return check_request(out);
}

Error check_request(const RequestSpec &req) {
    if (req.body_kind == BodyKind::multipart) {
        if (Error e = check_parts(req.parts)) return e;
    }
    if (req.body_kind == BodyKind::json_fields) {
        std::string scratch;
        if (Error e = build_json(req.json_fields, scratch)) return e;
    }
    if (req.auth_user_set != req.auth_password_set) {
        return Error{NTX_E_INVALID, "http: auth needs both user and password"};
    }
    if (req.auth_user_set && req.has_authorization) {
        return Error{NTX_E_INVALID, "http: auth and headers.Authorization cannot both be given"};
    }
    return {};
}

void check_params(sdk::ParamCheck &check) {
    check.strip_prefix("http: ");
    RequestSpec spec;  // what the literal params parse into; thrown away
    if (!method_for_call(check.call(), spec.method)) {
        check.report(NTX_PROBLEM_ACTION, "http: unknown call '" + std::string(check.call()) + "'");
        return;
    }
    bool have_url = false;
    for (std::size_t i = 0; i < check.size(); ++i) {
        const std::string_view key = check.key(i);
        const std::string_view value = check.value(i);
        have_url = have_url || key == "url";
        if (!is_request_param(key)) {
            std::vector<std::string> known{"url", "body", "keep-alive", "tls-verify", "ca-file", "tls-server-name",
                                           "follow-redirects", "max-redirects", "keep-on-redirect", "cookies", "keep-cookies", "compression",
                                           "json", "auth.user", "auth.password", "http-version"};
            // A typo'd map (`heders: {Accept: ...}`) arrives as "heders.Accept".
            const std::size_t dot = key.find('.');
            const std::string inner(dot == std::string_view::npos ? std::string_view("<Name>") : key.substr(dot + 1));
            known.push_back(std::string(kHeaderPrefix) + inner);
            known.push_back(std::string(kQueryPrefix) + inner);
            known.push_back(std::string(kCookiePrefix) + inner);
            known.push_back(std::string(kFormPrefix) + inner);
            known.push_back(std::string(kMultipartPrefix) + inner);
            known.push_back(std::string(kJsonPrefix) + inner);
            const std::string guess = sdk::nearest_word(key, known);
            check.report_param(i, "http " + std::string(check.call()) + " has no parameter '" + std::string(key) + "'",
                               guess.empty() ? std::string("it takes url, body, headers.<Name>, query.<name>, keep-alive, "
                                                           "tls-verify, ca-file, tls-server-name, follow-redirects, "
                                                           "max-redirects, keep-on-redirect, cookies, cookies.<name>, keep-cookies, "
                                                           "compression, form.<name>, multipart.<name>, json, "
                                                           "json.<key>, auth.user, auth.password, http-version")
                                             : "did you mean '" + guess + "'?");
            continue;
        }
        Error e;
        if (!check.templated(i)) {
            e = parse_param(key, value, spec);
        } else if (const std::string_view start = sdk::literal_prefix(value);
                   key == "url" && !sdk::may_start_with(start, {"http://", "https://"})) {
            Url url;
            e = parse_url(start, url);  // fails on the scheme, with the run-time reason
        } else if (key.starts_with(kCookiePrefix)) {
            e = parse_param(key, "x", spec);  // the name is known; the value is not
        } else if (key == "json") {
            e = parse_param(key, "{}", spec);  // a JSON text only the rendering knows
        } else if (key.starts_with(kFormPrefix) || key.starts_with(kMultipartPrefix) || key.starts_with(kJsonPrefix) ||
                   key == "auth.user" || key == "auth.password") {
            e = parse_param(key, {}, spec);
        } else if (key.starts_with(kHeaderPrefix) || key.starts_with(kQueryPrefix) || key == "body") {
            e = parse_param(key, {}, spec);  // the name (and a head's body) is known; the value is not
        }
        if (e) {
            std::string hint;
            Url with_scheme;
            if (key == "url" && check.templated(i)) {
                hint = "a url starts with http:// or https://";
            } else if (key == "url" && sdk::lacks_only_a_scheme(value) &&
                       !parse_url("http://" + std::string(value), with_scheme)) {
                hint = "did you mean 'http://" + std::string(value) + "'?";  // only the scheme is missing
            }
            check.report_param(i, e.reason, hint);
        }
    }
    if (!have_url) check.report(NTX_PROBLEM_ACTION, "http: missing parameter 'url'");
    // The checks across params, on what the params that parsed gave.
    if (Error e = check_request(spec)) check.report(NTX_PROBLEM_ACTION, e.reason);
}

std::size_t serialize_request(const RequestSpec &req, std::string_view user_agent, std::string &out, bool with_body) {
    out.clear();
    const auto line = [&out](std::string_view name, std::string_view value) {
        out.append(name).append(": ").append(value).append("\r\n");
    };
    const auto user_header = [&req](std::string_view name) -> const std::string_view * {
        for (const auto &h : req.headers) {
            if (iequals(h.first, name)) return &h.second;
        }
        return nullptr;
    };

    out.append(req.method.token).append(" ").append(req.url.target);
    bool has_query = req.url.target.find('?') != std::string::npos;
    for (const auto &q : req.query) {
        out.push_back(has_query ? '&' : '?');
        has_query = true;
        append_encoded(out, q.first);
        out.push_back('=');
        append_encoded(out, q.second);
    }
    out.append(" HTTP/1.1\r\n");
    const std::string_view *host = user_header("host");
    line("Host", host ? *host : std::string_view(req.url.host_header));
    const std::string_view *ua = user_header("user-agent");
    if (ua) {
        line("User-Agent", *ua);
    } else if (!user_agent.empty()) {
        line("User-Agent", user_agent);
    }
    for (const auto &h : req.headers) {
        if (iequals(h.first, "host") || iequals(h.first, "user-agent")) continue;
        line(h.first, h.second);
    }
    if (req.has_body || req.method.sends_body) {
        char digits[24];
        const auto r = std::to_chars(digits, digits + sizeof digits, req.body.size());
        line("Content-Length", std::string_view(digits, static_cast<std::size_t>(r.ptr - digits)));
    }
    if (req.compression && !user_header("accept-encoding")) line("Accept-Encoding", kAcceptEncoding);
    line("Connection", req.keep_alive ? "keep-alive" : "close");
    const std::size_t head_end = out.size();
    out.append("\r\n");
    if (with_body) out.append(req.body);
    return head_end;
}

bool PreparedRequest::matches(const ntx_action_ctx_t &ctx) const noexcept {
    if (!valid_ || view(ctx.call) != call_) return false;
    std::size_t n = 0;
    for (std::size_t i = 0; i < ctx.param_count; ++i) {
        const std::string_view key = view(ctx.params[i].key);
        if (!is_request_param(key)) continue;
        if (n == param_count_) return false;
        const Param &p = params_[n++];
        const std::string_view value = view(ctx.params[i].value);
        if (key != p.key) return false;
        if (p.shared) {
            // The same shared buffer (a file_blob) is the same value: no compare of its bytes.
            if (value.data() != p.shared_value.data() || value.size() != p.shared_value.size()) return false;
        } else if (value != p.value) {
            return false;
        }
    }
    return n == param_count_;
}

void PreparedRequest::remember(const ntx_action_ctx_t &ctx) {
    call_.assign(view(ctx.call));
    param_count_ = 0;
    for (std::size_t i = 0; i < ctx.param_count; ++i) {
        const std::string_view key = view(ctx.params[i].key);
        if (!is_request_param(key)) continue;
        if (param_count_ == params_.size()) params_.emplace_back();
        Param &p = params_[param_count_++];
        p.key.assign(key);
        p.shared = NTX_HAS_MEMBER(&ctx, ntx_action_ctx_t, param_flags) && ctx.param_flags &&
                   (ctx.param_flags[i] & NTX_PARAM_SHARED);
        if (p.shared) {
            p.value.clear();
            p.shared_value = view(ctx.params[i].value);  // valid until release: kept, not copied
        } else {
            p.value.assign(view(ctx.params[i].value));
        }
    }
}

Error PreparedRequest::prepare(const ntx_action_ctx_t &ctx, const Config &config, std::string_view res_dir,
                               bool &reused) {
    in_redirect_ = false;
    reused = matches(ctx);
    if (reused) return {};
    valid_ = false;
    // Parse the copies, not the action's params: the views then stay valid for redirects.
    remember(ctx);
    views_.clear();
    for (std::size_t i = 0; i < param_count_; ++i) {
        const Param &p = params_[i];
        const std::string_view text = p.text();
        views_.push_back(ntx_kv_t{{p.key.data(), p.key.size()}, {text.data(), text.size()}});
    }
    if (Error e = parse_request(call_, views_.data(), views_.size(), config, spec_)) return e;
    if (Error e = build_body()) return e;
    // A raw body that is a shared param goes out by reference (the host queues it without a copy)
    // instead of being copied into bytes_ for every user. HTTP/2 frames the body it finds in bytes_, so
    // wherever h2 may be spoken (http-version 2, or auto over TLS, where ALPN decides) it is copied.
    shared_body_ = false;
    const bool h1_only = spec_.http_version == HttpVersion::v1_1 ||
                         (spec_.http_version == HttpVersion::automatic && !spec_.url.tls);
    if (spec_.body_kind == BodyKind::raw && h1_only && !spec_.body.empty())
        for (std::size_t i = 0; i < param_count_; ++i)
            if (params_[i].shared && params_[i].shared_value.data() == spec_.body.data()) shared_body_ = true;
    head_end_ = serialize_request(spec_, config.user_agent, bytes_, !shared_body_);
    if (spec_.ca_file_set) {
        ca_file_ = resolve_path(spec_.ca_file, res_dir);
    } else {
        ca_file_ = config.ca_file;
    }
    valid_ = true;
    return {};
}

Error PreparedRequest::build_body() {
    // Built into this object's strings (capacity kept), then seen through the spec's views.
    switch (spec_.body_kind) {
    case BodyKind::form:
        build_form(spec_.form, built_body_);
        content_type_.assign("application/x-www-form-urlencoded");
        break;
    case BodyKind::multipart:
        build_multipart(spec_.parts, built_body_, content_type_);
        break;
    case BodyKind::json_fields:
        if (Error e = build_json(spec_.json_fields, built_body_)) return e;
        content_type_.assign("application/json");
        break;
    case BodyKind::json_text:
        built_body_.assign(spec_.json_text);
        content_type_.assign("application/json");
        break;
    default:
        break;
    }
    if (spec_.body_kind != BodyKind::none && spec_.body_kind != BodyKind::raw) {
        spec_.has_body = true;
        spec_.body = built_body_;
        if (!spec_.has_content_type) spec_.headers.emplace_back("Content-Type", content_type_);
    }
    if (spec_.auth_user_set) {
        basic_auth(spec_.auth_user, spec_.auth_password, auth_value_);
        spec_.headers.emplace_back("Authorization", auth_value_);
    }
    return {};
}

Error PreparedRequest::follow(std::string_view location, unsigned status, std::string_view user_agent) {
    if (Error e = resolve_location(url(), location, next_)) return e;
    const Method previous = in_redirect_ ? redirect_.method : spec_.method;
    const bool previous_body = in_redirect_ ? redirect_.has_body : spec_.has_body;
    const bool to_get = (status == 303 && !previous.head) || ((status == 301 || status == 302) && previous.token == "POST");
    const bool cross_origin = !next_.same_origin(spec_.url);

    redirect_.method = previous;
    redirect_.has_body = previous_body;
    redirect_.body = spec_.body;
    if (to_get) {
        method_for_call("get", redirect_.method);
        redirect_.has_body = false;
        redirect_.body = {};
    }
    redirect_.url = next_;  // assignment keeps the strings' capacity
    redirect_.keep_alive = spec_.keep_alive;
    redirect_.query.clear();  // the Location is the whole URL
    redirect_.headers.clear();
    for (const auto &h : spec_.headers) {
        if (to_get && iequals(h.first, "content-type")) continue;  // no body any more
        // Another origin gets only what the script marked to keep (credentials and custom keys such as
        // X-Api-Key stay behind unless named); the body's Content-Type goes with the body. Host is the
        // new URL's.
        if (cross_origin && (iequals(h.first, "host") ||
                             (!kept_on_redirect(spec_.keep_on_redirect, h.first) &&
                              !(redirect_.has_body && iequals(h.first, "content-type"))))) {
            continue;
        }
        redirect_.headers.push_back(h);
    }
    redirect_.compression = spec_.compression;
    redirect_.cookies = spec_.cookies;
    redirect_.has_cookie_header = spec_.has_cookie_header && (!cross_origin || kept_on_redirect(spec_.keep_on_redirect, "cookie"));
    redirect_head_end_ = serialize_request(redirect_, user_agent, redirect_bytes_, !shared_body_);
    in_redirect_ = true;
    return {};
}

}  // namespace ntx::http
