// The HTTP plugin's response parser (protocols/http/response_parser.cpp) against Beast's
// basic_parser, which it replaced, on the responses the benchmarks' servers send: ntx-target's GET
// reply (three fields and a short body) and an nginx-like one (seven fields). The result is not read
// (the plain GET's case): status, framing and keep-alive only.
#include "protocols/http/response_parser.hpp"

#include <benchmark/benchmark.h>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

#include <string>

namespace {

const std::string kTarget =
    "HTTP/1.1 200 OK\r\nServer: ntx-target\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok";
const std::string kNginx =
    "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 07 Dec 2026 21:00:00 GMT\r\n"
    "Content-Type: text/html\r\nContent-Length: 13\r\nLast-Modified: Mon, 07 Dec 2026 20:00:00 GMT\r\n"
    "Connection: keep-alive\r\nETag: \"6571f0a0-d\"\r\nAccept-Ranges: bytes\r\n\r\nhello, world\n";

// What the plugin did before: Beast's parser with callbacks that keep the status only.
class BeastStatusOnly final : public boost::beast::http::basic_parser<false> {
public:
    unsigned status = 0;

private:
    using sv = boost::beast::string_view;
    using ec_t = boost::beast::error_code;
    void on_request_impl(boost::beast::http::verb, sv, sv, int, ec_t &) override {}
    void on_response_impl(int code, sv, int, ec_t &) override { status = static_cast<unsigned>(code); }
    void on_field_impl(boost::beast::http::field, sv, sv, ec_t &) override {}
    void on_header_impl(ec_t &) override {}
    void on_body_init_impl(const boost::optional<std::uint64_t> &, ec_t &) override {}
    std::size_t on_body_impl(sv body, ec_t &) override { return body.size(); }
    void on_chunk_header_impl(std::uint64_t, sv, ec_t &) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, sv body, ec_t &) override { return body.size(); }
    void on_finish_impl(ec_t &) override {}
};

void BM_ResponseParseNtx(benchmark::State &state, const std::string *in) {
    ntx::http::ResultFields fields;
    ntx::http::ResponseSink sink;
    sink.fields = &fields;
    for (auto _ : state) {
        ntx::http::ResponseParser p(sink, 8192, 1 << 20, false);
        boost::beast::error_code ec;
        benchmark::DoNotOptimize(p.put(boost::asio::const_buffer(in->data(), in->size()), ec));
        if (!p.is_done() || !p.keep_alive()) state.SkipWithError("not parsed");
    }
}

void BM_ResponseParseBeast(benchmark::State &state, const std::string *in) {
    for (auto _ : state) {
        BeastStatusOnly p;
        p.header_limit(8192);
        p.body_limit(1 << 20);
        p.eager(true);
        boost::beast::error_code ec;
        benchmark::DoNotOptimize(p.put(boost::asio::const_buffer(in->data(), in->size()), ec));
        if (!p.is_done() || !p.keep_alive()) state.SkipWithError("not parsed");
    }
}

}  // namespace

BENCHMARK_CAPTURE(BM_ResponseParseNtx, target, &kTarget);
BENCHMARK_CAPTURE(BM_ResponseParseBeast, target, &kTarget);
BENCHMARK_CAPTURE(BM_ResponseParseNtx, nginx, &kNginx);
BENCHMARK_CAPTURE(BM_ResponseParseBeast, nginx, &kNginx);
