// The status codes of the plugin C ABI (ntx/plugin_abi.h) in words: their names, the text a host's
// strerror answers, and the short kind reports count errors by. One table for the host, the
// conformance kit and test hosts. Header-only.
#pragma once

#include "ntx/export.hpp"
#include "ntx/plugin_abi.h"

#include <cstddef>
#include <iterator>

NTX_BEGIN_NAMESPACE

struct StatusWords {
    const char* name;  // "NTX_E_TIMEOUT"
    const char* text;  // "timed out"
    const char* kind;  // "timeout"
};

// Row i is code -i. When the ABI appends a code, append its row here.
inline constexpr StatusWords kStatusWords[] = {
    {"NTX_OK", "ok", "other"},
    {"NTX_E_INVALID", "invalid argument", "invalid"},
    {"NTX_E_NOMEM", "out of memory", "nomem"},
    {"NTX_E_UNSUPPORTED", "not supported", "unsupported"},
    {"NTX_E_ABI", "plugin ABI mismatch", "other"},
    {"NTX_E_VERSION", "incompatible plugin version", "other"},
    {"NTX_E_RESOLVE", "host name not resolved", "resolve"},
    {"NTX_E_CONNECT", "connection failed", "connect"},
    {"NTX_E_IO", "I/O error", "io"},
    {"NTX_E_CLOSED", "connection closed by peer", "closed"},
    {"NTX_E_TIMEOUT", "timed out", "timeout"},
    {"NTX_E_CANCELLED", "cancelled", "cancelled"},
    {"NTX_E_PROTOCOL", "protocol error", "protocol"},
    {"NTX_E_LIMIT", "limit exceeded", "limit"},
    {"NTX_E_DENIED", "denied by policy", "denied"},
    {"NTX_E_STATE", "invalid state or dead handle", "state"},
    {"NTX_E_STATUS", "failure status from server", "status"},
    {"NTX_E_INTERNAL", "internal plugin error", "internal"},
    {"NTX_E_TLS", "TLS handshake or certificate verification failed", "tls"},
    {"NTX_E_NOFILE", "out of file descriptors (the open-file limit)", "nofile"},
    {"NTX_E_TRAP", "the plugin's sandbox trapped", "trap"},
};
inline constexpr StatusWords kUnknownStatusWords = {"an unknown status", "unknown status", "other"};
static_assert(std::size(kStatusWords) == 1 - NTX_E_TRAP, "a status code of plugin_abi.h has no row");

// Whether `status` is a code of this ABI (NTX_OK or one of its errors).
constexpr bool known_status(ntx_status_t status) noexcept {
    return status <= NTX_OK && static_cast<std::size_t>(-static_cast<long long>(status)) < std::size(kStatusWords);
}

constexpr const StatusWords& status_words(ntx_status_t status) noexcept {
    return known_status(status) ? kStatusWords[-static_cast<long long>(status)] : kUnknownStatusWords;
}

// "NTX_E_TIMEOUT" (a C name, for tools that speak to plugin authors).
constexpr const char* status_name(ntx_status_t status) noexcept { return status_words(status).name; }
// "timed out": what the host's strerror answers.
constexpr const char* status_text(ntx_status_t status) noexcept { return status_words(status).text; }
// "timeout": the kind a report counts errors by ("other" for the codes no action ends with).
constexpr const char* status_kind(ntx_status_t status) noexcept { return status_words(status).kind; }

NTX_END_NAMESPACE
