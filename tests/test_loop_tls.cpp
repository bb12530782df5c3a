// TLS host sockets (ABI 1.1, NTX_TRANSPORT_TLS) against an in-process TLS server on 127.0.0.1 with a
// certificate made by the test: handshake, SNI, chain and name verification, the verification switch,
// bad CA files, 1.0-sized options, wire byte counts and the send rate limit.
#include <catch2/catch.hpp>

#include <boost/asio/ssl.hpp>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "net/loop.hpp"
#include "net/tls.hpp"

using namespace ntx;
namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;

namespace {

// A self-signed certificate for CN=localhost, SAN DNS:localhost and IP:127.0.0.1, written to a PEM file
// the client can use as its CA file.
struct Certificate {
    EVP_PKEY* key = nullptr;
    X509* cert = nullptr;
    std::string pem_path = "/tmp/ntx-test-tls-" + std::to_string(::getpid()) + ".pem";

    Certificate() {
        key = EVP_EC_gen("P-256");
        REQUIRE(key);
        cert = X509_new();
        X509_set_version(cert, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
        X509_gmtime_adj(X509_getm_notBefore(cert), -60);
        X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
        X509_set_pubkey(cert, key);
        X509_NAME* name = X509_get_subject_name(cert);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
        X509_set_issuer_name(cert, name);
        add_ext(NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
        add_ext(NID_basic_constraints, "critical,CA:TRUE");
        REQUIRE(X509_sign(cert, key, EVP_sha256()) > 0);
        FILE* f = std::fopen(pem_path.c_str(), "w");
        REQUIRE(f);
        PEM_write_X509(f, cert);
        std::fclose(f);
    }
    ~Certificate() {
        std::remove(pem_path.c_str());
        X509_free(cert);
        EVP_PKEY_free(key);
    }
    void add_ext(int nid, const char* value) {
        X509V3_CTX ctx;
        X509V3_set_ctx_nodb(&ctx);
        X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
        X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
        REQUIRE(ext);
        X509_add_ext(cert, ext, -1);
        X509_EXTENSION_free(ext);
    }
};

// Accepts every connection, completes the handshake, records the SNI, reads `expect` bytes, answers
// `reply` and closes. A client that aborts the handshake just ends that connection.
struct TlsServer {
    ssl::context ctx{ssl::context::tls_server};
    tcp::acceptor acceptor;
    std::vector<std::shared_ptr<ssl::stream<tcp::socket>>> streams;
    size_t expect;
    std::string reply;
    std::string received;
    std::vector<std::string> server_names;
    std::vector<bool> resumed;  // per handshake: the client resumed an earlier session
    int handshakes = 0;

    TlsServer(asio::io_context& io, const Certificate& c, size_t expect_bytes, std::string reply_text)
        : acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), expect(expect_bytes),
          reply(std::move(reply_text)) {
        REQUIRE(SSL_CTX_use_certificate(ctx.native_handle(), c.cert) == 1);
        REQUIRE(SSL_CTX_use_PrivateKey(ctx.native_handle(), c.key) == 1);
        accept();
    }
    uint16_t port() const { return acceptor.local_endpoint().port(); }

    void accept() {
        auto s = std::make_shared<ssl::stream<tcp::socket>>(acceptor.get_executor(), ctx);
        acceptor.async_accept(s->lowest_layer(), [this, s](boost::system::error_code ec) {
            if (ec) return;
            streams.push_back(s);
            s->async_handshake(ssl::stream_base::server, [this, s](boost::system::error_code hec) {
                if (hec) return;
                ++handshakes;
                const char* sni = SSL_get_servername(s->native_handle(), TLSEXT_NAMETYPE_host_name);
                server_names.push_back(sni ? sni : "-");
                resumed.push_back(SSL_session_reused(s->native_handle()) == 1);
                auto buf = std::make_shared<std::string>(expect, '\0');
                asio::async_read(*s, asio::buffer(*buf), [this, s, buf](boost::system::error_code rec, size_t) {
                    if (rec) return;
                    received += *buf;
                    asio::async_write(*s, asio::buffer(reply), [s](boost::system::error_code, size_t) {
                        boost::system::error_code ignored;
                        s->lowest_layer().close(ignored);  // no close_notify: the client must take the EOF
                    });
                });
            });
            accept();
        });
    }
};

struct Events {
    std::vector<int32_t> kinds;
    std::string data;
    ntx_status_t status = NTX_OK;
    std::string reason;
    static void on(void* ud, const ntx_socket_event_t* ev) {
        auto* self = static_cast<Events*>(ud);
        self->kinds.push_back(ev->kind);
        if (ev->kind == NTX_SOCKET_DATA) self->data.append(reinterpret_cast<const char*>(ev->data.ptr), ev->data.len);
        if (ev->kind == NTX_SOCKET_ERROR) {
            self->status = ev->status;
            self->reason.assign(ev->reason.ptr ? ev->reason.ptr : "", ev->reason.len);
        }
    }
    bool saw(int32_t kind) const { return std::find(kinds.begin(), kinds.end(), kind) != kinds.end(); }
    bool ended() const { return saw(NTX_SOCKET_CLOSED) || saw(NTX_SOCKET_ERROR); }
};

ntx_socket_opts_t tls_opts(uint16_t port, Events& ev, const char* host = "127.0.0.1") {
    ntx_socket_opts_t o{};
    o.size = sizeof o;
    o.transport = NTX_TRANSPORT_TLS;
    o.host = {host, std::strlen(host)};
    o.port = port;
    o.connect_timeout_ms = 5000;
    o.on_event = &Events::on;
    o.userdata = &ev;
    return o;
}

ntx_str_t str(const std::string& s) { return {s.data(), s.size()}; }

// tls_opts that verify the server against `cert` as the CA file.
ntx_socket_opts_t trusted_opts(uint16_t port, const Certificate& cert, Events& ev, const char* host = "127.0.0.1") {
    auto o = tls_opts(port, ev, host);
    o.tls_ca_file = str(cert.pem_path);
    return o;
}

// A loop and a TLS server with a self-signed certificate that answers a 4-byte request with "pong".
struct PongServer {
    Certificate cert;
    net::Loop loop{0};
    TlsServer server{loop.io(), cert, 4, "pong"};
    Events unused;  // for tls_opts: exchange() gives each socket its own Events
};

template <class Pred>
void run_until(net::Loop& loop, Pred done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done() && std::chrono::steady_clock::now() < deadline) loop.io().run_for(std::chrono::milliseconds(5));
    REQUIRE(done());
}

// Opens a TLS socket with `o`, sends "ping" and runs until the socket ends.
Events exchange(net::Loop& loop, ntx_socket_opts_t o) {
    Events ev;
    o.userdata = &ev;
    ntx_socket_t id = 0;
    REQUIRE(loop.socket_open(o, &id) == NTX_OK);
    CHECK(ev.kinds.empty());  // never a callback inside socket_open
    REQUIRE(loop.socket_send(id, {reinterpret_cast<const uint8_t*>("ping"), 4}) == NTX_OK);  // queued before the handshake
    run_until(loop, [&] { return ev.ended(); });
    return ev;
}

}  // namespace

TEST_CASE_METHOD(PongServer, "a TLS socket verifies the server against a CA file, sends and receives plaintext",
                 "[loop][tls]") {
    Events ev = exchange(loop, trusted_opts(server.port(), cert, unused, "localhost"));
    CHECK(ev.kinds.front() == NTX_SOCKET_CONNECTED);
    CHECK(ev.saw(NTX_SOCKET_SENT));
    CHECK(ev.data == "pong");
    CHECK(ev.kinds.back() == NTX_SOCKET_CLOSED);  // an EOF without close_notify is a close, not an error
    CHECK(server.received == "ping");
    REQUIRE(server.server_names.size() == 1);
    CHECK(server.server_names[0] == "localhost");  // SNI
    // The wire bytes: a handshake (hundreds of bytes each way) plus records, far more than 4.
    CHECK(loop.bytes_sent > 200);
    CHECK(loop.bytes_received > 300);
    CHECK(loop.sockets_opened == 1);

    // An IP address: checked against the IP SAN, and no SNI.
    Events ev2 = exchange(loop, trusted_opts(server.port(), cert, unused));
    CHECK(ev2.data == "pong");
    REQUIRE(server.server_names.size() == 2);
    CHECK(server.server_names[1] == "-");
}

TEST_CASE_METHOD(PongServer, "an untrusted certificate or a name mismatch is NTX_E_TLS with its reason; NO_VERIFY accepts both",
                 "[loop][tls]") {
    // The system store does not know the test's certificate.
    Events untrusted = exchange(loop, tls_opts(server.port(), unused, "localhost"));
    CHECK(untrusted.kinds == std::vector<int32_t>{NTX_SOCKET_ERROR});
    CHECK(untrusted.status == NTX_E_TLS);
    CHECK(untrusted.reason.find("certificate verify failed: self-signed certificate") != std::string::npos);

    auto wrong = trusted_opts(server.port(), cert, unused);
    const std::string other = "wrong.example";
    wrong.tls_server_name = str(other);
    Events mismatch = exchange(loop, wrong);
    CHECK(mismatch.status == NTX_E_TLS);
    CHECK(mismatch.reason.find("hostname mismatch") != std::string::npos);

    auto wrong_ip = trusted_opts(server.port(), cert, unused, "localhost");
    const std::string ip = "127.0.0.2";
    wrong_ip.tls_server_name = str(ip);
    Events ip_mismatch = exchange(loop, wrong_ip);
    CHECK(ip_mismatch.status == NTX_E_TLS);
    CHECK(ip_mismatch.reason.find("IP address mismatch") != std::string::npos);
    CHECK(server.received.empty());  // nothing was sent over an unverified connection

    auto off = tls_opts(server.port(), unused);
    off.tls_flags = NTX_TLS_NO_VERIFY;
    off.tls_server_name = str(other);
    Events accepted = exchange(loop, off);
    CHECK(accepted.data == "pong");
    CHECK(server.server_names.back() == "wrong.example");
    CHECK(server.received == "ping");
}

TEST_CASE("bad TLS options: unknown flags are refused, a missing CA file fails every connection", "[loop][tls]") {
    net::Loop loop(0);
    Events ev;
    auto o = tls_opts(443, ev);
    ntx_socket_t id = 0;
    o.tls_flags = 0x80;
    CHECK(loop.socket_open(o, &id) == NTX_E_INVALID);
    o.tls_flags = 0;
    const std::string nul("a\0b", 3);
    o.tls_ca_file = str(nul);
    CHECK(loop.socket_open(o, &id) == NTX_E_INVALID);

    Certificate cert;
    TlsServer server(loop.io(), cert, 4, "pong");
    const std::string missing = "/nonexistent/ca.pem";
    for (int i = 0; i < 2; ++i) {  // the failed context is kept, and fails the next socket the same way
        auto m = tls_opts(server.port(), ev);
        m.tls_ca_file = str(missing);
        Events failed = exchange(loop, m);
        CHECK(failed.status == NTX_E_TLS);
        CHECK(failed.reason.find("cannot load CA file /nonexistent/ca.pem") != std::string::npos);
    }
    CHECK(server.handshakes == 0);
}

TEST_CASE("a malformed ALPN list is refused at socket_open (ABI 1.6); a well-formed one is taken", "[loop][tls]") {
    net::Loop loop(0);
    Events ev;
    auto o = tls_opts(443, ev);
    ntx_socket_t id = 0;
    for (const std::string& bad : {std::string("\x05h2", 3), std::string("\x00", 1), std::string("\x02h2\x03" "ab", 6)}) {
        o.tls_alpn = str(bad);
        CHECK(loop.socket_open(o, &id) == NTX_E_INVALID);
    }
    o.tls_alpn = ntx_str_t{nullptr, 3};
    CHECK(loop.socket_open(o, &id) == NTX_E_INVALID);
    CHECK(net::valid_alpn_list(std::string("\x02h2\x08http/1.1", 12)));
    CHECK_FALSE(net::valid_alpn_list(""));
    CHECK_FALSE(net::valid_alpn_list(std::string(300, '\x01').substr(0, 299)));  // the last name runs past the end
}

TEST_CASE_METHOD(PongServer, "a 1.0-sized options struct opens TLS with the defaults: verify against the system store",
                 "[loop][tls]") {
    auto o = tls_opts(server.port(), unused, "localhost");
    o.tls_flags = NTX_TLS_NO_VERIFY;  // beyond the 1.0 size: must not be read
    o.size = offsetof(ntx_socket_opts_t, tls_server_name);
    Events ev = exchange(loop, o);
    CHECK(ev.status == NTX_E_TLS);
    CHECK(ev.reason.find("self-signed") != std::string::npos);
}

TEST_CASE("a TLS server that plays plain TCP is NTX_E_TLS, not a crash or a hang", "[loop][tls]") {
    net::Loop loop(0);
    tcp::acceptor acceptor(loop.io(), tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    tcp::socket peer(loop.io());
    acceptor.async_accept(peer, [&](auto ec) {
        if (!ec) asio::write(peer, asio::buffer(std::string("HTTP/1.1 400 Bad Request\r\n\r\n")));
    });
    Events unused;
    auto o = tls_opts(acceptor.local_endpoint().port(), unused);
    o.tls_flags = NTX_TLS_NO_VERIFY;
    Events ev = exchange(loop, o);
    CHECK(ev.status == NTX_E_TLS);
    CHECK_FALSE(ev.reason.empty());
}

TEST_CASE("the send rate limit holds TLS bytes back to the budget", "[loop][tls]") {
    Certificate cert;
    net::Loop loop(0);
    const std::string payload(30000, 'x');
    TlsServer server(loop.io(), cert, payload.size(), "done");
    Events ev;
    auto o = trusted_opts(server.port(), cert, ev);
    ntx_socket_t id = 0;
    REQUIRE(loop.socket_open(o, &id) == NTX_OK);
    ntx_rate_t rate{sizeof(ntx_rate_t), 10000, 0, 100};  // 10000 bytes per 100 ms
    REQUIRE(loop.socket_set_rate(id, rate) == NTX_OK);
    run_until(loop, [&] { return ev.saw(NTX_SOCKET_CONNECTED); });
    auto t0 = std::chrono::steady_clock::now();
    REQUIRE(loop.socket_send(id, {reinterpret_cast<const uint8_t*>(payload.data()), payload.size()}) == NTX_OK);
    run_until(loop, [&] { return ev.ended(); });
    // 30000 plaintext bytes are more than 30000 on the wire: at least three windows, two waits.
    CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(200));
    CHECK(server.received == payload);
    CHECK(ev.data == "done");
    CHECK(loop.bytes_sent > payload.size());
}

TEST_CASE_METHOD(PongServer, "the next connection to the same target resumes the session; another name does not",
                 "[loop][tls]") {
    auto o = trusted_opts(server.port(), cert, unused, "localhost");
    for (int i = 0; i < 3; ++i) CHECK(exchange(loop, o).data == "pong");
    auto by_ip = trusted_opts(server.port(), cert, unused);  // verified for another name: its own session
    CHECK(exchange(loop, by_ip).data == "pong");
    CHECK(exchange(loop, by_ip).data == "pong");
    CHECK(server.resumed == std::vector<bool>{false, true, true, false, true});
    CHECK(server.received == "pingpingpingpingping");
}

TEST_CASE("the receive rate limit paces TLS reads to the budget", "[loop][tls]") {
    Certificate cert;
    net::Loop loop(0);
    const std::string payload(60000, 'y');
    TlsServer server(loop.io(), cert, 4, payload);
    Events ev;
    auto o = trusted_opts(server.port(), cert, ev);
    ntx_socket_t id = 0;
    auto t0 = std::chrono::steady_clock::now();  // before the first window starts (at the handshake's end)
    REQUIRE(loop.socket_open(o, &id) == NTX_OK);
    ntx_rate_t rate{sizeof(ntx_rate_t), 0, 10000, 100};  // 10000 bytes per 100 ms
    REQUIRE(loop.socket_set_rate(id, rate) == NTX_OK);
    REQUIRE(loop.socket_send(id, {reinterpret_cast<const uint8_t*>("ping"), 4}) == NTX_OK);
    run_until(loop, [&] { return ev.ended(); });
    // A window may overshoot its budget by one TLS record (16 KiB): 60000 bytes still need three
    // windows at the least, so two waits.
    CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(200));
    CHECK(ev.data == payload);
    CHECK(ev.kinds.back() == NTX_SOCKET_CLOSED);
}
