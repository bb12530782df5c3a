// From an action's call and params to the bytes of an HTTP/1.1 request.
#pragma once

#include "error.hpp"
#include "url.hpp"

#include <ntx/plugin_abi.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ntx::http {

struct Method {
    std::string_view token;        // "GET", "POST"...
    bool head = false;             // the response carries no body
    bool sends_body = false;       // POST/PUT/PATCH: Content-Length even for an empty body
};

// The capability names run_action accepts, in the order the plugin advertises them.
inline constexpr const char *kCapabilities[] = {"get", "post", "put", "patch", "delete", "head"};

// Maps a capability name ("get", case-insensitive) to its method; false if unknown.
bool method_for_call(std::string_view call, Method &out);

// One action's request. Views borrow the action's params: valid during run_action only.
struct RequestSpec {
    Method method;
    Url url;
    bool has_body = false;
    std::string_view body;
    bool keep_alive = true;
    std::vector<std::pair<std::string_view, std::string_view>> headers;  // from headers.<Name>
};

// Reads ctx->call and the params (url, body, keep-alive, headers.<Name>) into `out`, whose vectors
// are cleared and reused. Unknown params are ignored.
Error parse_request(const ntx_action_ctx_t &ctx, RequestSpec &out);

// Writes the request (head and body) into `out`, which is cleared first (its capacity is kept).
void serialize_request(const RequestSpec &req, std::string_view user_agent, std::string &out);

// One connection's request, prepared once and reused while the action's call and params repeat.
//
// A load test mostly sends the same request again and again: prepare() compares the call and the
// params that shape the request (url, body, keep-alive, headers.*) with the previous action's, kept
// in strings of its own, and on a match leaves the parsed URL and the serialized bytes as they are.
// Otherwise it parses and serializes again, into the same objects (their capacity is kept), so even
// a request that changes every time allocates nothing once the buffers have grown.
class PreparedRequest {
public:
    // `reused` says whether the previous request was kept as it was. On an error nothing is kept.
    Error prepare(const ntx_action_ctx_t &ctx, std::string_view user_agent, bool &reused);

    const Url &url() const noexcept { return spec_.url; }
    bool head() const noexcept { return spec_.method.head; }
    bool keep_alive() const noexcept { return spec_.keep_alive; }
    std::string_view bytes() const noexcept { return bytes_; }

private:
    struct Param {
        std::string key;
        std::string value;
    };
    bool matches(const ntx_action_ctx_t &ctx) const noexcept;
    void remember(const ntx_action_ctx_t &ctx);

    bool valid_ = false;       // spec_, bytes_ and the remembered params describe one good request
    std::string call_;         // the remembered call
    std::vector<Param> params_;  // [0, param_count_): the remembered params that shape the request, in order
    std::size_t param_count_ = 0;
    RequestSpec spec_;         // header/body views are dropped after serializing (they borrow the params)
    std::string bytes_;        // the serialized request
};

}  // namespace ntx::http
