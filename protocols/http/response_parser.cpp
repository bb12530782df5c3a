#include "response_parser.hpp"

#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <cstring>

namespace ntx::http {
namespace {

using boost::beast::http::error;

// The longest chunk-size line (size and extensions) a chunked body may have.
constexpr std::size_t kMaxChunkLine = 4096;

// RFC 9110 tchar: what a field name is made of.
constexpr bool is_tchar(unsigned char c) noexcept {
    if (c >= '0' && c <= '9') return true;
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
    for (char t : std::string_view("!#$%&'*+-.^_`|~"))
        if (c == static_cast<unsigned char>(t)) return true;
    return false;
}

struct TcharTable {
    unsigned char v[256]{};
    constexpr TcharTable() {
        for (int c = 0; c < 256; ++c) v[c] = is_tchar(static_cast<unsigned char>(c)) ? 1 : 0;
    }
};
constexpr TcharTable kTchar;

// `s` equals `lower` (lower case letters and '-') ignoring case. OR-ing 0x20 folds A-Z onto a-z; the
// only other byte it maps onto '-' is CR, which no name holds.
bool iequals(std::string_view s, std::string_view lower) noexcept {
    if (s.size() != lower.size()) return false;
    for (std::size_t i = 0; i < s.size(); ++i)
        if ((static_cast<unsigned char>(s[i]) | 0x20) != static_cast<unsigned char>(lower[i])) return false;
    return true;
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// Calls f(token) for each element of a comma-separated list, trimmed, empty ones skipped.
template <class F>
void for_each_token(std::string_view list, F &&f) {
    while (!list.empty()) {
        const std::size_t comma = list.find(',');
        const std::string_view tok = trim(list.substr(0, comma));
        if (!tok.empty()) f(tok);
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
}

bool parse_decimal(std::string_view s, std::uint64_t &out) noexcept {
    if (s.empty() || s.size() > 19) return false;  // 19 digits always fit in 64 bits
    std::uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<unsigned>(c - '0');
    }
    out = v;
    return true;
}

}  // namespace

ResponseParser::ResponseParser(ResponseSink &sink, std::uint32_t header_limit, std::uint64_t body_limit,
                               bool head) noexcept
    : sink_(sink), body_limit_(body_limit), header_limit_(header_limit), head_(head) {}

bool ResponseParser::keep_alive() const noexcept {
    if (flags_ & kToEof) return false;  // the body ended with the connection
    if (version_ >= 11) return (flags_ & kClose) == 0;
    return (flags_ & kKeepAlive) != 0;
}

std::size_t ResponseParser::put(boost::asio::const_buffer in, boost::beast::error_code &ec) {
    ec = {};
    const char *const p = static_cast<const char *>(in.data());
    const std::size_t n = in.size();
    if (state_ == State::done) return 0;
    if (state_ != State::header) {
        const std::size_t used = put_body(p, n, ec);
        if (!ec && state_ != State::done) ec = error::need_more;
        return used;
    }
    // Not HTTP/1 at all (an h2 frame, TLS to a plain port): said at once, not at the header limit.
    if (parsed_ == 0 && std::memcmp(p, "HTTP/1.", std::min<std::size_t>(n, 7)) != 0) {
        ec = error::bad_version;
        return 0;
    }
    // The header: whole lines from where the last call stopped (the caller passes them again).
    std::size_t at = parsed_;
    for (;;) {
        const void *nl = at < n ? std::memchr(p + at, '\n', n - at) : nullptr;
        if (nl == nullptr) {
            if (n > header_limit_) {
                ec = error::header_limit;
            } else {
                parsed_ = static_cast<std::uint32_t>(at);
                ec = error::need_more;
            }
            return 0;
        }
        const std::size_t end = static_cast<std::size_t>(static_cast<const char *>(nl) - p);
        if (end + 1 > header_limit_) {
            ec = error::header_limit;
            return 0;
        }
        if (end == at || p[end - 1] != '\r') {
            ec = error::bad_line_ending;
            return 0;
        }
        const std::string_view line(p + at, end - 1 - at);
        const bool first = at == 0;
        at = end + 1;
        if (first) {
            if (!parse_status_line(line, ec)) return 0;
        } else if (line.empty()) {
            break;
        } else if (!parse_field(line, ec)) {
            return 0;
        }
    }
    start_body(ec);
    if (ec) return 0;
    std::size_t used = at;
    if (state_ != State::done) {
        used += put_body(p + at, n - at, ec);
        if (!ec && state_ != State::done) ec = error::need_more;
    }
    return used;
}

bool ResponseParser::parse_status_line(std::string_view line, boost::beast::error_code &ec) {
    // HTTP/1.x SP 3DIGIT SP [reason] (the second SP is required, as Beast required it)
    if (line.size() < 8 || line.substr(0, 7) != "HTTP/1." || line[7] < '0' || line[7] > '9') {
        ec = error::bad_version;
        return false;
    }
    version_ = static_cast<std::uint8_t>(10 + (line[7] - '0'));
    if (line.size() < 12 || line[8] != ' ') {
        ec = error::bad_status;
        return false;
    }
    unsigned code = 0;
    for (std::size_t i = 9; i < 12; ++i) {
        if (line[i] < '0' || line[i] > '9') {
            ec = error::bad_status;
            return false;
        }
        code = code * 10 + static_cast<unsigned>(line[i] - '0');
    }
    if (line.size() < 13 || line[12] != ' ') {
        ec = error::bad_reason;
        return false;
    }
    const std::string_view reason = line.substr(13);
    for (char c : reason) {
        const auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && u != '\t') || u == 0x7f) {
            ec = error::bad_reason;
            return false;
        }
    }
    sink_.status = code;
    sink_.body.clear();
    sink_.location.clear();
    sink_.set_cookie_count = 0;
    sink_.content_encoding.clear();
    if (sink_.want_result) {
        // A new status-line starts over (an interim 1xx's fields are not the final response's).
        sink_.fields->clear();
        sink_.fields->add_uint("status", code);
        sink_.fields->add("reason", reason);
    }
    return true;
}

bool ResponseParser::parse_field(std::string_view line, boost::beast::error_code &ec) {
    // The name's bytes must all be tchars: four at a time while four remain (most names are 4-16 bytes).
    const auto *u = reinterpret_cast<const unsigned char *>(line.data());
    std::size_t colon = 0;
    while (colon + 4 <= line.size() &&
           (kTchar.v[u[colon]] & kTchar.v[u[colon + 1]] & kTchar.v[u[colon + 2]] & kTchar.v[u[colon + 3]]) != 0)
        colon += 4;
    while (colon < line.size() && kTchar.v[u[colon]]) ++colon;
    if (colon == 0 || colon == line.size() || line[colon] != ':') {
        // Also a continuation line (obs-fold), which RFC 9112 lets a recipient refuse.
        ec = (line[0] == ' ' || line[0] == '\t') ? error::bad_obs_fold : error::bad_field;
        return false;
    }
    const std::string_view name = line.substr(0, colon);
    const std::string_view raw = line.substr(colon + 1);  // trimmed only where it is read
    std::string_view value;
    if (sink_.want_result) value = trim(raw);
    switch (name.size()) {
    case 8:
        if (sink_.want_location && iequals(name, "location")) sink_.location.assign(trim(raw));
        break;
    case 10:
        if (iequals(name, "connection")) {
            for_each_token(raw, [&](std::string_view t) {
                if (iequals(t, "close")) flags_ |= kClose;
                else if (iequals(t, "keep-alive")) flags_ |= kKeepAlive;
                else if (iequals(t, "upgrade")) flags_ |= kUpgrade;
            });
        } else if (sink_.want_cookies && iequals(name, "set-cookie")) {
            if (sink_.set_cookie_count == sink_.set_cookies.size()) sink_.set_cookies.emplace_back();
            sink_.set_cookies[sink_.set_cookie_count++].assign(trim(raw));
        }
        break;
    case 14:
        if (iequals(name, "content-length")) {
            value = trim(raw);
            if (flags_ & kChunked) {
                ec = error::bad_content_length;  // conflicts with the chunked framing
                return false;
            }
            bool bad = value.empty(), differs = false;
            std::uint64_t length = content_length_;
            bool have = (flags_ & kContentLength) != 0;
            std::size_t items = 0;
            for_each_token(value, [&](std::string_view t) {
                ++items;
                std::uint64_t v = 0;
                if (!parse_decimal(t, v)) bad = true;
                else if (have && v != length) differs = true;
                else length = v, have = true;
            });
            if (bad || items != static_cast<std::size_t>(std::count(value.begin(), value.end(), ',')) + 1) {
                ec = error::bad_content_length;
                return false;
            }
            if (differs) {
                ec = error::multiple_content_length;
                return false;
            }
            content_length_ = length;
            flags_ |= kContentLength;
        }
        break;
    case 16:
        if (sink_.want_result && iequals(name, "content-encoding")) {
            if (!sink_.content_encoding.empty()) sink_.content_encoding.append(", ");
            sink_.content_encoding.append(value);
        }
        break;
    case 17:
        if (iequals(name, "transfer-encoding")) {
            if (flags_ & (kChunked | kContentLength)) {
                ec = error::bad_transfer_encoding;  // chunked twice, or beside a Content-Length
                return false;
            }
            flags_ |= kTransferEncoding;
            // Chunked framing only when chunked is the last coding; otherwise the body runs to the close.
            std::string_view last;
            for_each_token(raw, [&](std::string_view t) { last = t; });
            if (iequals(last, "chunked")) flags_ |= kChunked;
        }
        break;
    default:
        break;
    }
    if (sink_.want_result) sink_.fields->add_header(name, value);
    return true;
}

void ResponseParser::start_body(boost::beast::error_code &ec) {
    const unsigned s = sink_.status;
    if (head_ || s / 100 == 1 || s == 204 || s == 304) {
        state_ = State::done;  // no body, whatever the fields say
    } else if (flags_ & kContentLength) {
        if (content_length_ > body_limit_) {
            ec = error::body_limit;
            return;
        }
        if (sink_.want_result && content_length_ > sink_.body.capacity())
            sink_.body.reserve(static_cast<std::size_t>(content_length_));
        remain_ = content_length_;
        state_ = remain_ > 0 ? State::body_length : State::done;
    } else if (flags_ & kChunked) {
        state_ = State::chunk_size;
    } else {
        flags_ |= kToEof;
        state_ = State::body_to_eof;
    }
}

void ResponseParser::append_body(const char *p, std::size_t n) {
    if (sink_.want_result) sink_.body.append(p, n);
}

std::size_t ResponseParser::put_body(const char *p, std::size_t n, boost::beast::error_code &ec) {
    std::size_t i = 0;
    for (;;) {
        switch (state_) {
        case State::body_length: {
            const std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(remain_, n - i));
            append_body(p + i, k);
            i += k;
            remain_ -= k;
            if (remain_ == 0) state_ = State::done;
            return i;
        }
        case State::body_to_eof: {
            const std::size_t k = n - i;
            if (body_bytes_ + k > body_limit_) {
                ec = error::body_limit;
                return i;
            }
            body_bytes_ += k;
            append_body(p + i, k);
            return n;
        }
        case State::chunk_size: {
            const void *nl = i < n ? std::memchr(p + i, '\n', n - i) : nullptr;
            if (nl == nullptr) {
                if (n - i > kMaxChunkLine) ec = error::bad_chunk;
                return i;
            }
            const std::size_t end = static_cast<std::size_t>(static_cast<const char *>(nl) - p);
            if (end == i || p[end - 1] != '\r' || end - i > kMaxChunkLine) {
                ec = error::bad_chunk;
                return i;
            }
            // chunk-size [BWS ; extensions] CRLF: the extensions are ignored.
            std::uint64_t size = 0;
            std::size_t j = i, digits = 0;
            for (; j < end - 1; ++j, ++digits) {
                const char c = p[j];
                unsigned d;
                if (c >= '0' && c <= '9') d = static_cast<unsigned>(c - '0');
                else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') d = static_cast<unsigned>((c | 0x20) - 'a' + 10);
                else break;
                if (digits == 16) {
                    ec = error::bad_chunk;  // over 64 bits
                    return i;
                }
                size = size * 16 + d;
            }
            if (digits == 0 || (j < end - 1 && p[j] != ';' && p[j] != ' ' && p[j] != '\t')) {
                ec = error::bad_chunk;
                return i;
            }
            i = end + 1;
            if (size == 0) {
                remain_ = 0;  // now counts trailer bytes
                state_ = State::trailers;
                continue;
            }
            if (size > body_limit_ - std::min(body_bytes_, body_limit_)) {
                ec = error::body_limit;
                return i;
            }
            body_bytes_ += size;
            remain_ = size;
            state_ = State::chunk_data;
            continue;
        }
        case State::chunk_data: {
            const std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(remain_, n - i));
            append_body(p + i, k);
            i += k;
            remain_ -= k;
            if (remain_ > 0) return i;
            state_ = State::chunk_end;
            continue;
        }
        case State::chunk_end:
            if (n - i < 2) {
                if (n - i == 1 && p[i] != '\r') ec = error::bad_chunk;
                return i;
            }
            if (p[i] != '\r' || p[i + 1] != '\n') {
                ec = error::bad_chunk;
                return i;
            }
            i += 2;
            state_ = State::chunk_size;
            continue;
        case State::trailers: {
            const void *nl = i < n ? std::memchr(p + i, '\n', n - i) : nullptr;
            if (nl == nullptr) {
                if (remain_ + (n - i) > header_limit_) ec = error::header_limit;
                return i;
            }
            const std::size_t end = static_cast<std::size_t>(static_cast<const char *>(nl) - p);
            if (end == i || p[end - 1] != '\r') {
                ec = error::bad_line_ending;
                return i;
            }
            remain_ += end + 1 - i;
            if (remain_ > header_limit_) {
                ec = error::header_limit;
                return i;
            }
            const bool last = end == i + 1;  // the empty line
            i = end + 1;
            if (last) {
                state_ = State::done;
                return i;
            }
            continue;  // trailer fields are not kept
        }
        case State::header:
        case State::done:
            return i;
        }
    }
}

void ResponseParser::put_eof(boost::beast::error_code &ec) {
    ec = {};
    if (state_ == State::done) return;
    if (state_ == State::body_to_eof) {
        state_ = State::done;
        return;
    }
    ec = error::partial_message;
}

}  // namespace ntx::http
