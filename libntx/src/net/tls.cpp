#include "net/tls.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace ntx::net {
namespace {

TlsSession* session_of(BIO* bio) { return static_cast<TlsSession*>(BIO_get_data(bio)); }

int bio_write_cb(BIO* bio, const char* buf, int len) { return session_of(bio)->bio_write(buf, len); }
int bio_read_cb(BIO* bio, char* buf, int len) { return session_of(bio)->bio_read(buf, len); }

long bio_ctrl_cb(BIO*, int cmd, long, void*) {
    // The socket has no buffer of its own to flush; every other control is unsupported.
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

int bio_create_cb(BIO* bio) {
    BIO_set_init(bio, 1);
    return 1;
}

// One BIO method for the process, made on first use and kept (OpenSSL holds no state in it).
BIO_METHOD* socket_bio_method() {
    static BIO_METHOD* method = [] {
        BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "ntx host socket");
        if (!m) return m;
        BIO_meth_set_write(m, bio_write_cb);
        BIO_meth_set_read(m, bio_read_cb);
        BIO_meth_set_ctrl(m, bio_ctrl_cb);
        BIO_meth_set_create(m, bio_create_cb);
        return m;
    }();
    return method;
}

std::string openssl_error(std::string_view what) {
    std::string text(what);
    unsigned long e = ERR_peek_last_error();
    if (e) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        text.append(": ").append(buf);
    }
    ERR_clear_error();
    return text;
}

// SSL_CTX's new-session callback: the connection's TlsSession files it under its target.
int new_session_cb(SSL* ssl, SSL_SESSION* session) {
    auto* owner = static_cast<TlsSession*>(SSL_get_app_data(ssl));
    return owner ? owner->on_new_session(session) : 0;
}

// Distinct targets whose sessions a context keeps; beyond that, new targets just do full handshakes.
constexpr size_t kMaxTargets = 10'000;
// TLS 1.3 tickets kept per target (a full handshake brings two, a resumption one).
constexpr size_t kTicketsPerTarget = 4;

bool is_ip_literal(const std::string& name) {
    unsigned char addr[16];
    return inet_pton(AF_INET, name.c_str(), addr) == 1 || inet_pton(AF_INET6, name.c_str(), addr) == 1;
}

}  // namespace

TlsContext::TlsContext(bool verify, std::string ca_file) : verify_(verify), ca_file_(std::move(ca_file)) {
    ERR_clear_error();
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (!ctx_) {
        error_ = openssl_error("TLS: cannot create a context");
        return;
    }
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    // Partial writes: a large send goes out as the socket takes it; the write buffer may move between
    // retries (the socket's queue is a std::string).
    SSL_CTX_set_mode(ctx_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
    // Many HTTP servers close without close_notify; the protocol's own framing tells a cut response.
    SSL_CTX_set_options(ctx_, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
    SSL_CTX_set_verify(ctx_, verify_ ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
    // Client sessions are kept by us, per target (see sessions_), not in OpenSSL's internal cache.
    SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx_, new_session_cb);
    if (!verify_) return;  // no trust store needed
    int ok = ca_file_.empty() ? SSL_CTX_set_default_verify_paths(ctx_)
                              : SSL_CTX_load_verify_locations(ctx_, ca_file_.c_str(), nullptr);
    if (ok != 1) {
        error_ = openssl_error(ca_file_.empty() ? std::string("TLS: cannot load the system trust store")
                                                : "TLS: cannot load CA file " + ca_file_);
        SSL_CTX_free(ctx_);
        ctx_ = nullptr;
    }
}

TlsContext::~TlsContext() {
    for (auto& [key, sessions] : sessions_)
        for (SSL_SESSION* s : sessions) SSL_SESSION_free(s);
    SSL_CTX_free(ctx_);
}

SSL_SESSION* TlsContext::take_session(const std::string& key) {
    auto it = sessions_.find(key);
    if (it == sessions_.end() || it->second.empty()) return nullptr;
    SSL_SESSION* newest = it->second.back();
    if (SSL_SESSION_get_protocol_version(newest) >= TLS1_3_VERSION) {
        it->second.pop_back();  // a ticket is used once: the caller gets our reference
        return newest;
    }
    SSL_SESSION_up_ref(newest);  // a TLS 1.2 session stays for the next connection
    return newest;
}

bool TlsContext::keep_session(const std::string& key, SSL_SESSION* session) {
    auto it = sessions_.find(key);
    if (it == sessions_.end()) {
        if (sessions_.size() >= kMaxTargets) return false;
        it = sessions_.emplace(key, std::vector<SSL_SESSION*>{}).first;
    }
    auto& kept = it->second;
    const bool tls13 = SSL_SESSION_get_protocol_version(session) >= TLS1_3_VERSION;
    // A TLS 1.2 session replaces what was kept; TLS 1.3 tickets queue up, the oldest dropped first.
    while (!kept.empty() && (!tls13 || kept.size() >= kTicketsPerTarget ||
                             SSL_SESSION_get_protocol_version(kept.front()) < TLS1_3_VERSION)) {
        SSL_SESSION_free(kept.front());
        kept.erase(kept.begin());
    }
    kept.push_back(session);
    return true;
}

TlsSession::~TlsSession() {
    if (!ssl_) return;
    // We close without close_notify (a load generator does not wait for the peer's). Without this,
    // SSL_free would mark the session unresumable, and the target's next connection would run a full
    // handshake; since TLS 1.1 a close without close_notify need not prevent resumption (RFC 5246
    // 7.2.1). Fatal alerts still invalidate the session: OpenSSL removes it when one is sent or received.
    SSL_set_shutdown(ssl_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(ssl_);  // frees the BIO too (SSL_set_bio gave it away)
}

bool TlsSession::start(TlsContext& ctx, int fd, const std::string& server_name, std::string session_key,
                       std::string_view alpn) {
    ERR_clear_error();
    fd_ = fd;
    context_ = &ctx;
    session_key_ = std::move(session_key);
    BIO_METHOD* method = socket_bio_method();
    if (!ctx.get() || !method || !(ssl_ = SSL_new(ctx.get()))) {
        status_ = NTX_E_TLS;
        reason_ = ctx.get() ? openssl_error("TLS: cannot create a session") : ctx.error();
        return false;
    }
    BIO* bio = BIO_new(method);
    if (!bio) {
        status_ = NTX_E_TLS;
        reason_ = openssl_error("TLS: cannot create a BIO");
        return false;
    }
    BIO_set_data(bio, this);
    SSL_set_bio(ssl_, bio, bio);
    SSL_set_connect_state(ssl_);
    SSL_set_app_data(ssl_, this);
    if (SSL_SESSION* earlier = ctx.take_session(session_key_)) {
        SSL_set_session(ssl_, earlier);  // takes a reference of its own
        SSL_SESSION_free(earlier);
    }

    bool ok = true;
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
    if (is_ip_literal(server_name)) {
        // RFC 6066: no SNI for an address; the certificate must name it in an IP SAN.
        if (ctx.verify()) ok = X509_VERIFY_PARAM_set1_ip_asc(param, server_name.c_str()) == 1;
    } else {
        ok = SSL_set_tlsext_host_name(ssl_, server_name.c_str()) == 1;
        if (ok && ctx.verify()) {
            X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            ok = X509_VERIFY_PARAM_set1_host(param, server_name.c_str(), server_name.size()) == 1;
        }
    }
    if (!ok) {
        status_ = NTX_E_TLS;
        reason_ = openssl_error("TLS: bad server name '" + server_name + "'");
        return false;
    }
    // SSL_set_alpn_protos returns 0 on success (unlike most of OpenSSL).
    if (!alpn.empty() &&
        SSL_set_alpn_protos(ssl_, reinterpret_cast<const unsigned char*>(alpn.data()), static_cast<unsigned>(alpn.size())) != 0) {
        status_ = NTX_E_TLS;
        reason_ = openssl_error("TLS: cannot offer ALPN protocols");
        return false;
    }
    return true;
}

std::string_view TlsSession::alpn_selected() const {
    if (!ssl_) return {};
    const unsigned char* name = nullptr;
    unsigned len = 0;
    SSL_get0_alpn_selected(ssl_, &name, &len);
    return name ? std::string_view(reinterpret_cast<const char*>(name), len) : std::string_view();
}

bool valid_alpn_list(std::string_view wire) {
    // RFC 7301 3.1: a non-empty list of non-empty names, each with its one-byte length; at most 65535 bytes.
    if (wire.empty() || wire.size() > 0xffff) return false;
    for (size_t at = 0; at < wire.size();) {
        const size_t n = static_cast<unsigned char>(wire[at]);
        if (n == 0 || at + 1 + n > wire.size()) return false;
        at += 1 + n;
    }
    return true;
}

TlsResult TlsSession::result_of(int rc, bool in_handshake) {
    int err = SSL_get_error(ssl_, rc);
    switch (err) {
    case SSL_ERROR_WANT_READ: return {TlsWant::read, 0};
    case SSL_ERROR_WANT_WRITE: return {TlsWant::write, 0};
    case SSL_ERROR_ZERO_RETURN:
        if (!in_handshake) return {TlsWant::closed, 0};
        status_ = NTX_E_TLS;
        reason_ = "TLS: the server closed the connection during the handshake";
        return {TlsWant::failed, 0};
    case SSL_ERROR_SYSCALL:
        if (sys_errno_ != 0) {
            status_ = NTX_E_IO;
            reason_ = std::string("TLS: ") + std::strerror(sys_errno_);
            ERR_clear_error();
            return {TlsWant::failed, 0};
        }
        if (!in_handshake) {
            ERR_clear_error();
            return {TlsWant::closed, 0};
        }
        status_ = NTX_E_TLS;
        reason_ = "TLS: the server closed the connection during the handshake";
        ERR_clear_error();
        return {TlsWant::failed, 0};
    default: {
        status_ = NTX_E_TLS;
        long verify = SSL_get_verify_result(ssl_);
        if (in_handshake && ERR_GET_REASON(ERR_peek_error()) == SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL) {
            // The server speaks none of the protocols offered by ALPN: a protocol mismatch, not a
            // broken TLS (ABI 1.6, ntx_socket_opts_t.tls_alpn).
            status_ = NTX_E_PROTOCOL;
            reason_ = "TLS: the server selects none of the protocols offered by ALPN (no_application_protocol alert)";
            ERR_clear_error();
        } else if (verify != X509_V_OK) {
            reason_ = std::string("TLS: certificate verify failed: ") + X509_verify_cert_error_string(verify);
            ERR_clear_error();
        } else {
            reason_ = openssl_error("TLS");
        }
        return {TlsWant::failed, 0};
    }
    }
}

TlsResult TlsSession::handshake() {
    ERR_clear_error();
    sys_errno_ = 0;
    int rc = SSL_do_handshake(ssl_);
    if (rc == 1) return {TlsWant::done, 0};
    return result_of(rc, true);
}

TlsResult TlsSession::read(uint8_t* buf, size_t max) {
    ERR_clear_error();
    sys_errno_ = 0;
    int rc = SSL_read(ssl_, buf, static_cast<int>(std::min<size_t>(max, 1u << 30)));
    if (rc > 0) return {TlsWant::done, static_cast<size_t>(rc)};
    return result_of(rc, false);
}

TlsResult TlsSession::write(const uint8_t* data, size_t len) {
    ERR_clear_error();
    sys_errno_ = 0;
    int rc = SSL_write(ssl_, data, static_cast<int>(std::min<size_t>(len, 1u << 30)));
    if (rc > 0) return {TlsWant::done, static_cast<size_t>(rc)};
    return result_of(rc, false);
}

int TlsSession::on_new_session(SSL_SESSION* session) {
    // 1: the context keeps the reference OpenSSL hands over; 0: OpenSSL frees it.
    return context_ && context_->keep_session(session_key_, session) ? 1 : 0;
}

size_t TlsSession::pending() const { return ssl_ ? static_cast<size_t>(SSL_pending(ssl_)) : 0; }

int TlsSession::bio_read(char* buf, int len) {
    BIO* bio = SSL_get_rbio(ssl_);
    BIO_clear_retry_flags(bio);
    ssize_t n = ::recv(fd_, buf, static_cast<size_t>(len), 0);
    if (n > 0) {
        wire_in_ += static_cast<uint64_t>(n);
        return static_cast<int>(n);
    }
    if (n == 0) return 0;  // EOF
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        BIO_set_retry_read(bio);
        return -1;
    }
    sys_errno_ = errno;
    return -1;
}

int TlsSession::bio_write(const char* buf, int len) {
    BIO* bio = SSL_get_wbio(ssl_);
    BIO_clear_retry_flags(bio);
    ssize_t n = ::send(fd_, buf, static_cast<size_t>(len), MSG_NOSIGNAL);
    if (n >= 0) {
        wire_out_ += static_cast<uint64_t>(n);
        return static_cast<int>(n);
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        BIO_set_retry_write(bio);
        return -1;
    }
    sys_errno_ = errno;
    return -1;
}

}  // namespace ntx::net
