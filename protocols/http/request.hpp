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

}  // namespace ntx::http
