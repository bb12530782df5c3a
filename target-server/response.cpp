#include "response.hpp"

#include <ostream>  // boost/core/detail/string_view.hpp (via status.hpp) needs it in 1.81

#include <boost/beast/http/status.hpp>

#include <charconv>

namespace ntx_target {

void append_number(std::string& out, std::size_t v) {
    char buf[24];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
    (void)ec;
    out.append(buf, p);
}

void append_head(std::string& out, unsigned status, ConnHeader conn, std::string_view content_type,
                 bool has_length, std::size_t content_length, bool chunked) {
    namespace http = boost::beast::http;
    std::string_view reason = http::obsolete_reason(http::int_to_status(status));
    if (reason.empty() || reason.front() == '<') reason = "Unknown";
    out.append("HTTP/1.1 ");
    append_number(out, status);
    out.push_back(' ');
    out.append(reason);
    out.append("\r\nServer: ntx-target\r\n");
    if (!content_type.empty()) {
        out.append("Content-Type: ");
        out.append(content_type);
        out.append("\r\n");
    }
    if (chunked) {
        out.append("Transfer-Encoding: chunked\r\n");
    } else if (has_length) {
        out.append("Content-Length: ");
        append_number(out, content_length);
        out.append("\r\n");
    }
    switch (conn) {
        case ConnHeader::none: break;
        case ConnHeader::keep_alive: out.append("Connection: keep-alive\r\n"); break;
        case ConnHeader::close: out.append("Connection: close\r\n"); break;
    }
    out.append("\r\n");
}

void append_response(std::string& out, unsigned status, ConnHeader conn,
                     std::string_view content_type, std::string_view body) {
    append_head(out, status, conn, content_type, true, body.size());
    out.append(body);
}

void append_chunk(std::string& out, std::string_view data) {
    char buf[20];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, data.size(), 16);
    (void)ec;
    out.append(buf, p);
    out.append("\r\n");
    out.append(data);
    out.append("\r\n");
}

}  // namespace ntx_target
