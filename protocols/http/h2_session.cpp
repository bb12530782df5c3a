#include "h2_session.hpp"

#include <charconv>
#include <cstring>

namespace ntx::http {
namespace {

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

// Connection-specific fields have no place in HTTP/2 (RFC 9113 8.2.2); Host becomes :authority.
bool dropped(std::string_view name) noexcept {
    return iequals(name, "connection") || iequals(name, "keep-alive") || iequals(name, "proxy-connection") ||
           iequals(name, "transfer-encoding") || iequals(name, "upgrade") || iequals(name, "host");
}

nghttp2_nv nv(std::string_view name, std::string_view value) noexcept {
    return nghttp2_nv{reinterpret_cast<std::uint8_t *>(const_cast<char *>(name.data())),
                      reinterpret_cast<std::uint8_t *>(const_cast<char *>(value.data())), name.size(), value.size(),
                      NGHTTP2_NV_FLAG_NONE};
}

constexpr std::string_view kHex = "0123456789abcdef";

}  // namespace

struct H2Session::Callbacks {
    static H2Session &self(void *user_data) { return *static_cast<H2Session *>(user_data); }

    static int on_header(nghttp2_session *, const nghttp2_frame *frame, const std::uint8_t *name, std::size_t namelen,
                         const std::uint8_t *value, std::size_t valuelen, std::uint8_t, void *user_data) {
        H2Session &s = self(user_data);
        if (frame->hd.type != NGHTTP2_HEADERS || frame->hd.stream_id != s.stream_ || !s.response_) return 0;
        const std::string_view n(reinterpret_cast<const char *>(name), namelen);
        const std::string_view v(reinterpret_cast<const char *>(value), valuelen);
        if (s.head_done_) return 0;  // trailers: dropped, as the HTTP/1.1 path drops chunked trailers
        s.head_bytes_ += namelen + valuelen + 4;
        if (s.head_bytes_ > s.max_header_bytes_) {
            s.stream_error_ = Error{NTX_E_LIMIT, "http: h2 response header block exceeds max-header-bytes"};
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // resets the stream
        }
        std::string &out = *s.response_;
        if (n == ":status") {
            out.append("HTTP/1.1 ").append(v).append(" \r\n");
            s.interim_ = !v.empty() && v.front() == '1';
        } else if (n == "content-length" || n == "transfer-encoding") {
            // The stream re-frames the body for the parser (chunked, or Content-Length: 0).
        } else if (!n.empty() && n.front() != ':') {
            out.append(n).append(": ").append(v).append("\r\n");
        }
        return 0;
    }

    static int on_frame_recv(nghttp2_session *, const nghttp2_frame *frame, void *user_data) {
        H2Session &s = self(user_data);
        if (frame->hd.type == NGHTTP2_GOAWAY) {
            s.goaway_ = true;
            return 0;
        }
        if (frame->hd.stream_id != s.stream_ || !s.response_) return 0;
        const bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
        if (frame->hd.type == NGHTTP2_HEADERS && !s.head_done_) {
            if (s.interim_) {
                // 100 Continue, 103 Early Hints: a head of its own, which the parser skips.
                s.response_->append("\r\n");
                s.head_bytes_ = 0;
                s.interim_ = false;
                return 0;
            }
            // The head ends here; the body follows in chunked coding, whatever its length (none when
            // the HEADERS frame ends the stream).
            s.response_->append(end ? "Content-Length: 0\r\n\r\n" : "Transfer-Encoding: chunked\r\n\r\n");
            s.head_done_ = true;
            if (end) s.stream_done_ = true;
            return 0;
        }
        if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) && end && s.head_done_ &&
            !s.stream_done_) {
            s.response_->append("0\r\n\r\n");
            s.stream_done_ = true;
        }
        return 0;
    }

    static int on_data_chunk(nghttp2_session *, std::uint8_t, std::int32_t stream_id, const std::uint8_t *data,
                             std::size_t len, void *user_data) {
        H2Session &s = self(user_data);
        if (stream_id != s.stream_ || !s.response_ || !s.head_done_ || len == 0) return 0;
        char size[20];
        std::size_t n = 0;
        for (std::size_t v = len; v > 0; v >>= 4) size[n++] = kHex[v & 15];
        for (std::size_t i = 0; i < n; ++i) s.response_->push_back(size[n - 1 - i]);
        s.response_->append("\r\n").append(reinterpret_cast<const char *>(data), len).append("\r\n");
        // The parser applies max-body-bytes; nghttp2 gives the window back (automatic WINDOW_UPDATE).
        return 0;
    }

    static int on_stream_close(nghttp2_session *, std::int32_t stream_id, std::uint32_t error_code, void *user_data) {
        H2Session &s = self(user_data);
        if (stream_id != s.stream_) return 0;
        s.stream_ = -1;
        s.body_ = {};
        if (s.stream_done_ || s.stream_error_) return 0;
        if (error_code == NGHTTP2_REFUSED_STREAM && s.goaway_) {
            s.stream_error_ = Error{NTX_E_CLOSED, "http: h2 stream refused by the server's GOAWAY"};
        } else {
            s.stream_error_ = Error{NTX_E_PROTOCOL, std::string("http: h2 stream reset: ") + nghttp2_http2_strerror(error_code)};
        }
        return 0;
    }

    // A connection error nghttp2 found (it answers with GOAWAY and ends the session): the live stream
    // fails as a protocol error with nghttp2's reason, not later as a close.
    static int on_error(nghttp2_session *, int, const char *msg, std::size_t len, void *user_data) {
        H2Session &s = self(user_data);
        s.failed_ = true;
        if (s.stream_ != -1 && !s.stream_done_ && !s.stream_error_) {
            s.stream_error_ = Error{NTX_E_PROTOCOL, "http: h2: " + std::string(msg, len)};
        }
        return 0;
    }

    static ssize_t read_body(nghttp2_session *, std::int32_t, std::uint8_t *buf, std::size_t length, std::uint32_t *flags,
                             nghttp2_data_source *, void *user_data) {
        H2Session &s = self(user_data);
        const std::size_t n = std::min(length, s.body_.size());
        std::memcpy(buf, s.body_.data(), n);
        s.body_.remove_prefix(n);
        if (s.body_.empty()) *flags |= NGHTTP2_DATA_FLAG_EOF;
        return static_cast<ssize_t>(n);
    }
};

H2Session::H2Session(std::uint32_t max_header_bytes) : max_header_bytes_(max_header_bytes) {
    nghttp2_session_callbacks *cb = nullptr;
    if (nghttp2_session_callbacks_new(&cb) != 0) return;
    nghttp2_session_callbacks_set_on_header_callback(cb, &Callbacks::on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &Callbacks::on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &Callbacks::on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, &Callbacks::on_stream_close);
    nghttp2_session_callbacks_set_error_callback2(cb, &Callbacks::on_error);
    nghttp2_option *opt = nullptr;
    if (nghttp2_option_new(&opt) == 0) {
        nghttp2_option_set_no_auto_window_update(opt, 0);
        nghttp2_option_set_peer_max_concurrent_streams(opt, 1);
        nghttp2_session_client_new2(&session_, cb, this, opt);
        nghttp2_option_del(opt);
    }
    nghttp2_session_callbacks_del(cb);
    if (!session_) return;
    // Our SETTINGS: no push, one stream at a time, a stream window as large as a body may be.
    const nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                               {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 1},
                                               {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20}};
    if (nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 3) != 0) {
        nghttp2_session_del(session_);
        session_ = nullptr;
    }
}

H2Session::~H2Session() {
    if (session_) nghttp2_session_del(session_);
}

bool H2Session::usable() const noexcept { return session_ && !goaway_ && !failed_; }

Error H2Session::flush(std::string &out) {
    for (;;) {
        const std::uint8_t *data = nullptr;
        const ssize_t n = nghttp2_session_mem_send(session_, &data);
        if (n < 0) {
            failed_ = true;
            return Error{NTX_E_PROTOCOL, std::string("http: h2: ") + nghttp2_strerror(static_cast<int>(n))};
        }
        if (n == 0) return {};
        out.append(reinterpret_cast<const char *>(data), static_cast<std::size_t>(n));
    }
}

Error H2Session::submit(std::string_view request, std::string_view authority, std::string &out) {
    if (!session_) return Error{NTX_E_NOMEM, "http: cannot set up an h2 session"};
    if (!usable() || stream_ != -1) return Error{NTX_E_STATE, "http: the h2 session cannot take a request"};
    // Our own request bytes: "METHOD target HTTP/1.1\r\n", header lines, "\r\n", body.
    const std::size_t head_end = request.find("\r\n\r\n");
    if (head_end == std::string_view::npos) return Error{NTX_E_INTERNAL, "http: h2: no request head"};
    const std::string_view head = request.substr(0, head_end + 2);
    body_ = request.substr(head_end + 4);
    const std::size_t sp1 = head.find(' ');
    const std::size_t sp2 = head.find(' ', sp1 + 1);
    const std::string_view method = head.substr(0, sp1);
    const std::string_view target = head.substr(sp1 + 1, sp2 - sp1 - 1);

    // Lowercased names go into one buffer sized for the whole head, so the views stay put.
    lower_.clear();
    lower_.reserve(head.size());
    nv_.clear();
    nv_.push_back(nv(":method", method));
    nv_.push_back(nv(":scheme", "http"));
    nv_.push_back(nv(":authority", authority));
    nv_.push_back(nv(":path", target));
    std::size_t pos = head.find("\r\n") + 2;
    while (pos < head.size()) {
        const std::size_t eol = head.find("\r\n", pos);
        const std::string_view line = head.substr(pos, eol - pos);
        pos = eol + 2;
        const std::size_t colon = line.find(':');
        const std::string_view name = line.substr(0, colon);
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        if (dropped(name)) continue;
        const std::size_t at = lower_.size();
        for (char c : name) lower_.push_back(lower(c));
        nv_.push_back(nv(std::string_view(lower_).substr(at, name.size()), value));
    }
    head_done_ = false;
    interim_ = false;
    head_bytes_ = 0;
    stream_done_ = false;
    stream_error_ = {};
    nghttp2_data_provider provider{};
    provider.read_callback = &Callbacks::read_body;
    const bool has_body = !body_.empty();
    const std::int32_t id = nghttp2_submit_request(session_, nullptr, nv_.data(), nv_.size(), has_body ? &provider : nullptr, nullptr);
    if (id < 0) {
        failed_ = true;
        return Error{NTX_E_PROTOCOL, std::string("http: h2: ") + nghttp2_strerror(id)};
    }
    stream_ = id;
    return flush(out);
}

Error H2Session::receive(const std::uint8_t *data, std::size_t len, std::string &response, std::string &out) {
    if (!session_) return Error{NTX_E_STATE, "http: no h2 session"};
    response_ = &response;
    const ssize_t n = nghttp2_session_mem_recv(session_, data, len);
    response_ = nullptr;
    if (n < 0) {
        failed_ = true;
        if (stream_error_) return std::move(stream_error_);
        return Error{NTX_E_PROTOCOL, std::string("http: h2: ") + nghttp2_strerror(static_cast<int>(n))};
    }
    if (stream_done_ && stream_ != -1) {
        // The response ended while our side of the stream is still open (a server that answers before
        // the whole body arrived): cancel it, so no DATA of this request is read after the action.
        nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_, NGHTTP2_CANCEL);
        stream_ = -1;
        body_ = {};
    }
    Error flushed = flush(out);
    if (stream_error_) return std::move(stream_error_);
    if (flushed) return flushed;
    // A GOAWAY that still covers our stream lets it finish; nghttp2 closes one it excludes
    // (REFUSED_STREAM, reported above as closed).
    return {};
}

}  // namespace ntx::http
