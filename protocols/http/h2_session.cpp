#include "h2_session.hpp"

#include <algorithm>
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

void H2Stream::reset() noexcept {
    id = -1;
    response.clear();
    error = {};
    done = false;
    wire_in = 0;
    head_done = false;
    interim = false;
    head_bytes = 0;
    body = {};
}

struct H2Session::Callbacks {
    static H2Session &self(void *user_data) { return *static_cast<H2Session *>(user_data); }

    static int on_header(nghttp2_session *, const nghttp2_frame *frame, const std::uint8_t *name, std::size_t namelen,
                         const std::uint8_t *value, std::size_t valuelen, std::uint8_t, void *user_data) {
        H2Session &s = self(user_data);
        if (frame->hd.type != NGHTTP2_HEADERS) return 0;
        H2Stream *st = s.find(frame->hd.stream_id);
        if (!st || st->head_done) return 0;  // trailers: dropped, as the HTTP/1.1 path drops chunked trailers
        const std::string_view n(reinterpret_cast<const char *>(name), namelen);
        const std::string_view v(reinterpret_cast<const char *>(value), valuelen);
        st->head_bytes += namelen + valuelen + 4;
        if (st->head_bytes > s.max_header_bytes_) {
            st->error = Error{NTX_E_LIMIT, "http: h2 response header block exceeds max-header-bytes"};
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // resets the stream
        }
        std::string &out = st->response;
        if (n == ":status") {
            out.append("HTTP/1.1 ").append(v).append(" \r\n");
            st->interim = !v.empty() && v.front() == '1';
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
        H2Stream *st = s.find(frame->hd.stream_id);
        if (!st) return 0;
        if (frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) st->wire_in += frame->hd.length + 9;
        const bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
        if (frame->hd.type == NGHTTP2_HEADERS && !st->head_done) {
            if (st->interim) {
                // 100 Continue, 103 Early Hints: a head of its own, which the parser skips.
                st->response.append("\r\n");
                st->head_bytes = 0;
                st->interim = false;
                return 0;
            }
            // The head ends here; the body follows in chunked coding, whatever its length (none when
            // the HEADERS frame ends the stream).
            st->response.append(end ? "Content-Length: 0\r\n\r\n" : "Transfer-Encoding: chunked\r\n\r\n");
            st->head_done = true;
            if (end) st->done = true;
            return 0;
        }
        if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) && end && st->head_done && !st->done) {
            st->response.append("0\r\n\r\n");
            st->done = true;
        }
        return 0;
    }

    static int on_data_chunk(nghttp2_session *, std::uint8_t, std::int32_t stream_id, const std::uint8_t *data,
                             std::size_t len, void *user_data) {
        H2Session &s = self(user_data);
        H2Stream *st = s.find(stream_id);
        if (!st || !st->head_done || len == 0) return 0;
        char size[20];
        std::size_t n = 0;
        for (std::size_t v = len; v > 0; v >>= 4) size[n++] = kHex[v & 15];
        for (std::size_t i = 0; i < n; ++i) st->response.push_back(size[n - 1 - i]);
        // The parser applies max-body-bytes; nghttp2 gives the window back (automatic WINDOW_UPDATE).
        st->response.append("\r\n").append(reinterpret_cast<const char *>(data), len).append("\r\n");
        return 0;
    }

    static int on_stream_close(nghttp2_session *, std::int32_t stream_id, std::uint32_t error_code, void *user_data) {
        H2Session &s = self(user_data);
        H2Stream *st = s.find(stream_id);
        if (!st) return 0;
        s.forget(*st);
        if (st->done || st->error) return 0;
        if (error_code == NGHTTP2_REFUSED_STREAM && s.goaway_) {
            st->error = Error{NTX_E_CLOSED, "http: h2 stream refused by the server's GOAWAY"};
        } else if (s.session_error_) {
            st->error = s.session_error_;
        } else {
            st->error = Error{NTX_E_PROTOCOL, std::string("http: h2 stream reset: ") + nghttp2_http2_strerror(error_code)};
        }
        return 0;
    }

    // A connection error nghttp2 found (it answers with GOAWAY and ends the session): the streams fail
    // as protocol errors with nghttp2's reason, not later as a close.
    static int on_error(nghttp2_session *, int, const char *msg, std::size_t len, void *user_data) {
        H2Session &s = self(user_data);
        s.failed_ = true;
        if (!s.session_error_) s.session_error_ = Error{NTX_E_PROTOCOL, "http: h2: " + std::string(msg, len)};
        for (H2Stream *st : s.streams_) {
            if (!st->done && !st->error) st->error = s.session_error_;
        }
        return 0;
    }

    static ssize_t read_body(nghttp2_session *, std::int32_t stream_id, std::uint8_t *buf, std::size_t length,
                             std::uint32_t *flags, nghttp2_data_source *, void *user_data) {
        H2Stream *st = self(user_data).find(stream_id);
        std::size_t n = 0;
        if (st) {
            n = std::min(length, st->body.size());
            std::memcpy(buf, st->body.data(), n);
            st->body.remove_prefix(n);
        }
        if (!st || st->body.empty()) *flags |= NGHTTP2_DATA_FLAG_EOF;
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
    nghttp2_session_client_new(&session_, cb, this);
    nghttp2_session_callbacks_del(cb);
    if (!session_) return;
    // Our SETTINGS: no push, a stream window as large as a body may be.
    const nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                               {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20}};
    if (nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 2) != 0) {
        nghttp2_session_del(session_);
        session_ = nullptr;
    }
}

H2Session::~H2Session() {
    if (session_) nghttp2_session_del(session_);
}

bool H2Session::usable() const noexcept { return session_ && !goaway_ && !failed_; }

std::uint32_t H2Session::peer_max_streams() const noexcept {
    return session_ ? nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS) : 0;
}

H2Stream *H2Session::find(std::int32_t id) const noexcept {
    for (H2Stream *st : streams_) {
        if (st->id == id) return st;
    }
    return nullptr;
}

void H2Session::forget(H2Stream &stream) noexcept {
    streams_.erase(std::remove(streams_.begin(), streams_.end(), &stream), streams_.end());
    stream.body = {};
}

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

Error H2Session::submit(H2Stream &stream, std::string_view request, std::string_view authority, std::string &out) {
    if (!session_) return Error{NTX_E_NOMEM, "http: cannot set up an h2 session"};
    if (!usable()) return Error{NTX_E_STATE, "http: the h2 session cannot take a request"};
    // Our own request bytes: "METHOD target HTTP/1.1\r\n", header lines, "\r\n", body.
    const std::size_t head_end = request.find("\r\n\r\n");
    if (head_end == std::string_view::npos) return Error{NTX_E_INTERNAL, "http: h2: no request head"};
    const std::string_view head = request.substr(0, head_end + 2);
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
    stream.reset();
    stream.body = request.substr(head_end + 4);
    nghttp2_data_provider provider{};
    provider.read_callback = &Callbacks::read_body;
    const bool has_body = !stream.body.empty();
    const std::int32_t id = nghttp2_submit_request(session_, nullptr, nv_.data(), nv_.size(), has_body ? &provider : nullptr, nullptr);
    if (id < 0) {
        stream.body = {};
        return Error{NTX_E_PROTOCOL, std::string("http: h2: ") + nghttp2_strerror(id)};
    }
    stream.id = id;
    streams_.push_back(&stream);
    return flush(out);
}

Error H2Session::receive(const std::uint8_t *data, std::size_t len, std::string &out) {
    if (!session_) return Error{NTX_E_STATE, "http: no h2 session"};
    const ssize_t n = nghttp2_session_mem_recv(session_, data, len);
    if (n < 0) {
        failed_ = true;
        if (!session_error_) {
            session_error_ = Error{NTX_E_PROTOCOL, std::string("http: h2: ") + nghttp2_strerror(static_cast<int>(n))};
        }
    }
    // A response that ended while our side of its stream is still open (a server that answers before
    // the whole body arrived): cancel the stream, so no DATA of that request is read afterwards.
    for (std::size_t i = 0; i < streams_.size();) {
        H2Stream &st = *streams_[i];
        if ((st.done || st.error) && n >= 0) {
            nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, st.id, NGHTTP2_CANCEL);
            forget(st);
            continue;
        }
        ++i;
    }
    Error flushed = n >= 0 ? flush(out) : Error{};
    if (session_error_) {
        for (H2Stream *st : streams_) {
            if (!st->done && !st->error) st->error = session_error_;
        }
        return session_error_;
    }
    return flushed;
}

void H2Session::cancel(H2Stream &stream, std::string &out) {
    if (std::find(streams_.begin(), streams_.end(), &stream) == streams_.end()) return;
    if (session_ && !failed_) {
        nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream.id, NGHTTP2_CANCEL);
        forget(stream);
        flush(out);  // a failure here shows in usable()
        return;
    }
    forget(stream);
}

}  // namespace ntx::http
