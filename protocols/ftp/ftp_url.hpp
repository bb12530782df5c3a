// The `url` action parameter: ftp://host[:port][/path]. Credentials never travel in it (user and
// password are params of their own, so no URL the plugin logs can carry a password).
#pragma once

#include <ntx/sdk/error.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace ntx::ftp {

using sdk::Error;

struct Url {
    std::string text;       // the URL as curl gets it (scheme lowercased)
    std::string host;       // a name or numeric address (IPv6 without brackets)
    std::uint16_t port = 21;
    std::string path;       // as written after the authority: "" or starting with '/' (still percent-encoded)

    // The path names a directory: empty or ending in '/'.
    bool is_directory() const noexcept { return path.empty() || path.back() == '/'; }
    // The URL with a '/' appended when the path does not already end in one (LIST, login).
    std::string directory_text() const;
};

// Parses `text` into `out` (written only on success). ftps:// and sftp:// give NTX_E_UNSUPPORTED,
// user info ("user:pass@") NTX_E_INVALID with a hint to use the user / password params, anything
// else malformed NTX_E_INVALID.
Error parse_url(std::string_view text, Url &out);

// The last path segment, percent-decoded: the file name an FTP command names after curl changed to
// its directory. Empty names and names with CR, LF or NUL (command injection) are NTX_E_INVALID.
Error file_name(const Url &url, std::string &out);

// `text` with every occurrence of `secret` replaced by "***" (no-op for an empty secret).
std::string mask(std::string_view text, std::string_view secret);

}  // namespace ntx::ftp
