// From a finished curl transfer's CURLcode to an ntx status code (the report's errors_by_kind).
#pragma once

#include <curl/curl.h>
#include <ntx/plugin_abi.h>

namespace ntx::ftp {

// The kinds a load test tells apart:
//   NTX_E_DENIED   the server refused the login (530)
//   NTX_E_CONNECT  no control or data connection (refused, unreachable, active-mode accept failed)
//   NTX_E_STATUS   the server answered a command with a failure reply (550 no such file or
//                  directory, 553 not allowed, 452 disk full...)
//   NTX_E_TIMEOUT  curl's own deadline (a backstop; the host's action timeout normally ends first)
//   NTX_E_CLOSED   the server closed before the transfer or reply was complete
//   NTX_E_PROTOCOL the server's replies made no sense
//   NTX_E_IO       a read or write on a connection failed, or the local upload file could not be read
ntx_status_t status_for(CURLcode code) noexcept;

}  // namespace ntx::ftp
