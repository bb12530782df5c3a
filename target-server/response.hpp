// Writing HTTP/1.1 responses as raw text into a reused per-connection string: no header containers,
// no per-response allocation once the string has grown to its working size.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ntx_target {

// What the response says about the connection.
enum class ConnHeader {
    none,        // HTTP/1.1 keep-alive (the default): no header
    keep_alive,  // HTTP/1.0 client that asked for keep-alive
    close,       // the server closes after this response
};

inline constexpr std::string_view json_type = "application/json";
inline constexpr std::string_view text_type = "text/plain";

// Appends the status line and headers, ending with the blank line. With has_length false no
// Content-Length is written (204/304, or chunked when chunked is true).
void append_head(std::string& out, unsigned status, ConnHeader conn, std::string_view content_type,
                 bool has_length, std::size_t content_length, bool chunked = false);

// Appends a complete response with a small body.
void append_response(std::string& out, unsigned status, ConnHeader conn,
                     std::string_view content_type, std::string_view body);

// Appends one chunk of a chunked body ("<hex>\r\n<data>\r\n"); an empty data ends the body.
void append_chunk(std::string& out, std::string_view data);

void append_number(std::string& out, std::size_t v);

}  // namespace ntx_target
