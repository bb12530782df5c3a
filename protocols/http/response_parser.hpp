// The incremental HTTP/1.1 response parser: status line, the fields that frame the message or that an
// action asked for, and the body (Content-Length, chunked, or until the peer closes), with limits.
//
// Written here rather than taken from a package because it is the hottest code of a load test: Beast's
// basic_parser (which this replaces) spent ~2,100 instructions on a typical response, most of them
// mapping every field name to Beast's field enum and validating every byte of values nobody reads;
// Debian's other C parser, libhttp-parser, is unmaintained upstream and walks byte by byte. This one
// finds lines with memchr, recognises the six names it cares about by length and one compare, and
// leaves the values it does not keep unread. It reports errors as Beast's http::error codes, so the
// connection's mapping of errors to outcomes is unchanged, and tests/test_http_response_parser.cpp
// checks it against Beast's parser on the same bytes, cut at every position.
//
// One parser per response, kept in the connection (std::optional::emplace): construction is a few
// stores. Fields and body are copied only when the action's result is read (ResponseSink::want_result):
// otherwise the parser keeps the status and framing and nothing else.
#pragma once

#include "result.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ntx::http {

// What the parser fills in; owned by the connection, reused across responses.
struct ResponseSink {
    bool want_result = false;  // fill `fields` (status, reason, headers) and `body`
    unsigned status = 0;       // of the latest status-line (interim 1xx included)
    ResultFields *fields = nullptr;
    std::string body;
    bool want_location = false;  // keep the Location header (redirects are followed), results or not
    std::string location;
    bool want_cookies = false;   // keep the Set-Cookie headers (the jar is on), results or not
    std::vector<std::string> set_cookies;  // [0, set_cookie_count): this response's; the rest are spare
    std::size_t set_cookie_count = 0;
    std::string content_encoding;  // kept when want_result (the body is decoded)
};

class ResponseParser {
public:
    // `head`: the response to a HEAD request, which has no body whatever its fields say.
    ResponseParser(ResponseSink &sink, std::uint32_t header_limit, std::uint64_t body_limit, bool head) noexcept;

    // Consumes what it can of `in` and returns how many bytes. The bytes not consumed must be passed
    // again, followed by the new ones (a header is parsed only when complete; a partial line of a
    // chunked body waits for its end). `ec` is http::error::need_more when more is needed, another
    // http::error when the response is malformed or over a limit, or empty when is_done().
    std::size_t put(boost::asio::const_buffer in, boost::beast::error_code &ec);
    // The peer closed: completes a body delimited by the connection's end, else partial_message.
    void put_eof(boost::beast::error_code &ec);

    bool is_header_done() const noexcept { return state_ != State::header; }
    bool is_done() const noexcept { return state_ == State::done; }
    // Whether the connection may carry the next request once this response is done.
    bool keep_alive() const noexcept;

private:
    enum class State : std::uint8_t { header, body_length, body_to_eof, chunk_size, chunk_data, chunk_end, trailers, done };
    enum Flags : std::uint8_t {
        kClose = 1, kKeepAlive = 2, kChunked = 4, kContentLength = 8, kTransferEncoding = 16, kUpgrade = 32,
        kToEof = 64  // the body ends with the connection
    };

    bool parse_status_line(std::string_view line, boost::beast::error_code &ec);
    bool parse_field(std::string_view line, boost::beast::error_code &ec);
    void start_body(boost::beast::error_code &ec);
    std::size_t put_body(const char *p, std::size_t n, boost::beast::error_code &ec);
    void append_body(const char *p, std::size_t n);

    ResponseSink &sink_;
    std::uint64_t body_limit_;
    std::uint64_t remain_ = 0;      // of the Content-Length body or of the current chunk
    std::uint64_t body_bytes_ = 0;  // so far (chunked, to-eof): against the body limit
    std::uint64_t content_length_ = 0;
    std::uint32_t header_limit_;
    std::uint32_t parsed_ = 0;  // header bytes already parsed, whole lines (the caller passes them again)
    State state_ = State::header;
    std::uint8_t flags_ = 0;
    std::uint8_t version_ = 11;  // 10 or 11
    bool head_;
};

}  // namespace ntx::http
