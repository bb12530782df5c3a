// The incremental HTTP/1.1 response parser: Beast's basic_parser (the wire syntax, framing, limits,
// keep-alive) with callbacks that write straight into storage the connection keeps across actions.
//
// Beast's basic_parser cannot be reset (1.81), so the connection constructs one per response
// (std::optional::emplace). That construction allocates nothing: there is no field container, and
// basic_parser's own scratch buffer is only used for multi-buffer input, which we never pass. Fields
// and body are copied only when the action's result is read (ResponseSink::want_result): otherwise
// the parser keeps the status and nothing else.
#pragma once

#include "result.hpp"

#include <boost/beast/http/basic_parser.hpp>

#include <cstdint>
#include <string>
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

class ResponseParser final : public boost::beast::http::basic_parser<false> {
public:
    // Limits, eager mode and, for HEAD, skipping the body are set here.
    ResponseParser(ResponseSink &sink, std::uint32_t header_limit, std::uint64_t body_limit, bool head) noexcept;

private:
    using string_view = boost::beast::string_view;
    using error_code = boost::beast::error_code;

    void on_request_impl(boost::beast::http::verb, string_view, string_view, int, error_code &) override;
    void on_response_impl(int code, string_view reason, int version, error_code &ec) override;
    void on_field_impl(boost::beast::http::field, string_view name, string_view value, error_code &ec) override;
    void on_header_impl(error_code &ec) override;
    void on_body_init_impl(const boost::optional<std::uint64_t> &content_length, error_code &ec) override;
    std::size_t on_body_impl(string_view body, error_code &ec) override;
    void on_chunk_header_impl(std::uint64_t size, string_view extensions, error_code &ec) override;
    std::size_t on_chunk_body_impl(std::uint64_t remain, string_view body, error_code &ec) override;
    void on_finish_impl(error_code &ec) override;

    ResponseSink &sink_;
};

}  // namespace ntx::http
