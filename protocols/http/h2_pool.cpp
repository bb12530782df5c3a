#include "h2_pool.hpp"

#include <algorithm>

namespace ntx::http {
namespace {

ntx_str_t str(std::string_view s) noexcept { return ntx_str_t{s.data(), s.size()}; }

template <class V, class P>
bool erase_stream(V &entries, P *stream) {
    const auto it = std::find_if(entries.begin(), entries.end(), [stream](const auto &e) { return e.stream == stream; });
    if (it == entries.end()) return false;
    entries.erase(it);
    return true;
}

}  // namespace

H2Pool::H2Pool(const sdk::HostLink &host, ntx_loop_t *loop, std::uint32_t connect_timeout_ms,
               std::uint32_t max_header_bytes, std::uint32_t max_streams)
    : host_(host), loop_(loop), connect_timeout_ms_(connect_timeout_ms), max_header_bytes_(max_header_bytes),
      max_streams_(max_streams) {}

H2Pool::~H2Pool() = default;

H2Pool::Conn *H2Pool::open(const Url &url) {
    auto conn = std::make_unique<Conn>();
    conn->pool = this;
    conn->host = url.host;
    conn->port = url.port;
    ntx_socket_opts_t opts{};
    opts.size = sizeof opts;
    opts.transport = NTX_TRANSPORT_TCP;
    opts.host = str(conn->host);
    opts.port = url.port;
    opts.connect_timeout_ms = connect_timeout_ms_;
    opts.on_event = &H2Pool::socket_event;
    opts.userdata = conn.get();
    ntx_socket_t sock = 0;
    if (host_.api->socket_open(host_.host, loop_, &opts, &sock) < 0 || sock == 0) return nullptr;
    conn->socket = sock;
    conns_.push_back(std::move(conn));
    return conns_.back().get();
}

ntx_status_t H2Pool::submit(H2Client &client, H2Stream &stream, const Url &url, std::string_view request) {
    Conn *conn = nullptr;
    for (const auto &c : conns_) {
        if (c->host != url.host || c->port != url.port || c->socket == 0) continue;
        if (c->session && !c->session->usable()) continue;
        std::size_t limit = max_streams_;
        if (c->connected && c->session) limit = std::min<std::size_t>(limit, c->session->peer_max_streams());
        if (c->pending.size() + c->streams.size() < limit) {
            conn = c.get();
            break;
        }
    }
    if (!conn) conn = open(url);
    if (!conn) return NTX_E_CONNECT;
    stream.reset();
    if (!conn->connected) {
        conn->pending.push_back(Entry{&client, &stream, request, &url});
        return NTX_OK;
    }
    out_.clear();
    if (Error e = conn->session->submit(stream, request, url.host_header, out_)) return e.code;
    conn->streams.push_back(Entry{&client, &stream, {}, &url});
    send(*conn);
    return NTX_OK;
}

void H2Pool::cancel(H2Stream &stream) noexcept {
    for (const auto &c : conns_) {
        if (erase_stream(c->pending, &stream)) return;
        if (erase_stream(c->streams, &stream)) {
            if (c->session) {
                try {
                    out_.clear();
                    c->session->cancel(stream, out_);
                    send(*c);
                } catch (...) {
                }
            }
            return;
        }
    }
}

void H2Pool::send(Conn &conn) {
    if (out_.empty() || conn.socket == 0) return;
    host_.api->socket_send(host_.host, conn.socket,
                           ntx_bytes_t{reinterpret_cast<const std::uint8_t *>(out_.data()), out_.size()});
    out_.clear();
}

void H2Pool::socket_event(void *userdata, const ntx_socket_event_t *event) noexcept {
    auto *conn = static_cast<Conn *>(userdata);
    if (!conn || !event || !NTX_HAS_MEMBER(event, ntx_socket_event_t, socket)) return;
    if (event->socket == 0 || event->socket != conn->socket) return;
    try {
        conn->pool->on_event(*conn, *event);
    } catch (...) {
        try {
            conn->pool->fail_conn(*conn, NTX_E_INTERNAL, "http: internal error in the h2 pool");
        } catch (...) {
        }
    }
}

void H2Pool::on_event(Conn &conn, const ntx_socket_event_t &event) {
    switch (event.kind) {
    case NTX_SOCKET_CONNECTED:
        on_connected(conn);
        return;
    case NTX_SOCKET_DATA:
        if (NTX_HAS_MEMBER(&event, ntx_socket_event_t, data) && event.data.ptr && event.data.len) {
            on_data(conn, event.data.ptr, event.data.len);
        }
        return;
    case NTX_SOCKET_CLOSED:
        conn.socket = 0;  // dead after this callback
        fail_conn(conn, NTX_E_CLOSED, "http: the shared h2 connection closed");
        return;
    case NTX_SOCKET_ERROR: {
        conn.socket = 0;
        ntx_status_t st = NTX_HAS_MEMBER(&event, ntx_socket_event_t, status) ? event.status : NTX_E_IO;
        if (st >= 0) st = NTX_E_IO;
        fail_conn(conn, st, "http: socket error on the shared h2 connection");
        return;
    }
    default:
        return;
    }
}

void H2Pool::on_connected(Conn &conn) {
    conn.connected = true;
    conn.session = std::make_unique<H2Session>(max_header_bytes_);
    std::vector<Entry> pending;
    pending.swap(conn.pending);
    std::vector<Entry> failed;
    out_.clear();
    for (Entry &e : pending) {
        if (Error err = conn.session->submit(*e.stream, e.request, e.url->host_header, out_)) {
            e.stream->error = std::move(err);
            failed.push_back(e);
        } else {
            conn.streams.push_back(Entry{e.client, e.stream, {}, e.url});
        }
    }
    send(conn);
    dispatch(failed);
}

void H2Pool::on_data(Conn &conn, const std::uint8_t *data, std::size_t len) {
    if (!conn.session) return;
    out_.clear();
    const Error e = conn.session->receive(data, len, out_);
    send(conn);
    if (e) {
        fail_conn(conn, e.code, e.reason);
        return;
    }
    // Streams with news: done and failed ones leave the pool before their users hear of it.
    std::vector<Entry> ready;
    ready.swap(ready_);
    ready.clear();
    for (std::size_t i = 0; i < conn.streams.size();) {
        H2Stream &st = *conn.streams[i].stream;
        if (st.done || st.error || !st.response.empty()) ready.push_back(conn.streams[i]);
        if (st.done || st.error) {
            conn.streams.erase(conn.streams.begin() + static_cast<std::ptrdiff_t>(i));
        } else {
            ++i;
        }
    }
    const bool retire = !conn.session->usable() && conn.streams.empty() && conn.pending.empty();
    Conn *const retired = retire ? &conn : nullptr;
    if (retired && retired->socket != 0) {
        host_.api->socket_close(host_.host, retired->socket);
        retired->socket = 0;
    }
    dispatch(ready);
    ready.swap(ready_);
    if (retired) erase(*retired);
}

void H2Pool::fail_conn(Conn &conn, ntx_status_t code, std::string_view reason) {
    if (conn.socket != 0) {
        host_.api->socket_close(host_.host, conn.socket);
        conn.socket = 0;
    }
    std::vector<Entry> all;
    all.swap(conn.streams);
    all.insert(all.end(), conn.pending.begin(), conn.pending.end());
    conn.pending.clear();
    for (Entry &e : all) {
        if (!e.stream->error && !e.stream->done) e.stream->error = Error{code, std::string(reason)};
    }
    Conn *const dead = &conn;
    dispatch(all);
    erase(*dead);
}

void H2Pool::dispatch(std::vector<Entry> &ready) {
    for (Entry &e : ready) e.client->h2_progress();
}

void H2Pool::erase(Conn &conn) noexcept {
    const auto it = std::find_if(conns_.begin(), conns_.end(), [&conn](const auto &c) { return c.get() == &conn; });
    if (it != conns_.end()) conns_.erase(it);
}

}  // namespace ntx::http
