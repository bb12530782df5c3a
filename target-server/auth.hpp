// The login of ntx-target: POST /login issues a bearer token for a user, /api/* routes require it.
// Tokens are stateless (the user, hex-encoded, and a keyed hash of it with a per-process secret):
// nothing is stored per login, so memory does not grow with a run. A test fixture, not security.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ntx_target {

// Reads {"user": "...", "password": "..."} (both non-empty strings); nullopt with `error` otherwise.
std::optional<std::string> login_user(std::string_view json_body, std::string& error);

// The token for `user` ("<hex user>.<16 hex digits>").
std::string issue_token(std::string_view user);

// The user of `authorization` ("Bearer <token>") when the token is one issue_token gave.
std::optional<std::string> bearer_user(std::string_view authorization);

// `s` as a JSON string literal, quotes included.
std::string json_string(std::string_view s);

}  // namespace ntx_target
