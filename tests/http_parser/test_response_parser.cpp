// The HTTP plugin's response parser (protocols/http/response_parser.cpp) against Beast's, which it
// replaced: the same bytes, cut at every position and fed as the connection feeds them (what a put
// leaves unconsumed comes again, followed by the rest), must give the same outcome, status, body and
// keep-alive. Where the two differ on purpose (obs-fold), a case of its own says so.
#include "protocols/http/response_parser.hpp"

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <string_view>

namespace http = boost::beast::http;
using ntx::http::ResponseParser;
using ntx::http::ResponseSink;
using ntx::http::ResultFields;

namespace {

constexpr std::uint32_t kHeaderLimit = 256;
constexpr std::uint64_t kBodyLimit = 64;

// What a parse ends in: "done", "more" (needs more bytes), or the error's class as the connection
// maps it (limit, closed, protocol).
struct Outcome {
    std::string end;
    unsigned status = 0;
    std::string body;
    bool keep_alive = false;
    std::size_t consumed = 0;
    bool operator==(const Outcome &o) const {
        return end == o.end && (end != "done" || (status == o.status && body == o.body && keep_alive == o.keep_alive &&
                                                  consumed == o.consumed));
    }
};

std::ostream &operator<<(std::ostream &os, const Outcome &o) {
    return os << "{" << o.end << ", " << o.status << ", '" << o.body << "', keep_alive " << o.keep_alive << ", consumed "
              << o.consumed << "}";
}

std::string error_class(const boost::beast::error_code &ec) {
    if (ec == http::error::header_limit || ec == http::error::body_limit || ec == http::error::buffer_overflow)
        return "limit";
    if (ec == http::error::partial_message) return "closed";
    return "protocol";
}

// Feeds `input` in two pieces cut at `cut`, then the peer's close if `eof`.
template <class Parser, class Status, class Body>
Outcome drive(Parser &p, std::string_view input, std::size_t cut, bool eof, Status status, Body body) {
    Outcome out;
    std::string pending;
    auto finish = [&] {
        out.end = "done";
        out.status = status();
        out.body = body();
        out.keep_alive = p.keep_alive();
    };
    for (std::string_view piece : {input.substr(0, cut), input.substr(cut)}) {
        pending.append(piece);
        while (!pending.empty()) {
            boost::beast::error_code ec;
            const std::size_t used = p.put(boost::asio::const_buffer(pending.data(), pending.size()), ec);
            pending.erase(0, used);
            out.consumed += used;
            if (ec == http::error::need_more) break;
            if (ec) {
                out.end = error_class(ec);
                return out;
            }
            if (p.is_done()) {
                finish();
                return out;
            }
            if (used == 0) break;
        }
    }
    if (eof) {
        boost::beast::error_code ec;
        p.put_eof(ec);
        if (ec) {
            out.end = error_class(ec);
            return out;
        }
        if (p.is_done()) {
            finish();
            return out;
        }
    }
    out.end = "more";
    return out;
}

Outcome ours(std::string_view input, std::size_t cut, bool eof, bool head, bool want_result = true) {
    ResultFields fields;
    ResponseSink sink;
    sink.want_result = want_result;
    sink.fields = &fields;
    ResponseParser p(sink, kHeaderLimit, kBodyLimit, head);
    return drive(p, input, cut, eof, [&] { return sink.status; }, [&] { return sink.body; });
}

Outcome beasts(std::string_view input, std::size_t cut, bool eof, bool head) {
    http::response_parser<http::string_body> p;
    p.header_limit(kHeaderLimit);
    p.body_limit(kBodyLimit);
    p.eager(true);
    if (head) p.skip(true);
    return drive(p, input, cut, eof, [&] { return p.get().result_int(); }, [&] { return p.get().body(); });
}

struct Case {
    const char *name;
    std::string bytes;
    bool eof = false;
    bool head = false;
    // Where this parser is stricter than Beast on purpose: the outcome at every cut (Beast's varies
    // with where the bytes were cut).
    const char *always = nullptr;
};

}  // namespace

TEST_CASE("the response parser agrees with Beast's on every cut of each response", "[http][parser]") {
    const std::string big_header = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(300, 'a') + "\r\nContent-Length: 0\r\n\r\n";
    const Case cases[] = {
        {"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: t\r\n\r\nhello"},
        {"no reason", "HTTP/1.1 404 \r\nContent-Length: 2\r\n\r\nno"},
        {"no reason, no space (refused)", "HTTP/1.1 404\r\nContent-Length: 2\r\n\r\nno"},
        {"chunked with extensions and trailers",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-T: 1\r\n\r\n"},
        {"chunked, upper-case hex", "HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, CHUNKED\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n"},
        {"to the close", "HTTP/1.1 200 OK\r\n\r\nbody until close", true},
        {"to the close, never closed", "HTTP/1.1 200 OK\r\n\r\nbody until close", false},
        {"te not chunked runs to the close", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzzz", true},
        {"1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok"},
        {"1.0 default close", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"},
        {"1.1 close", "HTTP/1.1 200 OK\r\nConnection: upgrade, close\r\nContent-Length: 2\r\n\r\nok"},
        {"204 with a length", "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n"},
        {"304", "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n"},
        {"head", "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", false, true},
        {"100 continue", "HTTP/1.1 100 Continue\r\n\r\n"},
        {"same length twice", "HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc"},
        {"zero length", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"},
        {"cut body then close", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", true},
        {"cut header then close", "HTTP/1.1 200 OK\r\nContent-Le", true},
        {"cut chunk then close", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhe", true},
        {"bad version", "HTTX/1.1 200 OK\r\n\r\n"},
        {"http/2 frames: refused from the first bytes", std::string("\0\0\x12\x04\0\0\0\0\0\0\x03\0\0\0\x64", 15),
         false, false, "protocol"},
        {"tls alert to a plain request", std::string("\x15\x03\x01\x00\x02\x02\x50", 7), true, false, "protocol"},
        {"bad status", "HTTP/1.1 2x0 OK\r\n\r\n"},
        {"length and chunked", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
        {"chunked and length", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc"},
        {"chunked twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
        {"lengths differ", "HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\nabcd"},
        {"length not a number", "HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n"},
        {"length negative", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"},
        {"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"},
        {"chunk without its CRLF", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n"},
        {"header over the limit", big_header},
        {"length over the body limit", "HTTP/1.1 200 OK\r\nContent-Length: 65\r\n\r\n"},
        {"chunks over the body limit",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n20\r\n" + std::string(32, 'x') + "\r\n21\r\n" +
             std::string(33, 'y') + "\r\n0\r\n\r\n"},
        {"to the close over the body limit", "HTTP/1.1 200 OK\r\n\r\n" + std::string(65, 'z'), true},
        {"bare LF: refused at the first line", "HTTP/1.1 200 OK\nContent-Length: 0\n\n", false, false, "protocol"},
        {"space in a name", "HTTP/1.1 200 OK\r\nBad Name: x\r\nContent-Length: 0\r\n\r\n"},
        {"space before the colon", "HTTP/1.1 200 OK\r\nName : x\r\nContent-Length: 0\r\n\r\n"},
        {"no colon", "HTTP/1.1 200 OK\r\nNameless\r\nContent-Length: 0\r\n\r\n"},
    };
    for (const Case &c : cases) {
        for (bool want_result : {true, false}) {
            for (std::size_t cut = 0; cut <= c.bytes.size(); ++cut) {
                INFO(c.name << ", cut at " << cut << (want_result ? "" : ", result not read"));
                Outcome got = ours(c.bytes, cut, c.eof, c.head, want_result);
                if (c.always) {
                    REQUIRE(got.end == c.always);
                    continue;
                }
                const Outcome expected = beasts(c.bytes, cut, c.eof, c.head);
                if (!want_result) got.body = expected.body;  // not stored: nothing to compare
                REQUIRE(got == expected);
            }
        }
    }
}

TEST_CASE("fields reach the result, the cookie jar and the redirect, whatever their case", "[http][parser]") {
    ResultFields fields;
    ResponseSink sink;
    sink.want_result = sink.want_location = sink.want_cookies = true;
    sink.fields = &fields;
    ResponseParser p(sink, 4096, 4096, false);
    const std::string in =
        "HTTP/1.1 302 Found\r\nLOCATION: /next\r\nset-cookie: a=1\r\nSet-Cookie: b=2; Path=/\r\n"
        "Content-Encoding: gzip\r\ncontent-encoding:  br \r\nContent-Length: 0\r\n\r\n";
    boost::beast::error_code ec;
    CHECK(p.put(boost::asio::const_buffer(in.data(), in.size()), ec) == in.size());
    CHECK_FALSE(ec);
    CHECK(p.is_done());
    CHECK(sink.status == 302);
    CHECK(sink.location == "/next");
    REQUIRE(sink.set_cookie_count == 2);
    CHECK(sink.set_cookies[0] == "a=1");
    CHECK(sink.set_cookies[1] == "b=2; Path=/");
    CHECK(sink.content_encoding == "gzip, br");
}

TEST_CASE("a folded field line is refused (RFC 9112 lets a recipient), where Beast unfolds it", "[http][parser]") {
    ResultFields fields;
    ResponseSink sink;
    sink.fields = &fields;
    ResponseParser p(sink, 4096, 4096, false);
    const std::string in = "HTTP/1.1 200 OK\r\nX-A: one\r\n two\r\nContent-Length: 0\r\n\r\n";
    boost::beast::error_code ec;
    p.put(boost::asio::const_buffer(in.data(), in.size()), ec);
    CHECK(ec == http::error::bad_obs_fold);
}

TEST_CASE("a header that never ends stops at the header limit, not before", "[http][parser]") {
    ResultFields fields;
    ResponseSink sink;
    sink.fields = &fields;
    ResponseParser p(sink, 100, 4096, false);
    std::string in = "HTTP/1.1 200 OK\r\nX-Slow: ";
    boost::beast::error_code ec;
    while (in.size() <= 100) {
        CHECK(p.put(boost::asio::const_buffer(in.data(), in.size()), ec) == 0);
        REQUIRE(ec == http::error::need_more);
        in += "a\r\nX: ";  // one more whole field line each time: parsed once, not again
    }
    p.put(boost::asio::const_buffer(in.data(), in.size()), ec);
    CHECK(ec == http::error::header_limit);
}
