#include "response_parser.hpp"

#include <string_view>

namespace ntx::http {
namespace {

std::string_view sv(boost::beast::string_view s) noexcept { return std::string_view(s.data(), s.size()); }

}  // namespace

ResponseParser::ResponseParser(ResponseSink &sink, std::uint32_t header_limit, std::uint64_t body_limit,
                               bool head) noexcept
    : sink_(sink) {
    this->header_limit(header_limit);
    this->body_limit(body_limit);
    eager(true);
    if (head) skip(true);
}

void ResponseParser::on_request_impl(boost::beast::http::verb, string_view, string_view, int, error_code &) {
    // Never called: this parser reads responses.
}

void ResponseParser::on_response_impl(int code, string_view reason, int /*version*/, error_code & /*ec*/) {
    sink_.status = static_cast<unsigned>(code);
    sink_.body.clear();
    sink_.location.clear();
    sink_.set_cookie_count = 0;
    sink_.content_encoding.clear();
    if (!sink_.want_result) return;
    // A new status-line starts over (an interim 1xx's fields are not the final response's).
    sink_.fields->clear();
    sink_.fields->add_uint("status", sink_.status);
    sink_.fields->add("reason", sv(reason));
}

void ResponseParser::on_field_impl(boost::beast::http::field f, string_view name, string_view value,
                                   error_code & /*ec*/) {
    if (sink_.want_location && f == boost::beast::http::field::location) sink_.location.assign(sv(value));
    if (sink_.want_cookies && f == boost::beast::http::field::set_cookie) {
        if (sink_.set_cookie_count == sink_.set_cookies.size()) sink_.set_cookies.emplace_back();
        sink_.set_cookies[sink_.set_cookie_count++].assign(sv(value));
    }
    if (sink_.want_result && f == boost::beast::http::field::content_encoding) {
        if (!sink_.content_encoding.empty()) sink_.content_encoding.append(", ");
        sink_.content_encoding.append(sv(value));
    }
    if (sink_.want_result) sink_.fields->add_header(sv(name), sv(value));
}

void ResponseParser::on_header_impl(error_code & /*ec*/) {}

void ResponseParser::on_body_init_impl(const boost::optional<std::uint64_t> &content_length, error_code & /*ec*/) {
    // basic_parser has already refused a Content-Length over the body limit.
    if (sink_.want_result && content_length && *content_length > sink_.body.capacity()) {
        sink_.body.reserve(static_cast<std::size_t>(*content_length));
    }
}

std::size_t ResponseParser::on_body_impl(string_view body, error_code & /*ec*/) {
    if (sink_.want_result) sink_.body.append(body.data(), body.size());
    return body.size();
}

void ResponseParser::on_chunk_header_impl(std::uint64_t, string_view, error_code &) {}

std::size_t ResponseParser::on_chunk_body_impl(std::uint64_t /*remain*/, string_view body, error_code & /*ec*/) {
    if (sink_.want_result) sink_.body.append(body.data(), body.size());
    return body.size();
}

void ResponseParser::on_finish_impl(error_code & /*ec*/) {}

}  // namespace ntx::http
