#include "net/loop.hpp"

#include "net/run_clock.hpp"
#include "net/tls.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>

namespace ntx::net {

using tcp = asio::ip::tcp;
using udp = asio::ip::udp;
using boost::system::error_code;

namespace {

ntx_status_t status_of(const error_code& ec) {
    namespace e = asio::error;
    if (ec == e::connection_refused || ec == e::host_unreachable || ec == e::network_unreachable) return NTX_E_CONNECT;
    if (ec == e::timed_out) return NTX_E_TIMEOUT;
    if (ec == e::host_not_found || ec == e::host_not_found_try_again || ec == e::no_data) return NTX_E_RESOLVE;
    if (ec == e::no_descriptors || ec == boost::system::errc::too_many_files_open_in_system) return NTX_E_NOFILE;
    return NTX_E_IO;
}

constexpr uint64_t kMinuteMs = 60'000;

}  // namespace

// A TCP, TLS or UDP socket lent to a plugin. Kept alive by shared_ptr while an operation is pending,
// so closing it inside a callback is safe: pending handlers see `open == false` and return.
//
// Plain TCP and UDP read and write through Asio; TLS (a TlsSession over the same non-blocking TCP
// descriptor) runs reactor style: wait for the readiness OpenSSL asks for, try again. The handshake
// happens before NTX_SOCKET_CONNECTED, inside the connect deadline.
struct HostSocket : std::enable_shared_from_this<HostSocket> {
    HostSocket(Loop& l, ntx_socket_t i, const ntx_socket_opts_t& o)
        : loop(l), id(i), on_event(o.on_event), userdata(o.userdata), component(l.caller()),
          udp_mode(o.transport == NTX_TRANSPORT_UDP), tls_mode(o.transport == NTX_TRANSPORT_TLS), tcp_socket(l.io()),
          udp_socket(l.io()), resolver(l.io()), deadline(l.io()), rate_timer(l.io()) {}

    using Step = void (HostSocket::*)();

    Loop& loop;
    ntx_socket_t id;
    ntx_socket_cb on_event;
    void* userdata;
    uint32_t component;  // whose socket (the call trace names it)
    bool udp_mode;
    bool tls_mode;
    TlsContext* tls_context = nullptr;  // the loop's, for this socket's (verify, CA file)
    std::string tls_server_name;
    std::string tls_session_key;       // what a resumable session is filed under: name, host, port, ALPN
    std::string tls_alpn;              // the ALPN list offered (wire format), empty for none
    std::unique_ptr<TlsSession> tls;   // from the TCP connect until close
    size_t tls_written = 0;            // bytes of `inflight` SSL_write took so far
    tcp::socket tcp_socket;
    udp::socket udp_socket;
    tcp::resolver resolver;
    asio::steady_timer deadline;
    asio::steady_timer rate_timer;
    bool open = true, connected = false, writing = false, reading = false, read_paused = false, rate_waiting = false;
    // What the plugin queued, in order: `pending` (copied bytes) first, then `queued` (views of a
    // shared buffer, and the copied bytes sent after one); `out` is what is being written: a view of
    // `inflight` (copied bytes taken from pending) or of a shared buffer.
    struct Chunk {
        std::string owned;
        std::string_view shared;  // set: a view of a shared buffer (owned empty)
    };
    std::string pending, inflight;
    std::deque<Chunk> queued;
    std::string_view out;
    bool has_more() const { return !pending.empty() || !queued.empty(); }
    tcp::endpoint peer;             // the address connected to (or being tried); port 0 until known

    // Rate limiting (0 = unlimited): budget per window of per_ms.
    uint64_t send_limit = 0, recv_limit = 0, per_ms = 1000;
    std::chrono::steady_clock::time_point window_start{};
    uint64_t sent_in_window = 0, received_in_window = 0;

    void emit(int32_t kind, ntx_status_t status = NTX_OK, ntx_bytes_t data = {nullptr, 0},
              std::string_view reason = {}, std::string_view alpn = {}) {
        if (!open) return;
        ntx_socket_event_t ev{sizeof(ntx_socket_event_t), kind, id, status, data, {reason.data(), reason.size()},
                              {alpn.data(), alpn.size()}};
        CallScope mark(loop.call_record(), component, PluginCall::socket_event);
        on_event(userdata, &ev);
    }

    // Ends the socket from the host side (error or peer close) after telling the plugin.
    void fail(int32_t kind, ntx_status_t status, std::string_view reason = {}) {
        if (!open) return;
        emit(kind, status, {nullptr, 0}, reason);
        if (open) close();
    }

    // Ends the socket for a failed socket operation, saying why (and, before the connection is up,
    // to where): the reason the plugin passes on reaches the report's first error of each kind. The
    // text is made only here, on the failure.
    void fail_ec(const error_code& ec) {
        if (!open) return;
        std::string reason = connected ? ec.message() : "connect to " + peer_text() + ": " + ec.message();
        const ntx_status_t status = status_of(ec);
        if (status == NTX_E_NOFILE)
            reason += " (the process's open-file limit: raise `ulimit -n` (ntx raises its soft limit to the hard one) "
                      "or run fewer users or connections)";
        fail(NTX_SOCKET_ERROR, status, reason);
    }

    std::string peer_text() const {
        if (peer.port() == 0) return "(not resolved yet)";
        const auto a = peer.address();
        return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(peer.port());
    }

    // Ends the socket with the TLS session's own status and reason.
    void fail_tls() {
        std::string reason(tls->reason());  // the session dies in close()
        fail(NTX_SOCKET_ERROR, tls->status(), reason);
    }

    // The wire bytes the TLS session moved since last asked: the loop's counts and the rate windows.
    void account_tls() {
        uint64_t in = tls->take_wire_in(), out = tls->take_wire_out();
        loop.bytes_received += in;
        received_in_window += in;
        loop.bytes_sent += out;
        sent_in_window += out;
    }

    // Waits for TCP readiness, then runs `next` (unless the socket closed meanwhile).
    void wait_then(tcp::socket::wait_type what, Step next) {
        auto self = shared_from_this();
        tcp_socket.async_wait(what, [self, next](const error_code& ec) {
            if (!self->open) return;
            if (ec) return self->fail_ec(ec);
            ((*self).*next)();
        });
    }

    void close() {
        if (!open) return;
        open = false;
        error_code ignored;
        resolver.cancel();
        deadline.cancel();
        rate_timer.cancel();
        tls.reset();  // no close_notify: a load generator closes at once
        if (udp_mode) udp_socket.close(ignored);
        else tcp_socket.close(ignored);
        loop.free_socket_slot(Loop::id_slot(id));
    }

    void start(const std::string& host, uint16_t port, uint32_t connect_timeout_ms) {
        auto self = shared_from_this();
        deadline.expires_after(std::chrono::milliseconds(connect_timeout_ms ? connect_timeout_ms : 10'000));
        const uint32_t within_ms = connect_timeout_ms ? connect_timeout_ms : 10'000;
        deadline.async_wait([self, within_ms](const error_code& ec) {
            if (ec || !self->open || self->connected) return;
            self->fail(NTX_SOCKET_ERROR, NTX_E_TIMEOUT,
                       "connect to " + self->peer_text() + ": no connection within " + std::to_string(within_ms) + " ms");
        });
        error_code ec;
        auto address = asio::ip::make_address(host, ec);
        const policy::NetworkAllow* allow = loop.network_allow();
        if (!ec) {
            if (allow && !allow->allows(host, host, port)) return deny(host, port, host);
            connect_to(asio::ip::basic_endpoint<tcp>(address, port));
            return;
        }
        // A name network.allow lists may go to any of its addresses; otherwise each resolved address
        // is checked and only the allowed ones are tried.
        const bool name_allowed = !allow || allow->allows_name(host, port);
        resolver.async_resolve(host, std::to_string(port), [self, host, port, name_allowed](const error_code& rec,
                                                                                            tcp::resolver::results_type found) {
            if (!self->open) return;
            if (rec || found.empty())
                return self->fail(NTX_SOCKET_ERROR, NTX_E_RESOLVE,
                                  "cannot resolve '" + host + "': " + (rec ? rec.message() : std::string("no address")));
            tcp::resolver::results_type results = found;
            if (!name_allowed) {
                std::vector<tcp::endpoint> allowed;
                std::string seen;
                for (const auto& r : found) {
                    const std::string a = r.endpoint().address().to_string();
                    if (self->loop.network_allow()->allows({}, a, port)) allowed.push_back(r.endpoint());
                    seen += (seen.empty() ? "" : ", ") + a;
                }
                if (allowed.empty()) return self->deny(host, port, seen);
                results = tcp::resolver::results_type::create(allowed.begin(), allowed.end(), host, std::to_string(port));
            }
            if (self->udp_mode) return self->connect_to(*results.begin());
            self->peer = *results.begin();
            // Every address in turn (localhost may resolve to ::1 first while the server listens on IPv4);
            // a failure names the last one tried.
            asio::async_connect(self->tcp_socket, results,
                                [self](const error_code&, const tcp::endpoint& next) {
                                    self->peer = next;
                                    return true;
                                },
                                [self](const error_code& cec, const tcp::endpoint&) { self->on_tcp_connect(cec); });
        });
    }

    // network.allow refused the connect: no packet was sent. Told on the loop's next turn, as every
    // socket failure (never inside socket_open).
    void deny(const std::string& host, uint16_t port, const std::string& addresses) {
        ++loop.sockets_denied;
        std::string reason = "connect to " + host + ":" + std::to_string(port);
        if (addresses != host) reason += " (" + addresses + ")";
        reason += " denied by network.allow (allowed: " + loop.network_allow()->describe() + ")";
        asio::post(loop.io(), [self = shared_from_this(), reason = std::move(reason)] {
            self->fail(NTX_SOCKET_ERROR, NTX_E_DENIED, reason);
        });
    }

    void connect_to(const tcp::endpoint& ep) {
        auto self = shared_from_this();
        peer = ep;
        if (udp_mode) {
            error_code ec;
            udp_socket.open(ep.address().is_v4() ? udp::v4() : udp::v6(), ec);
            if (!ec) udp_socket.connect(udp::endpoint(ep.address(), ep.port()), ec);
            if (!ec) udp_socket.non_blocking(true, ec);
            // Tell the plugin on the next turn of the loop, never inside socket_open.
            asio::post(loop.io(), [self, ec] {
                if (!self->open) return;
                if (ec) return self->fail_ec(ec);
                self->on_connected();
            });
            return;
        }
        tcp_socket.async_connect(ep, [self](const error_code& ec) { self->on_tcp_connect(ec); });
    }

    void on_tcp_connect(const error_code& ec) {
        if (!open) return;
        if (ec) return fail_ec(ec);
        error_code ignored;
        tcp_socket.set_option(tcp::no_delay(true), ignored);
        tcp_socket.non_blocking(true, ignored);
        if (!tls_mode) return on_connected();
        tls = std::make_unique<TlsSession>();
        if (!tls->start(*tls_context, tcp_socket.native_handle(), tls_server_name, tls_session_key, tls_alpn))
            return fail_tls();
        handshake_step();
    }

    void handshake_step() {
        TlsResult r = tls->handshake();
        account_tls();
        switch (r.want) {
        case TlsWant::done: return on_connected();
        case TlsWant::read: return wait_then(tcp::socket::wait_read, &HostSocket::handshake_step);
        case TlsWant::write: return wait_then(tcp::socket::wait_write, &HostSocket::handshake_step);
        default: return fail_tls();
        }
    }

    void on_connected() {
        connected = true;
        deadline.cancel();
        window_start = std::chrono::steady_clock::now();
        emit(NTX_SOCKET_CONNECTED, NTX_OK, {nullptr, 0}, {}, tls ? tls->alpn_selected() : std::string_view());
        if (!open) return;
        read();
        flush();
    }

    // Refreshes the rate window; returns how long until the next one when a budget is spent.
    std::chrono::milliseconds refresh_window() {
        auto now = std::chrono::steady_clock::now();
        auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - window_start);
        if (elapsed.count() >= static_cast<int64_t>(per_ms)) {
            window_start = now;
            sent_in_window = received_in_window = 0;
            return std::chrono::milliseconds(per_ms);
        }
        return std::chrono::milliseconds(per_ms) - elapsed;
    }

    void wait_for_budget() {
        if (rate_waiting) return;
        rate_waiting = true;
        auto self = shared_from_this();
        rate_timer.expires_after(refresh_window());
        rate_timer.async_wait([self](const error_code& ec) {
            self->rate_waiting = false;
            if (ec || !self->open) return;
            self->refresh_window();
            if (self->read_paused) {
                self->read_paused = false;
                self->read();
            }
            self->flush();
        });
    }

    // Waits for readiness, then reads once into the loop's shared buffer: no buffer per socket, and
    // no speculative read that would fail with EAGAIN on every request.
    void read() {
        if (!open || reading) return;
        if (recv_limit) {
            refresh_window();
            if (received_in_window >= recv_limit) {
                read_paused = true;
                wait_for_budget();
                return;
            }
        }
        reading = true;
        auto self = shared_from_this();
        if (tls && tls->pending()) {  // decrypted bytes wait in OpenSSL: the socket may never turn readable
            asio::post(loop.io(), [self] {
                self->reading = false;
                if (self->open) self->read_now();
            });
            return;
        }
        auto on_ready = [self](const error_code& ec) {
            self->reading = false;
            if (!self->open) return;
            if (ec) return self->fail_ec(ec);
            self->read_now();
        };
        if (udp_mode) udp_socket.async_wait(udp::socket::wait_read, on_ready);
        else tcp_socket.async_wait(tcp::socket::wait_read, on_ready);
    }

    void read_now() {
        auto& buf = loop.read_buffer();
        size_t max = buf.size();
        if (recv_limit) {
            if (received_in_window >= recv_limit) return read();  // read() pauses until the next window
            max = std::min<uint64_t>(max, recv_limit - received_in_window);
        }
        if (tls) return tls_read_now(buf.data(), max);
        error_code ec;
        size_t n = udp_mode ? udp_socket.receive(asio::buffer(buf.data(), max), 0, ec)
                            : tcp_socket.read_some(asio::buffer(buf.data(), max), ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) return read();
        if (ec == asio::error::eof) return fail(NTX_SOCKET_CLOSED, NTX_E_CLOSED);
        if (ec) return fail_ec(ec);
        loop.bytes_received += n;
        received_in_window += n;
        emit(NTX_SOCKET_DATA, NTX_OK, {buf.data(), n});
        read();
    }

    void tls_read_now(uint8_t* buf, size_t max) {
        TlsResult r = tls->read(buf, max);
        account_tls();
        switch (r.want) {
        case TlsWant::done:
            emit(NTX_SOCKET_DATA, NTX_OK, {buf, r.n});
            return read();
        case TlsWant::read: return read();
        case TlsWant::write:
            reading = true;  // no other read until this one went through
            return wait_then(tcp::socket::wait_write, &HostSocket::resume_read);
        case TlsWant::closed: return fail(NTX_SOCKET_CLOSED, NTX_E_CLOSED);
        default: return fail_tls();
        }
    }

    void resume_read() {
        reading = false;
        read_now();
    }

    void send(ntx_bytes_t data) {
        const char* p = reinterpret_cast<const char*>(data.ptr);
        if (data.len && loop.is_shared(p, data.len)) {
            queued.push_back(Chunk{{}, std::string_view(p, data.len)});
        } else if (queued.empty()) {
            pending.append(p, data.len);
        } else if (queued.back().shared.data() == nullptr) {
            queued.back().owned.append(p, data.len);
        } else {
            queued.push_back(Chunk{std::string(p, data.len), {}});
        }
        flush();
    }

    void flush() {
        if (!open || !connected || writing || !has_more()) return;
        if (pending.empty()) {
            // The next queued chunk: copied bytes become `pending`; a shared view is written as it is.
            Chunk& c = queued.front();
            if (c.shared.data() == nullptr) {
                pending.swap(c.owned);
                queued.pop_front();
                return flush();
            }
            size_t n = c.shared.size();
            if (send_limit) {
                refresh_window();
                if (sent_in_window >= send_limit) {
                    wait_for_budget();
                    return;
                }
                n = std::min<uint64_t>(n, send_limit - sent_in_window);
            }
            out = c.shared.substr(0, n);
            c.shared.remove_prefix(n);
            if (c.shared.empty()) queued.pop_front();
        } else {
            size_t n = pending.size();
            if (send_limit) {
                refresh_window();
                if (sent_in_window >= send_limit) {
                    wait_for_budget();
                    return;
                }
                n = std::min<uint64_t>(n, send_limit - sent_in_window);
            }
            if (n == pending.size()) {
                inflight.swap(pending);  // both keep their capacity: no allocation per request
                pending.clear();
            } else {
                inflight.assign(pending, 0, n);
                pending.erase(0, n);
            }
            out = inflight;
        }
        writing = true;
        if (tls) {
            tls_written = 0;
            return tls_write_step();
        }
        if (!udp_mode) {
            // A request almost always fits the socket buffer: write it now (one send, as Asio's
            // speculative write would do) and queue NTX_SOCKET_SENT for the loop's next turn, with
            // every other socket's that was written meanwhile (Loop::notify_sent). No operation, no
            // completion handler per send. A partial write or an error goes on below, through Asio.
            error_code ec;
            size_t wrote = tcp_socket.write_some(asio::buffer(out.data(), out.size()), ec);
            if (!ec && wrote == out.size()) {
                writing = false;
                loop.bytes_sent += wrote;
                sent_in_window += wrote;
                inflight.clear();
                out = {};
                if (has_more()) return flush();  // the rest of a rate-limited send, or the next chunk
                loop.notify_sent(shared_from_this());
                return;
            }
            if (!ec && wrote > 0) {
                loop.bytes_sent += wrote;
                sent_in_window += wrote;
                out.remove_prefix(wrote);
            }
        }
        auto self = shared_from_this();
        auto on_write = [self](const error_code& ec, size_t written) {
            self->writing = false;
            if (!self->open) return;
            if (ec) return self->fail_ec(ec);
            self->loop.bytes_sent += written;
            self->sent_in_window += written;
            self->inflight.clear();
            self->out = {};
            if (self->has_more()) return self->flush();
            self->emit(NTX_SOCKET_SENT);
        };
        if (udp_mode) udp_socket.async_send(asio::buffer(out.data(), out.size()), on_write);
        else asio::async_write(tcp_socket, asio::buffer(out.data(), out.size()), on_write);
    }

    void tls_write_step() {
        while (tls_written < out.size()) {
            TlsResult r = tls->write(reinterpret_cast<const uint8_t*>(out.data()) + tls_written,
                                     out.size() - tls_written);
            account_tls();
            switch (r.want) {
            case TlsWant::done: tls_written += r.n; continue;
            case TlsWant::write: return wait_then(tcp::socket::wait_write, &HostSocket::tls_write_step);
            case TlsWant::read: return wait_then(tcp::socket::wait_read, &HostSocket::tls_write_step);
            case TlsWant::closed: writing = false; return fail(NTX_SOCKET_CLOSED, NTX_E_CLOSED);
            default: writing = false; return fail_tls();
            }
        }
        writing = false;
        inflight.clear();
        out = {};
        if (has_more()) return flush();
        emit(NTX_SOCKET_SENT);
    }
};

void Loop::notify_sent(std::shared_ptr<HostSocket> socket) {
    sent_.push_back(std::move(socket));
    if (sent_.size() > 1) return;  // a drain is already posted
    asio::post(io_, [this] {
        sent_draining_.swap(sent_);
        for (auto& s : sent_draining_)
            // Still open, and nothing queued since: otherwise a later write reports SENT.
            if (s->open && !s->writing && !s->has_more()) s->emit(NTX_SOCKET_SENT);
        sent_draining_.clear();  // keeps its capacity
    });
}

struct HostTimer {
    explicit HostTimer(asio::io_context& io) : timer(io) {}
    RunTimer timer;  // the run's clock (tests drive it by hand)
    ntx_timer_t id = 0;
    uint32_t gen = 0;
    bool armed = false;
};

struct FdWatch {
    FdWatch(asio::io_context& io, int fd) : sd(io, fd) {}
    asio::posix::stream_descriptor sd;
    uint32_t events = 0;
    ntx_fd_cb cb = nullptr;
    void* userdata = nullptr;
    uint32_t component = 0;
    bool active = true, wait_read = false, wait_write = false;
};

Loop::Loop(uint32_t index) : index_(index), work_(asio::make_work_guard(io_)) {}

Loop::~Loop() {
    stop();
    join();
}

void Loop::start(std::function<void()> first) {
    thread_ = std::thread([this, first = std::move(first)] {
        owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
        if (call_record_) call_record_->tid.store(static_cast<int32_t>(::gettid()), std::memory_order_relaxed);
        if (first) first();
        io_.run();
    });
}

void Loop::stop() {
    work_.reset();
    io_.stop();
}

void Loop::join() {
    if (thread_.joinable()) thread_.join();
}

void Loop::close_all() {
    for (auto& s : sockets_)
        if (s) s->close();
    for (auto& t : timers_) t->timer.cancel();
    for (auto& [fd, w] : watches_) {
        w->active = false;
        w->sd.release();
    }
    watches_.clear();
    io_.restart();
    io_.poll();  // lets cancelled handlers run and drop their references
}

TlsContext& Loop::tls_context(bool verify, std::string_view ca_file) {
    // Few distinct settings per run: a linear search over the prepared ones.
    for (auto& c : tls_contexts_)
        if (c->verify() == verify && (!verify || c->ca_file() == ca_file)) return *c;
    tls_contexts_.push_back(std::make_unique<TlsContext>(verify, verify ? std::string(ca_file) : std::string()));
    return *tls_contexts_.back();
}

HostSocket* Loop::find_socket(ntx_socket_t id) {
    uint32_t slot = id_slot(id);
    if (id_loop(id) != index_ || slot >= sockets_.size() || !sockets_[slot]) return nullptr;
    HostSocket* s = sockets_[slot].get();
    return s->id == id && s->open ? s : nullptr;
}

void Loop::free_socket_slot(uint32_t slot) {
    if (slot >= sockets_.size() || !sockets_[slot]) return;
    // The pending handlers hold their own reference; the table lets go now.
    sockets_[slot].reset();
    free_socket_slots_.push_back(slot);
}

ntx_status_t Loop::socket_open(const ntx_socket_opts_t& opts, ntx_socket_t* out) {
    if (!out || !opts.on_event || opts.port == 0 || !opts.host.ptr || opts.host.len == 0) return NTX_E_INVALID;
    if (opts.transport != NTX_TRANSPORT_TCP && opts.transport != NTX_TRANSPORT_UDP && opts.transport != NTX_TRANSPORT_TLS)
        return NTX_E_UNSUPPORTED;
    // TLS settings (1.1 members; a smaller struct gets the defaults: verify, the host's name, system CAs).
    std::string_view server_name(opts.host.ptr, opts.host.len), ca_file;
    bool verify = true;
    if (opts.transport == NTX_TRANSPORT_TLS && NTX_HAS_MEMBER(&opts, ntx_socket_opts_t, tls_ca_file)) {
        if (opts.tls_flags & ~NTX_TLS_NO_VERIFY) return NTX_E_INVALID;
        verify = !(opts.tls_flags & NTX_TLS_NO_VERIFY);
        if (opts.tls_server_name.len) {
            if (!opts.tls_server_name.ptr) return NTX_E_INVALID;
            server_name = std::string_view(opts.tls_server_name.ptr, opts.tls_server_name.len);
        }
        if (opts.tls_ca_file.len) {
            if (!opts.tls_ca_file.ptr) return NTX_E_INVALID;
            ca_file = std::string_view(opts.tls_ca_file.ptr, opts.tls_ca_file.len);
        }
        if (server_name.find('\0') != std::string_view::npos || ca_file.find('\0') != std::string_view::npos)
            return NTX_E_INVALID;
    }
    std::string_view alpn;  // 1.6
    if (opts.transport == NTX_TRANSPORT_TLS && NTX_HAS_MEMBER(&opts, ntx_socket_opts_t, tls_alpn) && opts.tls_alpn.len) {
        if (!opts.tls_alpn.ptr) return NTX_E_INVALID;
        alpn = std::string_view(opts.tls_alpn.ptr, opts.tls_alpn.len);
        if (!valid_alpn_list(alpn)) return NTX_E_INVALID;
    }
    uint32_t slot;
    if (!free_socket_slots_.empty()) {
        slot = free_socket_slots_.back();
        free_socket_slots_.pop_back();
    } else {
        slot = static_cast<uint32_t>(sockets_.size());
        sockets_.emplace_back();
        socket_gen_.push_back(0);
    }
    if (slot > 0xffffffu) return NTX_E_NOMEM;
    uint32_t gen = ++socket_gen_[slot];
    ntx_socket_t id = make_id(index_, gen, slot);
    auto s = std::make_shared<HostSocket>(*this, id, opts);
    if (s->tls_mode) {
        s->tls_context = &tls_context(verify, ca_file);
        s->tls_server_name.assign(server_name);
        s->tls_session_key.assign(server_name).append("|").append(opts.host.ptr, opts.host.len).append(":").append(
            std::to_string(opts.port));
        if (!alpn.empty()) {
            // A session resumed under another offer could carry another protocol: file them apart.
            s->tls_alpn.assign(alpn);
            s->tls_session_key.append("|").append(alpn);
        }
    }
    sockets_[slot] = s;
    ++sockets_opened;
    *out = id;
    if (default_rate_.send_bytes || default_rate_.recv_bytes) socket_set_rate(id, default_rate_);
    uint32_t connect_timeout = NTX_HAS_MEMBER(&opts, ntx_socket_opts_t, connect_timeout_ms) ? opts.connect_timeout_ms : 0;
    s->start(std::string(opts.host.ptr, opts.host.len), opts.port, connect_timeout);
    return NTX_OK;
}

ntx_status_t Loop::socket_send(ntx_socket_t id, ntx_bytes_t data) {
    HostSocket* s = find_socket(id);
    if (!s) return NTX_E_STATE;
    if (data.len && !data.ptr) return NTX_E_INVALID;
    s->send(data);
    return NTX_OK;
}

ntx_status_t Loop::socket_close(ntx_socket_t id) {
    HostSocket* s = find_socket(id);
    if (!s) return NTX_E_STATE;
    s->close();
    return NTX_OK;
}

ntx_status_t Loop::socket_set_rate(ntx_socket_t id, const ntx_rate_t& rate) {
    HostSocket* s = find_socket(id);
    if (!s) return NTX_E_STATE;
    if (rate.per_ms == 0 && (rate.send_bytes || rate.recv_bytes)) return NTX_E_INVALID;
    if (rate.per_ms > kMinuteMs) return NTX_E_INVALID;
    s->send_limit = rate.send_bytes;
    s->recv_limit = rate.recv_bytes;
    s->per_ms = rate.per_ms ? rate.per_ms : 1000;
    return NTX_OK;
}

ntx_status_t Loop::timer_schedule(uint64_t delay_ms, ntx_timer_cb cb, void* userdata, ntx_timer_t* out) {
    if (!cb || !out) return NTX_E_INVALID;
    uint32_t slot;
    if (!free_timer_slots_.empty()) {
        slot = free_timer_slots_.back();
        free_timer_slots_.pop_back();
    } else {
        slot = static_cast<uint32_t>(timers_.size());
        if (slot > 0xffffffu) return NTX_E_NOMEM;
        timers_.push_back(std::make_unique<HostTimer>(io_));
    }
    HostTimer* t = timers_[slot].get();
    ++t->gen;
    t->id = make_id(index_, t->gen, slot);
    t->armed = true;
    *out = t->id;
    t->timer.expires_after(std::chrono::milliseconds(delay_ms));
    ntx_timer_t id = t->id;
    t->timer.async_wait([this, slot, id, cb, userdata, component = caller_](const error_code& ec) {
        HostTimer* timer = timers_[slot].get();
        if (timer->id != id || !timer->armed) return;  // cancelled, slot maybe reused
        timer->armed = false;
        free_timer_slots_.push_back(slot);
        if (ec) return;
        CallScope mark(call_record_, component, PluginCall::timer);
        cb(userdata, id);
    });
    return NTX_OK;
}

ntx_status_t Loop::timer_cancel(ntx_timer_t id) {
    uint32_t slot = id_slot(id);
    if (id_loop(id) != index_ || slot >= timers_.size()) return NTX_E_INVALID;  // not this loop's timer
    HostTimer* t = timers_[slot].get();
    if (t->id != id || !t->armed) return NTX_OK;  // already fired or cancelled
    t->armed = false;
    t->timer.cancel();
    // The slot is reusable at once: the aborted handler sees armed == false or another id.
    free_timer_slots_.push_back(slot);
    return NTX_OK;
}

ntx_status_t Loop::fd_watch(int fd, uint32_t events, ntx_fd_cb cb, void* userdata) {
    if (fd < 0 || !cb || (events & ~(NTX_FD_READ | NTX_FD_WRITE))) return NTX_E_INVALID;
    auto& w = watches_[fd];
    if (!w) {
        try {
            w = std::make_shared<FdWatch>(io_, fd);
        } catch (const std::exception&) {
            watches_.erase(fd);
            return NTX_E_INVALID;
        }
    }
    w->events = events;
    w->cb = cb;
    w->userdata = userdata;
    w->component = caller_;
    arm_watch(fd, w, true);
    arm_watch(fd, w, false);
    return NTX_OK;
}

void Loop::arm_watch(int fd, const std::shared_ptr<FdWatch>& watch, bool for_read) {
    bool& waiting = for_read ? watch->wait_read : watch->wait_write;
    uint32_t which = for_read ? NTX_FD_READ : NTX_FD_WRITE;
    if (waiting || !watch->active || !(watch->events & which)) return;
    waiting = true;
    auto kind = for_read ? asio::posix::stream_descriptor::wait_read : asio::posix::stream_descriptor::wait_write;
    watch->sd.async_wait(kind, [this, fd, watch, for_read, which](const error_code& ec) {
        (for_read ? watch->wait_read : watch->wait_write) = false;
        if (ec || !watch->active) return;
        if (watch->events & which) {
            CallScope mark(call_record_, watch->component, PluginCall::fd_event);
            watch->cb(watch->userdata, fd, which);
        }
        // Level-triggered: re-arm while this watch still stands (the callback may have replaced it).
        auto it = watches_.find(fd);
        if (it != watches_.end() && it->second == watch) arm_watch(fd, watch, for_read);
    });
}

ntx_status_t Loop::fd_unwatch(int fd) {
    auto it = watches_.find(fd);
    if (it == watches_.end()) return NTX_E_STATE;
    auto w = it->second;
    watches_.erase(it);
    w->active = false;
    error_code ignored;
    w->sd.cancel(ignored);
    w->sd.release();  // the descriptor stays the plugin's: never closed here
    return NTX_OK;
}

}  // namespace ntx::net
