#include "request.hpp"

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

// The params parse_request reads; the others do not change the request.
bool shapes_request(std::string_view key) noexcept {
    return key == "url" || key == "body" || key == "keep-alive" || key.starts_with(kHeaderPrefix);
}

}  // namespace

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

Error parse_request(const ntx_action_ctx_t &ctx, RequestSpec &out) {
    out.headers.clear();
    out.has_body = false;
    out.body = {};
    out.keep_alive = true;

    const std::string_view call = view(ctx.call);
    if (!method_for_call(call, out.method)) {
        return Error{NTX_E_UNSUPPORTED, "http: unknown call '" + std::string(call) + "'"};
    }

    bool have_url = false;
    for (std::size_t i = 0; i < ctx.param_count; ++i) {
        const std::string_view key = view(ctx.params[i].key);
        const std::string_view value = view(ctx.params[i].value);
        if (key == "url") {
            if (Error e = parse_url(value, out.url)) return e;
            have_url = true;
        } else if (key == "body") {
            out.has_body = true;
            out.body = value;
        } else if (key == "keep-alive") {
            if (value == "true") {
                out.keep_alive = true;
            } else if (value == "false") {
                out.keep_alive = false;
            } else {
                return Error{NTX_E_INVALID, "http: keep-alive must be \"true\" or \"false\""};
            }
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
        }
        // Other keys belong to nobody here: ignored.
    }
    if (!have_url) return Error{NTX_E_INVALID, "http: missing parameter 'url'"};
    return {};
}

void serialize_request(const RequestSpec &req, std::string_view user_agent, std::string &out) {
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

    out.append(req.method.token).append(" ").append(req.url.target).append(" HTTP/1.1\r\n");
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
    line("Connection", req.keep_alive ? "keep-alive" : "close");
    out.append("\r\n");
    out.append(req.body);
}

bool PreparedRequest::matches(const ntx_action_ctx_t &ctx) const noexcept {
    if (!valid_ || view(ctx.call) != call_) return false;
    std::size_t n = 0;
    for (std::size_t i = 0; i < ctx.param_count; ++i) {
        const std::string_view key = view(ctx.params[i].key);
        if (!shapes_request(key)) continue;
        if (n == param_count_) return false;
        const Param &p = params_[n++];
        if (key != p.key || view(ctx.params[i].value) != p.value) return false;
    }
    return n == param_count_;
}

void PreparedRequest::remember(const ntx_action_ctx_t &ctx) {
    call_.assign(view(ctx.call));
    param_count_ = 0;
    for (std::size_t i = 0; i < ctx.param_count; ++i) {
        const std::string_view key = view(ctx.params[i].key);
        if (!shapes_request(key)) continue;
        if (param_count_ == params_.size()) params_.emplace_back();
        Param &p = params_[param_count_++];
        p.key.assign(key);
        p.value.assign(view(ctx.params[i].value));
    }
}

Error PreparedRequest::prepare(const ntx_action_ctx_t &ctx, std::string_view user_agent, bool &reused) {
    reused = matches(ctx);
    if (reused) return {};
    valid_ = false;
    if (Error e = parse_request(ctx, spec_)) return e;
    serialize_request(spec_, user_agent, bytes_);
    spec_.headers.clear();  // they borrowed the params
    spec_.body = {};
    remember(ctx);
    valid_ = true;
    return {};
}

}  // namespace ntx::http
