// TLS for host sockets (OpenSSL), reactor style: the socket's loop waits for readiness, TlsSession
// tries the operation and says what it needs next (read readiness, write readiness, done, failed).
//
// TlsSession does its socket I/O through a small BIO of our own over the non-blocking descriptor: it
// counts every byte on the wire (the loop's byte counts and rate limits are about the wire, not the
// plaintext) and sends with MSG_NOSIGNAL (a peer that reset the connection never raises SIGPIPE).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ntx/plugin_abi.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
typedef struct ssl_session_st SSL_SESSION;

namespace ntx::net {

// One SSL_CTX: the trust store (the system's or a CA file) and the verification mode. A loop keeps
// one per (verify, CA file) it has seen, prepared on first use and shared by all its connections.
//
// It also keeps the sessions each target gave, keyed by the server name, host and port a session was
// verified for, so that the next connection to the same target resumes instead of running a full
// handshake (a connection per action stays affordable). A TLS 1.2 session is reused until a newer one
// replaces it; a TLS 1.3 ticket is used once (RFC 8446 C.4; servers may enforce it), so a few are kept
// per target for connections that open at the same time.
class TlsContext {
public:
    TlsContext(bool verify, std::string ca_file);
    ~TlsContext();
    TlsContext(const TlsContext&) = delete;
    TlsContext& operator=(const TlsContext&) = delete;

    bool verify() const { return verify_; }
    const std::string& ca_file() const { return ca_file_; }
    SSL_CTX* get() const { return ctx_; }  // null when it could not be prepared (see error())
    const std::string& error() const { return error_; }

    // A session to resume for `key`, as a reference the caller owns (SSL_SESSION_free), or null.
    SSL_SESSION* take_session(const std::string& key);
    // Keeps `session` for `key` (takes the reference); false when the cache is full (the caller keeps it).
    bool keep_session(const std::string& key, SSL_SESSION* session);

private:
    bool verify_;
    std::string ca_file_;
    SSL_CTX* ctx_ = nullptr;
    std::string error_;
    std::unordered_map<std::string, std::vector<SSL_SESSION*>> sessions_;  // newest last
};

// What an operation needs next.
enum class TlsWant : uint8_t {
    done,    // finished (handshake), or `n` bytes moved (read/write)
    read,    // wait until the socket is readable, then call the same operation again
    write,   // wait until the socket is writable, then call the same operation again
    closed,  // the peer closed (close_notify or EOF)
    failed   // status() and reason() say why; the connection is unusable
};

struct TlsResult {
    TlsWant want = TlsWant::done;
    size_t n = 0;
};

class TlsSession {
public:
    TlsSession() = default;
    ~TlsSession();
    TlsSession(const TlsSession&) = delete;
    TlsSession& operator=(const TlsSession&) = delete;

    // Binds a client session to the connected descriptor `fd` (not owned). `server_name` is a DNS name
    // (sent as SNI, checked against the certificate when verifying) or an IP address (checked against
    // the IP SANs, no SNI). `session_key` names the target for resumption (see TlsContext); `ctx` must
    // outlive this session. False with reason() when OpenSSL refuses.
    // `alpn`, when not empty, is offered by ALPN (RFC 7301 wire format, checked by valid_alpn_list).
    bool start(TlsContext& ctx, int fd, const std::string& server_name, std::string session_key,
               std::string_view alpn = {});
    // After the handshake: the protocol the server selected by ALPN, empty when none.
    std::string_view alpn_selected() const;

    TlsResult handshake();
    TlsResult read(uint8_t* buf, size_t max);
    TlsResult write(const uint8_t* data, size_t len);
    // Plaintext OpenSSL holds already decrypted (read it before waiting for the socket again).
    size_t pending() const;

    // Wire bytes moved since the last call (read by the socket after every operation).
    uint64_t take_wire_in() { return std::exchange(wire_in_, 0); }
    uint64_t take_wire_out() { return std::exchange(wire_out_, 0); }

    ntx_status_t status() const { return status_; }  // for TlsWant::failed: NTX_E_TLS or NTX_E_IO
    std::string_view reason() const { return reason_; }

    // The BIO's I/O (called from OpenSSL through the BIO method).
    int bio_read(char* buf, int len);
    int bio_write(const char* buf, int len);
    // OpenSSL has a new session for this connection's target (SSL_CTX's new-session callback).
    int on_new_session(SSL_SESSION* session);

private:
    TlsResult result_of(int rc, bool in_handshake);

    SSL* ssl_ = nullptr;
    TlsContext* context_ = nullptr;
    std::string session_key_;
    int fd_ = -1;
    int sys_errno_ = 0;      // the errno of the BIO's last failed recv/send
    uint64_t wire_in_ = 0, wire_out_ = 0;
    ntx_status_t status_ = NTX_OK;
    std::string reason_;
};

// Whether `wire` is a well-formed ALPN protocol list (each name non-empty, preceded by its length).
bool valid_alpn_list(std::string_view wire);

}  // namespace ntx::net
