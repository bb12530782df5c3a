#include "http_connection.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <utility>

namespace ntx::http {
namespace beast_http = boost::beast::http;

namespace {

double ms_between(std::chrono::steady_clock::time_point from, std::chrono::steady_clock::time_point to) {
    return std::chrono::duration<double, std::milli>(to - from).count();
}

// The largest body buffer a connection keeps between actions.
constexpr std::size_t kRetainedBodyCapacity = 256 * 1024;

ntx_str_t str(std::string_view s) noexcept { return ntx_str_t{s.data(), s.size()}; }

ntx_status_t status_for(const boost::beast::error_code &ec) noexcept {
    if (ec == beast_http::error::header_limit || ec == beast_http::error::body_limit ||
        ec == beast_http::error::buffer_overflow) {
        return NTX_E_LIMIT;
    }
    if (ec == beast_http::error::partial_message) return NTX_E_CLOSED;
    return NTX_E_PROTOCOL;
}

CookieLimits cookie_limits(const Config &c) noexcept {
    return CookieLimits{c.max_cookies, c.max_cookie_bytes, c.max_cookie_jar_bytes};
}

std::int64_t wall_seconds() noexcept { return static_cast<std::int64_t>(std::time(nullptr)); }

}  // namespace

HttpConnection::HttpConnection(const PluginState &plugin, ntx_loop_t *loop, std::uint32_t loop_index)
    : plugin_(plugin), loop_(loop), loop_index_(loop_index), jar_(cookie_limits(plugin.config)) {
    prepared_.push_back(std::make_unique<PreparedRequest>());
    request_ = prepared_.front().get();
    rbuf_.reserve(4096);
    response_.fields = &fields_;
}

HttpConnection::~HttpConnection() {
    cancel_timer();
    release_stream();
    close_socket();
}

// ---- starting -------------------------------------------------------------------------------------

ntx_status_t HttpConnection::start(ntx_action_t *action, const ntx_action_ctx_t &ctx) {
    if (action_ != nullptr || fail_timer_ != 0) return NTX_E_STATE;  // one action per user at a time
    loop_ = ctx.loop;
    loop_index_ = ctx.loop_index;
    // A host that predates the flags member reads every result.
    want_result_ = !NTX_HAS_MEMBER(&ctx, ntx_action_ctx_t, flags) || (ctx.flags & NTX_ACTION_WANTS_RESULT) != 0;
    if (want_result_) t_start_ = Clock::now();
    bytes_sent_ = 0;
    bytes_received_ = 0;
    retried_ = false;
    got_bytes_ = false;
    conn_reused_ = false;
    connect_ms_ = 0.0;
    first_byte_ms_.reset();
    redirects_ = 0;
    visited_count_ = 0;

    const std::size_t slot = std::min<std::size_t>(ctx.action_id, kPreparedSlots - 1);
    while (prepared_.size() <= slot) prepared_.push_back(std::make_unique<PreparedRequest>());
    request_ = prepared_[slot].get();
    bool reused = false;
    if (Error e = request_->prepare(ctx, plugin_.config, plugin_.res_dir, reused)) {
        return defer_failure(action, std::move(e));
    }
    if (!reused) plugin_.log(action, NTX_LOG_TRACE, "http: request prepared");

    // The jar belongs to one task unless the script keeps it: a new task starts with no cookies.
    const RequestSpec &spec = request_->spec();
    if (ctx.task_id != jar_task_) {
        if (!spec.keep_cookies) jar_.clear();
        jar_task_ = ctx.task_id;
    }
    cookies_on_ = spec.cookies;
    if (cookies_on_ && !spec.set_cookies.empty()) {
        JarStats stats;
        for (const auto &[name, value] : spec.set_cookies) jar_.put(name, value, spec.url, stats);
        count(stats);
    }
    decode_on_ = spec.compression && want_result_;

    take_action(action);
    response_.want_result = want_result_;
    response_.want_location = request_->follow_redirects();
    response_.want_cookies = cookies_on_;
    if (decoded_.capacity() > kRetainedBodyCapacity) std::string().swap(decoded_);
    // The body buffer keeps its capacity for the next response, unless an unusually large body grew
    // it: that memory goes back rather than staying with every user that once saw such a body.
    if (response_.body.capacity() > kRetainedBodyCapacity) std::string().swap(response_.body);
    fields_.clear();
    reset_parser();
    rbuf_.clear();

    const Url &url = request_->url();
    // The loop's shared h2 connections carry h2c; over https each user keeps its own connection.
    pooled_ = request_->http_version() == HttpVersion::v2 && !url.tls && plugin_.config.max_streams > 1;
    if (pooled_) {
        if (const ntx_status_t st = submit_pooled(); st < 0) {
            release_action();
            return defer_failure(action, Error{st, "http: cannot start an h2 stream to " + url.host_header});
        }
        return NTX_OK;
    }
    if (connection_fits()) {
        conn_reused_ = true;
        if (send_request() == NTX_OK) return NTX_OK;
        conn_reused_ = false;  // the idle connection is unusable: fall through to a fresh one
    }
    close_socket();
    if (const ntx_status_t st = open_socket(); st < 0) {
        release_action();
        return defer_failure(action, Error{st, "http: cannot open a connection to " + url.host_header});
    }
    return NTX_OK;
}

ntx_status_t HttpConnection::defer_failure(ntx_action_t *action, Error error) {
    pending_ = std::move(error);
    take_action(action);
    ntx_timer_t timer = 0;
    const ntx_status_t st =
        plugin_.api->timer_schedule(plugin_.host, loop_, 0, &HttpConnection::timer_fired, this, &timer);
    if (st < 0 || timer == 0) {
        // No timer: end the action through run_action's return value; the reason goes to the log.
        release_action();
        plugin_.log(action, NTX_LOG_WARN, pending_.reason);
        return pending_.code;
    }
    fail_timer_ = timer;
    return NTX_OK;
}

void HttpConnection::take_action(ntx_action_t *action) { action_ = action; }

ntx_action_t *HttpConnection::release_action() noexcept {
    return std::exchange(action_, nullptr);
}

void HttpConnection::reset_parser() noexcept {
    // Constructing the parser allocates nothing (see response_parser.hpp).
    response_.status = 0;
    parser_.emplace(response_, plugin_.config.max_header_bytes, plugin_.config.max_body_bytes, request_->head());
}

bool HttpConnection::connection_fits() const noexcept {
    const Url &url = request_->url();
    if (socket_ == 0 || conn_ != Conn::open || !request_->keep_alive()) return false;
    if (conn_version_ != wanted_version() || (conn_h2_ && (!h2_ || !h2_->usable()))) return false;
    if (conn_port_ != url.port || conn_tls_ != url.tls || conn_host_ != url.host) return false;
    // A TLS connection was verified under its settings: another action's must match them.
    return !url.tls || (conn_verify_ == request_->tls_verify() && conn_ca_file_ == request_->ca_file() &&
                        conn_server_name_ == server_name());
}

HttpVersion HttpConnection::wanted_version() const noexcept {
    // Over http://, auto is HTTP/1.1 (no h2c upgrade): the same connection serves both.
    const HttpVersion v = request_->http_version();
    return v == HttpVersion::automatic && !request_->url().tls ? HttpVersion::v1_1 : v;
}

std::string_view HttpConnection::protocol_name() const noexcept {
    if (pooled_ || (conn_h2_ && !conn_tls_)) return "h2c";
    return conn_h2_ ? "h2" : "http/1.1";
}

std::string_view HttpConnection::server_name() const noexcept {
    // tls-server-name names the action's own origin; a redirect elsewhere is checked against its host.
    const std::string_view configured = request_->tls_server_name();
    const Url &url = request_->url();
    if (!configured.empty() && url.same_origin(request_->spec().url)) return configured;
    return url.host;
}

ntx_status_t HttpConnection::open_socket() {
    ntx_socket_opts_t opts{};
    opts.size = sizeof opts;
    const Url &url = request_->url();
    opts.transport = url.tls ? NTX_TRANSPORT_TLS : NTX_TRANSPORT_TCP;
    opts.host = str(url.host);
    opts.port = url.port;
    opts.connect_timeout_ms = plugin_.config.connect_timeout_ms;
    opts.on_event = &HttpConnection::socket_event;
    opts.userdata = this;
    if (url.tls) {
        opts.tls_server_name = str(server_name());
        opts.tls_flags = request_->tls_verify() ? 0u : NTX_TLS_NO_VERIFY;
        opts.tls_ca_file = str(request_->ca_file());
        // ABI 1.6: h2 over TLS is chosen by ALPN (RFC 7301 wire format: each name after its length).
        if (request_->http_version() == HttpVersion::v2) opts.tls_alpn = str(std::string_view("\x02h2", 3));
        if (request_->http_version() == HttpVersion::automatic)
            opts.tls_alpn = str(std::string_view("\x02h2\x08http/1.1", 12));
    }
    ntx_socket_t sock = 0;
    const ntx_status_t st = plugin_.api->socket_open(plugin_.host, loop_, &opts, &sock);
    if (st < 0) return st;
    if (sock == 0) return NTX_E_INTERNAL;
    socket_ = sock;
    conn_ = Conn::connecting;
    conn_version_ = wanted_version();
    // h2c and required h2 speak HTTP/2 from the start (h2 is confirmed by ALPN on CONNECTED); auto
    // over TLS learns it from the server's selection.
    conn_h2_ = conn_version_ == HttpVersion::v2;
    h2_.reset();
    conn_host_.assign(url.host);
    conn_port_ = url.port;
    conn_tls_ = url.tls;
    if (url.tls) {
        conn_verify_ = request_->tls_verify();
        conn_ca_file_.assign(request_->ca_file());
        conn_server_name_.assign(server_name());
    }
    conn_reused_ = false;
    if (want_result_) t_connect_start_ = Clock::now();
    return NTX_OK;
}

std::string_view HttpConnection::request_view() {
    std::string_view request = request_->bytes();
    if (cookies_on_ && !jar_.empty() && !request_->cookie_header_set()) {
        // The prepared bytes with a Cookie header put in before the head's end; send_buf_ keeps its
        // capacity, so this allocates nothing once it has grown.
        const std::size_t head_end = request_->head_end();
        send_buf_.assign(request.substr(0, head_end));
        send_buf_.append("Cookie: ");
        if (jar_.cookie_header(request_->url(), wall_seconds(), send_buf_)) {
            send_buf_.append("\r\n").append(request.substr(head_end));
            request = send_buf_;
        }
    }
    return request;
}

ntx_status_t HttpConnection::send_request() {
    std::string_view request = request_view();
    if (conn_h2_) {
        // The same request as HTTP/2 frames (the body views the request bytes, which outlive the stream).
        if (!h2_) h2_ = std::make_unique<H2Session>(plugin_.config.max_header_bytes);
        h2_out_.clear();
        if (Error e = h2_->submit(h2_stream_, request, request_->url().host_header, h2_out_)) return e.code;
        request = h2_out_;
    }
    const ntx_bytes_t bytes{reinterpret_cast<const std::uint8_t *>(request.data()), request.size()};
    ntx_status_t st = plugin_.api->socket_send(plugin_.host, socket_, bytes);
    if (st == NTX_OK) bytes_sent_ += request.size();
    // A shared body (a file_blob, NTX_PARAM_SHARED) follows the head as the host's own bytes: the
    // host queues the view, nothing is copied per user.
    if (const std::string_view body = request_->shared_body(); st == NTX_OK && !conn_h2_ && !body.empty()) {
        st = plugin_.api->socket_send(plugin_.host, socket_,
                                      ntx_bytes_t{reinterpret_cast<const std::uint8_t *>(body.data()), body.size()});
        if (st == NTX_OK) bytes_sent_ += body.size();
    }
    return st;
}

// ---- socket events --------------------------------------------------------------------------------

void HttpConnection::socket_event(void *userdata, const ntx_socket_event_t *event) noexcept {
    auto *self = static_cast<HttpConnection *>(userdata);
    if (!self || !event) return;
    try {
        self->handle_event(*event);
    } catch (...) {
        self->fail_internal();
    }
}

void HttpConnection::handle_event(const ntx_socket_event_t &event) {
    if (!NTX_HAS_MEMBER(&event, ntx_socket_event_t, socket)) return;
    // Events of a socket this user no longer has (closed by us) are stale: nothing to do.
    if (event.socket == 0 || event.socket != socket_) return;

    switch (event.kind) {
    case NTX_SOCKET_CONNECTED: {
        std::string_view alpn;
        if (NTX_HAS_MEMBER(&event, ntx_socket_event_t, alpn) && event.alpn.ptr) alpn = {event.alpn.ptr, event.alpn.len};
        on_connected(alpn);
        return;
    }
    case NTX_SOCKET_DATA:
        if (NTX_HAS_MEMBER(&event, ntx_socket_event_t, data)) on_data(event.data.ptr, event.data.len);
        return;
    case NTX_SOCKET_CLOSED:
        socket_ = 0;  // dead after this callback
        conn_ = Conn::none;
        if (action_) on_peer_closed();
        return;
    case NTX_SOCKET_ERROR: {
        socket_ = 0;
        conn_ = Conn::none;
        ntx_status_t st = NTX_HAS_MEMBER(&event, ntx_socket_event_t, status) ? event.status : NTX_E_IO;
        if (st >= 0) st = NTX_E_IO;
        std::string_view why;
        if (NTX_HAS_MEMBER(&event, ntx_socket_event_t, reason) && event.reason.ptr) {
            why = std::string_view(event.reason.ptr, event.reason.len);
        }
        if (action_) on_socket_failure(st, why);
        return;
    }
    default:  // NTX_SOCKET_SENT, and kinds newer than this plugin
        return;
    }
}

void HttpConnection::on_connected(std::string_view alpn) {
    conn_ = Conn::open;
    if (!action_) {  // nobody waits for this connection any more
        close_socket();
        return;
    }
    if (conn_tls_ && conn_version_ == HttpVersion::automatic) conn_h2_ = alpn == "h2";
    if (conn_tls_ && conn_version_ == HttpVersion::v2 && alpn != "h2") {
        // Speaking h2 to a server that did not agree to it would only produce garbage: a protocol error.
        close_socket();
        reason_.assign("http: http-version 2: the server at ").append(conn_host_).append(" did not select h2 by ALPN (");
        reason_.append(alpn.empty() ? std::string_view("it selected nothing") : alpn).append(")");
        fail(NTX_E_PROTOCOL, reason_);
        return;
    }
    if (want_result_) connect_ms_ += ms_between(t_connect_start_, Clock::now());  // every hop's connection
    if (const ntx_status_t st = send_request(); st < 0) {
        close_socket();
        fail(st, "http: send failed");
    }
}

void HttpConnection::on_data(const std::uint8_t *data, std::size_t len) {
    if (conn_h2_ && h2_ && !action_) {
        if (len > 0 && data) h2_receive(data, len);
        return;
    }
    if (!action_) {
        // Bytes on an idle kept-alive connection (a 408 before the server closes, or garbage): the
        // connection can no longer carry a clean response.
        close_socket();
        return;
    }
    if (len == 0 || data == nullptr) return;
    bytes_received_ += len;
    if (!got_bytes_) {
        got_bytes_ = true;
        if (want_result_ && !first_byte_ms_) first_byte_ms_ = ms_between(t_start_, Clock::now());
    }
    if (conn_h2_ && h2_) {
        if (!h2_receive(data, len)) return;
        if (!h2_in_.empty()) parse(h2_in_.data(), h2_in_.size());
        return;
    }
    parse(reinterpret_cast<const char *>(data), len);
}

void HttpConnection::parse(const char *data, std::size_t len) {
    // Feed the event's bytes straight to the parser when nothing is pending (the usual case), else
    // behind what is pending; whatever the parser leaves unconsumed is kept for the next event.
    const bool pending = !rbuf_.empty();
    if (pending) rbuf_.append(data, len);
    const std::string_view in = pending ? std::string_view(rbuf_) : std::string_view(data, len);

    std::size_t off = 0;
    while (off < in.size()) {
        boost::beast::error_code ec;
        const std::size_t used = parser_->put(boost::asio::const_buffer(in.data() + off, in.size() - off), ec);
        off += used;
        if (ec == beast_http::error::need_more) break;
        if (ec) {
            const ntx_status_t code = status_for(ec);
            reason_.assign(code == NTX_E_LIMIT ? "http: response exceeds a limit: " : "http: malformed response: ");
            reason_.append(ec.message());
            fail(code, reason_);
            return;
        }
        if (parser_->is_done()) {
            const unsigned status = response_.status;
            if (status >= 100 && status < 200 && status != 101) {
                reset_parser();  // interim response (100 Continue, 103 Early Hints): the real one follows
                continue;
            }
            complete(off < in.size());
            return;
        }
        if (used == 0) break;  // no progress without more bytes
    }
    if (pending) {
        rbuf_.erase(0, off);
    } else {
        rbuf_.assign(in.substr(off));
    }
}

void HttpConnection::on_peer_closed() {
    if (parser_ && parser_->is_header_done() && !parser_->is_done()) {
        boost::beast::error_code ec;
        parser_->put_eof(ec);  // completes a read-until-close body
        if (!ec && parser_->is_done()) {
            complete(false);
            return;
        }
    }
    if (can_retry(NTX_E_CLOSED)) {
        retry();
        return;
    }
    fail(NTX_E_CLOSED, got_bytes_ ? "http: connection closed before the response was complete"
                                  : "http: connection closed before any response");
}

void HttpConnection::on_socket_failure(ntx_status_t status, std::string_view reason) {
    if (can_retry(status)) {
        retry();
        return;
    }
    reason_.assign("http: socket error: ");
    if (!reason.empty()) {
        reason_.append(reason);
    } else if (plugin_.api->strerror) {
        reason_.append(plugin_.api->strerror(status));
    }
    fail(status, reason_);
}

bool HttpConnection::can_retry(ntx_status_t status) const noexcept {
    // A kept-alive connection the server closed while idle looks like a close (or reset) before any
    // byte of the response: retry once on a fresh connection.
    return conn_reused_ && !got_bytes_ && !retried_ && (status == NTX_E_CLOSED || status == NTX_E_IO);
}

void HttpConnection::retry() {
    retried_ = true;
    close_socket();
    reset_parser();
    rbuf_.clear();
    if (const ntx_status_t st = open_socket(); st < 0) {
        reason_.assign("http: cannot reopen a connection to ").append(request_->url().host_header);
        fail(st, reason_);
    }
}

void HttpConnection::close_socket() noexcept {
    if (socket_ != 0) {
        plugin_.api->socket_close(plugin_.host, socket_);
        socket_ = 0;
    }
    conn_ = Conn::none;
    h2_.reset();
}

void HttpConnection::cancel_timer() noexcept {
    if (fail_timer_ != 0) {
        plugin_.api->timer_cancel(plugin_.host, loop_, fail_timer_);
        fail_timer_ = 0;
    }
}

void HttpConnection::timer_fired(void *userdata, ntx_timer_t timer) noexcept {
    auto *self = static_cast<HttpConnection *>(userdata);
    if (!self || timer == 0 || timer != self->fail_timer_) return;
    try {
        self->fail_timer_ = 0;
        if (!self->action_) return;
        const Error e = std::move(self->pending_);
        self->fail(e.code, e.reason);
    } catch (...) {
        self->fail_internal();
    }
}

// ---- ending ---------------------------------------------------------------------------------------

void HttpConnection::abandon(ntx_action_t *action) noexcept {
    if (action != action_) return;  // not ours (already ended): nothing to forget
    cancel_timer();
    release_stream();
    close_socket();
    parser_.reset();
    rbuf_.clear();
    release_action();
}

void HttpConnection::add_timings(Clock::time_point end) {
    fields_.add_ms("time.connect_ms", connect_ms_);
    if (first_byte_ms_) fields_.add_ms("time.first_byte_ms", *first_byte_ms_);
    fields_.add_ms("time.total_ms", ms_between(t_start_, end));
}

void HttpConnection::follow_redirect(bool reusable) {
    if (redirects_ >= request_->max_redirects()) {
        reason_.assign("http: more than ").append(std::to_string(request_->max_redirects())).append(" redirects");
        fail(NTX_E_LIMIT, reason_);
        return;
    }
    // Remember where this hop went, then move to the next one.
    if (visited_count_ == visited_.size()) visited_.emplace_back();
    request_->url().write_to(visited_[visited_count_++]);
    if (Error e = request_->follow(response_.location, response_.status, plugin_.config.user_agent)) {
        fail(e.code, e.reason);
        return;
    }
    request_->url().write_to(url_text_);
    for (std::size_t i = 0; i < visited_count_; ++i) {
        if (visited_[i] == url_text_) {
            reason_.assign("http: redirect loop at ").append(url_text_);
            fail(NTX_E_LIMIT, reason_);
            return;
        }
    }
    ++redirects_;
    if (pooled_) {
        got_bytes_ = false;
        rbuf_.clear();
        fields_.clear();
        reset_parser();
        if (const ntx_status_t st = submit_pooled(); st < 0) {
            reason_.assign("http: cannot start an h2 stream to ").append(request_->url().host_header);
            fail(st, reason_);
        }
        return;
    }
    if (!reusable) close_socket();
    got_bytes_ = false;
    rbuf_.clear();
    fields_.clear();
    reset_parser();  // HEAD or not, as the new hop's method says
    if (connection_fits()) {
        conn_reused_ = true;
        if (send_request() == NTX_OK) return;
    }
    close_socket();
    if (const ntx_status_t st = open_socket(); st < 0) {
        reason_.assign("http: cannot open a connection to ").append(request_->url().host_header);
        fail(st, reason_);
    }
}

void HttpConnection::count(const JarStats &stats) const noexcept {
    PluginCounters &c = plugin_.counters;
    if (stats.malformed) c.cookies_malformed.fetch_add(stats.malformed, std::memory_order_relaxed);
    if (stats.foreign) c.cookies_foreign.fetch_add(stats.foreign, std::memory_order_relaxed);
    if (stats.oversized) c.cookies_oversized.fetch_add(stats.oversized, std::memory_order_relaxed);
    if (stats.evicted) c.cookies_evicted.fetch_add(stats.evicted, std::memory_order_relaxed);
}

void HttpConnection::take_cookies() {
    JarStats stats;
    const std::int64_t now = wall_seconds();
    for (std::size_t i = 0; i < response_.set_cookie_count; ++i) {
        const CookieRefusal r = jar_.set_cookie(response_.set_cookies[i], request_->url(), now, stats);
        if (r == CookieRefusal::none) continue;
        // The cookie's text stays out of the log (it may be a session); what was wrong with it goes in.
        plugin_.log(action_, NTX_LOG_DEBUG,
                    r == CookieRefusal::malformed ? "http: Set-Cookie ignored: malformed"
                    : r == CookieRefusal::foreign ? "http: Set-Cookie ignored: its Domain is not the request's host's"
                                                  : "http: Set-Cookie ignored: over max-cookie-bytes");
    }
    count(stats);
}

void HttpConnection::add_cookie_fields() {
    // One field per cookie name: the one the final URL would get when there is one, else the first.
    static constexpr std::string_view kPrefix = "cookies.";
    const std::int64_t now = wall_seconds();
    for (int pass = 0; pass < 2; ++pass) {
        for (std::size_t i = 0; i < jar_.size(); ++i) {
            const Cookie &c = jar_.at(i);
            if ((pass == 0) != jar_.applies(i, request_->url(), now)) continue;
            if (pass == 1 && c.expires >= 0 && c.expires <= now) continue;
            bool seen = false;
            for (std::size_t j = 0; j < i && !seen; ++j) {
                seen = jar_.at(j).name == c.name && (pass == 1 || jar_.applies(j, request_->url(), now));
            }
            if (pass == 1) {
                for (std::size_t j = 0; j < jar_.size() && !seen; ++j) {
                    seen = jar_.at(j).name == c.name && jar_.applies(j, request_->url(), now);
                }
            }
            if (!seen) fields_.add_prefixed(kPrefix, c.name, c.value);
        }
    }
}

void HttpConnection::complete(bool trailing_bytes) {
    const unsigned status = response_.status;
    if (cookies_on_ && response_.set_cookie_count > 0) take_cookies();  // every hop's, redirects included
    // Keep the connection only if both sides want it and nothing trails the response.
    const bool reusable = request_->keep_alive() && parser_->keep_alive() && !trailing_bytes && socket_ != 0 &&
                          status != 101 && (!conn_h2_ || (h2_ && h2_->usable()));
    if (request_->follow_redirects() && !response_.location.empty() &&
        (status == 301 || status == 302 || status == 303 || status == 307 || status == 308)) {
        follow_redirect(reusable);
        return;
    }

    // status, reason and headers.* are in fields_ already (the parser wrote them) when they are wanted.
    ntx_result_t counts{};
    const ntx_result_t *result = &counts;
    if (want_result_) {
        std::string_view body = response_.body;
        const Coding coding = decode_on_ && !body.empty() ? coding_of(response_.content_encoding) : Coding::identity;
        if (coding != Coding::identity && coding != Coding::unknown) {
            if (Error e = decoder_.decode(coding, body, plugin_.config.max_decoded_bytes, decoded_)) {
                if (!reusable) close_socket();
                fail(e.code, e.reason);
                return;
            }
            PluginCounters &c = plugin_.counters;
            c.bodies_decoded.fetch_add(1, std::memory_order_relaxed);
            c.encoded_bytes.fetch_add(body.size(), std::memory_order_relaxed);
            c.decoded_bytes.fetch_add(decoded_.size(), std::memory_order_relaxed);
            fields_.add_uint("wire_body_bytes", body.size());
            body = decoded_;
        }
        fields_.add_borrowed("body", body);
        if (cookies_on_) add_cookie_fields();
        fields_.add_uint("redirects", redirects_);
        request_->url().write_to(url_text_);
        fields_.add_borrowed("url", url_text_);
        fields_.add_borrowed("protocol", protocol_name());
        add_timings(Clock::now());
        result = fields_.finish(bytes_sent_, bytes_received_, status, protocol_name());
    } else {
        counts = ResultFields::counts_only(bytes_sent_, bytes_received_, status, protocol_name());
    }

    if (pooled_) {
        release_stream();  // already off the pool when its response ended
    } else if (!reusable) {
        close_socket();
    }
    parser_.reset();
    rbuf_.clear();

    const ntx_host_api_t *api = plugin_.api;
    ntx_host_t *host = plugin_.host;
    ntx_action_t *action = release_action();
    if (status < 400) {
        api->action_complete(host, action, result);  // last use of `this`
    } else {
        char reason[24] = "HTTP ";
        const auto r = std::to_chars(reason + 5, reason + sizeof reason, status);
        const std::size_t len = static_cast<std::size_t>(r.ptr - reason);
        api->action_fail(host, action, NTX_E_STATUS, ntx_str_t{reason, len}, result);  // last use of `this`
    }
}

void HttpConnection::fail(ntx_status_t code, std::string_view reason) {
    // The protocol is said when the server answered in it (not for a refused connect or ALPN).
    const std::string_view protocol = got_bytes_ ? protocol_name() : std::string_view();
    ntx_result_t counts{};
    const ntx_result_t *result = &counts;
    if (want_result_) {
        fields_.clear();  // whatever the parser wrote belongs to an incomplete response
        add_timings(Clock::now());
        result = fields_.finish(bytes_sent_, bytes_received_, 0, protocol);
    } else {
        counts = ResultFields::counts_only(bytes_sent_, bytes_received_, 0, protocol);
    }
    cancel_timer();
    if (pooled_) {
        release_stream();  // the user's own connection (if any) stays as it is
    } else {
        close_socket();
    }
    parser_.reset();
    rbuf_.clear();

    const ntx_host_api_t *api = plugin_.api;
    ntx_host_t *host = plugin_.host;
    ntx_action_t *action = release_action();
    if (!action) return;
    api->action_fail(host, action, code, str(reason), result);  // last use of `this`
}

void HttpConnection::fail_internal() noexcept {
    cancel_timer();
    release_stream();
    close_socket();
    parser_.reset();
    rbuf_.clear();
    ntx_action_t *action = release_action();
    if (action) plugin_.api->action_fail(plugin_.host, action, NTX_E_INTERNAL, str("http: internal error"), nullptr);
}

}  // namespace ntx::http
