// From an action's call and params to the bytes of an HTTP/1.1 request.
#pragma once

#include "config.hpp"
#include "request_body.hpp"
#include <ntx/sdk/error.hpp>
#include "url.hpp"

#include <ntx/plugin_abi.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ntx::sdk {
class ParamCheck;
}

namespace ntx::http {

using sdk::Error;

struct Method {
    std::string_view token;        // "GET", "POST"...
    bool head = false;             // the response carries no body
    bool sends_body = false;       // POST/PUT/PATCH: Content-Length even for an empty body
};

// The capability names run_action accepts, in the order the plugin advertises them.
inline constexpr const char *kCapabilities[] = {"get", "post", "put", "patch", "delete", "head"};

// Maps a capability name ("get", case-insensitive) to its method; false if unknown.
bool method_for_call(std::string_view call, Method &out);

// One action's request. Views borrow the params it was parsed from.
struct RequestSpec {
    Method method;
    Url url;
    bool has_body = false;
    std::string_view body;
    bool keep_alive = true;
    std::vector<std::pair<std::string_view, std::string_view>> headers;  // from headers.<Name>
    std::vector<std::pair<std::string_view, std::string_view>> query;    // from query.<name>, appended to the URL's
    // The connection's TLS settings and the redirect policy; the component config gives the defaults.
    bool tls_verify = true;
    bool ca_file_set = false;
    std::string_view ca_file;          // as written (relative to res_dir) when ca_file_set
    std::string_view tls_server_name;  // empty: the URL's host
    bool follow_redirects = false;
    std::uint32_t max_redirects = 5;
    // keep-on-redirect: the header names (comma-separated, any case) that follow a redirect to another
    // origin; every other header of the script (and Authorization, Cookie, auth.*) stays behind.
    std::string_view keep_on_redirect;
    // Cookies and compression; the component config gives the defaults.
    bool cookies = true;               // use the user's jar (send its cookies, keep what the server sets)
    bool keep_cookies = false;         // the jar outlives a task
    bool compression = true;           // Accept-Encoding: gzip, deflate, br; the body is decoded
    HttpVersion http_version = HttpVersion::v1_1;
    std::vector<std::pair<std::string_view, std::string_view>> set_cookies;  // from cookies.<name>
    bool has_cookie_header = false;    // headers.Cookie given: the jar adds none
    // The body's params (at most one family) and basic auth.
    BodyKind body_kind = BodyKind::none;
    ParamPairs form;                   // form.<name>
    std::vector<Part> parts;           // multipart.<name>[.file|.filename|.content-type]
    ParamPairs json_fields;            // json.<path>
    std::string_view json_text;        // json
    bool has_content_type = false;     // headers.Content-Type given
    bool has_authorization = false;    // headers.Authorization given
    bool auth_user_set = false, auth_password_set = false;
    std::string_view auth_user, auth_password;
};

// The checks that need every param: one body family, a file in each file part, auth with both user
// and password and not with headers.Authorization, json keys that build one object.
Error check_request(const RequestSpec &req);

// The params parse_request reads: url, body, keep-alive, headers.<Name>, query.<name>, tls-verify,
// ca-file, tls-server-name, follow-redirects, max-redirects.
bool is_request_param(std::string_view key) noexcept;

// Reads one param into `out` (out.method set first: a head request takes no body). The one place the
// rules of each param live: parse_request and validate_action both use it. An unknown key is
// NTX_E_INVALID.
Error parse_param(std::string_view key, std::string_view value, RequestSpec &out);

// Reads `call` and the params (see is_request_param) into `out`, whose vectors are cleared and
// reused; `defaults` gives what the params leave out. Unknown params are ignored here (validate_action
// reports them at planning).
Error parse_request(std::string_view call, const ntx_kv_t *params, std::size_t count, const Config &defaults,
                    RequestSpec &out);

// validate_action's checks (ABI 1.2): every param through parse_param (a templated one as far as its
// literal parts go), unknown keys with a did-you-mean, a missing url.
void check_params(sdk::ParamCheck &check);

// The Accept-Encoding the plugin sends when compression is on.
inline constexpr std::string_view kAcceptEncoding = "gzip, deflate, br";

// Writes the request (head and body) into `out`, which is cleared first (its capacity is kept). The
// query params are percent-encoded and appended to the URL's own query. Returns the offset of the
// head's final empty line, where per-request headers (Cookie) go in.
// With `with_body` false, only the head goes into `out` (the caller sends the body on its own).
std::size_t serialize_request(const RequestSpec &req, std::string_view user_agent, std::string &out,
                              bool with_body = true);

// One connection's request, prepared once and reused while the action's call and params repeat.
//
// A load test mostly sends the same request again and again: prepare() compares the call and the
// params that shape the request (everything parse_request reads) with the previous action's, kept in
// strings of its own, and on a match leaves the parsed request and the serialized bytes as they are.
// Otherwise it copies the params, parses the copies and serializes again, into the same objects
// (their capacity is kept), so even a request that changes every time allocates nothing once the
// buffers have grown. The parsed request's views point into those copies, so redirects can be
// serialized from it later in the action.
class PreparedRequest {
public:
    // `reused` says whether the previous request was kept as it was. On an error nothing is kept.
    Error prepare(const ntx_action_ctx_t &ctx, const Config &config, std::string_view res_dir, bool &reused);

    const RequestSpec &spec() const noexcept { return spec_; }
    bool keep_alive() const noexcept { return spec_.keep_alive; }
    bool tls_verify() const noexcept { return spec_.tls_verify; }
    const std::string &ca_file() const noexcept { return ca_file_; }  // absolute, or "" for the system store
    std::string_view tls_server_name() const noexcept { return spec_.tls_server_name; }
    bool follow_redirects() const noexcept { return spec_.follow_redirects; }
    HttpVersion http_version() const noexcept { return spec_.http_version; }
    std::uint32_t max_redirects() const noexcept { return spec_.max_redirects; }

    // The request of the current hop: the prepared one, or the latest redirect's.
    const Url &url() const noexcept { return in_redirect_ ? redirect_.url : spec_.url; }
    bool head() const noexcept { return in_redirect_ ? redirect_.method.head : spec_.method.head; }
    std::string_view bytes() const noexcept { return in_redirect_ ? redirect_bytes_ : bytes_; }
    // The body to send after bytes() when it is a shared param (NTX_PARAM_SHARED: a file_blob), sent by
    // reference rather than copied into bytes(); empty otherwise.
    std::string_view shared_body() const noexcept {
        if (!shared_body_) return {};
        if (in_redirect_) return redirect_.has_body ? redirect_.body : std::string_view();
        return spec_.body;
    }
    // Whether the current hop carries the script's own Cookie header (the jar then adds none).
    bool cookie_header_set() const noexcept { return in_redirect_ ? redirect_.has_cookie_header : spec_.has_cookie_header; }
    // Where in bytes() the head's final empty line starts.
    std::size_t head_end() const noexcept { return in_redirect_ ? redirect_head_end_ : head_end_; }

    // Back to the prepared request (a new action starts at its first hop).
    void restart() noexcept { in_redirect_ = false; }
    // The next hop after a `status` response with `location`: resolved against the current hop's URL
    // (NTX_E_PROTOCOL when unusable). 303 (and 301/302 after a POST) continue as GET without a body,
    // 307/308 repeat the method and body. To another origin (scheme, host or port) only the headers
    // named in keep-on-redirect follow (Content-Type too while the body does); the cookie jar adds
    // the new origin's own cookies.
    Error follow(std::string_view location, unsigned status, std::string_view user_agent);

private:
    struct Param {
        std::string key;
        std::string value;
        bool shared = false;         // NTX_PARAM_SHARED: `value` stays empty, `shared_value` views the host's
        std::string_view shared_value;
        std::string_view text() const noexcept { return shared ? shared_value : std::string_view(value); }
    };
    bool matches(const ntx_action_ctx_t &ctx) const noexcept;
    Error build_body();
    void remember(const ntx_action_ctx_t &ctx);

    bool valid_ = false;       // spec_, bytes_ and the remembered params describe one good request
    std::string call_;         // the remembered call
    std::vector<Param> params_;  // [0, param_count_): the remembered params that shape the request, in order
    std::size_t param_count_ = 0;
    std::vector<ntx_kv_t> views_;  // views of params_ handed to parse_request
    RequestSpec spec_;         // views into call_ and params_
    std::string bytes_;        // the serialized request
    std::size_t head_end_ = 0;
    bool shared_body_ = false;  // the raw body is a shared param: not in bytes_, see shared_body()
    std::string ca_file_;      // spec_'s (or the config's) ca-file, absolute
    std::string built_body_;   // the body form / multipart / json built
    std::string content_type_; // its Content-Type
    std::string auth_value_;   // the Authorization header of `auth`

    bool in_redirect_ = false;
    RequestSpec redirect_;     // the current redirect hop (views into params_ too)
    Url next_;                 // where the latest Location points
    std::string redirect_bytes_;
    std::size_t redirect_head_end_ = 0;
};

}  // namespace ntx::http
