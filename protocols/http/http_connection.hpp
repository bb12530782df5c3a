// One user's HTTP connection and the state machine of its current action.
//
// Sans-I/O: the host owns the socket (plain TCP, or TLS for https: the host runs the handshake and
// verifies the certificate). start() prepares the request and either sends it on the kept-alive
// connection or opens a new one (and sends on NTX_SOCKET_CONNECTED); received bytes arrive as
// NTX_SOCKET_DATA and feed an incremental response parser; a complete response, an error or the
// host's on_error ends the action. With follow-redirects, a 301/302/303/307/308 response starts the
// next hop instead (on the same connection when it is kept alive and the origin is the same).
//
// The per-request path does no work that can be done once: the request (parsed URL, serialized
// bytes) is kept while the action's params repeat, the parser writes into buffers kept across
// actions, and result fields are built only when the script reads them (NTX_ACTION_WANTS_RESULT).
//
// Ending an action: the host never calls back into the plugin from inside action_complete /
// action_fail (ABI, "ACTIONS ARE ASYNCHRONOUS"). Even so, every path that ends an action resets
// this object's state first and makes the host call its last use of `this`, so a host that did
// re-enter (start the user's next action, or release the user and delete this object) would still
// find a consistent object. The result handed over points into this object's buffers; the host
// copies what it keeps during the call.
#pragma once

#include <ntx/sdk/error.hpp>
#include "body_decoder.hpp"
#include "cookie_jar.hpp"
#include "h2_pool.hpp"
#include "h2_session.hpp"
#include "plugin_state.hpp"
#include "request.hpp"
#include "response_parser.hpp"
#include "result.hpp"

#include <ntx/plugin_abi.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ntx::http {

using sdk::Error;

class HttpConnection final : public H2Client {
public:
    HttpConnection(const PluginState &plugin, ntx_loop_t *loop, std::uint32_t loop_index);
    ~HttpConnection();  // closes the socket and cancels the timer; never calls the host about an action
    void h2_progress() noexcept override;  // the pooled stream has news (H2Pool)
    HttpConnection(const HttpConnection &) = delete;
    HttpConnection &operator=(const HttpConnection &) = delete;

    // run_action for this user. NTX_OK: the outcome comes later (even a failure found here is reported
    // through a zero-delay timer, so the reason reaches the host). Negative: the action ended here.
    ntx_status_t start(ntx_action_t *action, const ntx_action_ctx_t &ctx);

    // The host ended `action` (on_error): close the socket, drop the parser, forget the handle.
    void abandon(ntx_action_t *action) noexcept;

    // Host callbacks; userdata is the HttpConnection.
    static void socket_event(void *userdata, const ntx_socket_event_t *event) noexcept;
    static void timer_fired(void *userdata, ntx_timer_t timer) noexcept;

private:
    using Clock = std::chrono::steady_clock;
    enum class Conn { none, connecting, open };

    void handle_event(const ntx_socket_event_t &event);
    void on_connected(std::string_view alpn);  // alpn: the server's ALPN selection (TLS), or empty
    void on_data(const std::uint8_t *data, std::size_t len);
    bool h2_receive(const std::uint8_t *data, std::size_t len);  // false: the action ended
    void on_peer_closed();
    void on_socket_failure(ntx_status_t status, std::string_view reason);
    void parse(const char *data, std::size_t len);

    void reset_parser() noexcept;
    ntx_status_t open_socket();
    ntx_status_t send_request();
    std::string_view request_view();   // the current hop's bytes, with the jar's Cookie header put in
    ntx_status_t submit_pooled();      // the current hop as a stream on the loop's shared h2 connections
    void release_stream() noexcept;    // the pooled stream off the pool
    bool connection_fits() const noexcept;      // the open connection can carry the current hop
    std::string_view server_name() const noexcept;  // the TLS name of the current hop
    HttpVersion wanted_version() const noexcept;    // the current hop's http-version (auto over http:// is 1.1)
    std::string_view protocol_name() const noexcept;  // "http/1.1", "h2" or "h2c": what the action speaks
    void follow_redirect(bool reusable);
    bool can_retry(ntx_status_t status) const noexcept;
    void retry();
    void close_socket() noexcept;
    void cancel_timer() noexcept;

    void take_action(ntx_action_t *action);
    ntx_action_t *release_action() noexcept;
    ntx_status_t defer_failure(ntx_action_t *action, Error error);

    // Ending the action: each resets the state and calls the host last.
    void complete(bool trailing_bytes);
    void fail(ntx_status_t code, std::string_view reason);
    void fail_internal() noexcept;
    void add_timings(Clock::time_point end);
    void take_cookies();                 // the response's Set-Cookie headers into the jar
    void add_cookie_fields();            // cookies.<name> result fields
    void count(const JarStats &stats) const noexcept;

    const PluginState &plugin_;
    ntx_loop_t *loop_;
    std::uint32_t loop_index_;

    // The connection (outlives actions when kept alive).
    ntx_socket_t socket_ = 0;
    Conn conn_ = Conn::none;
    std::string conn_host_;
    std::uint16_t conn_port_ = 0;
    bool conn_tls_ = false;
    bool conn_verify_ = true;
    std::string conn_ca_file_;
    std::string conn_server_name_;
    bool conn_reused_ = false;  // the current attempt runs on a connection that served an earlier response
    HttpVersion conn_version_ = HttpVersion::v1_1;  // the http-version the connection was opened for
    bool conn_h2_ = false;      // the connection speaks HTTP/2 (h2c, or h2 selected by ALPN)
    std::unique_ptr<H2Session> h2_;  // its session, made with the connection's first request
    H2Stream h2_stream_;        // the action's stream on it (or on the loop's pool)
    bool pooled_ = false;       // the action runs on the loop's shared h2 connections (max-streams > 1)
    std::uint64_t h2_counted_in_ = 0;  // of h2_stream_.wire_in, what bytes_received_ has
    std::string h2_out_;        // frames to send, reused
    std::string h2_in_;         // the stream's response as HTTP/1.1 bytes, reused

    // The live action, if any.
    ntx_action_t *action_ = nullptr;
    // Prepared requests (URL and bytes) per action of the script, each kept while its params repeat:
    // a user that alternates actions on one connection (GET, POST, DELETE) re-parses and re-serializes
    // nothing. Slots are by action id (ids past kPreparedSlots share the last slot; `matches` keeps
    // that correct). `request_` is the current action's.
    static constexpr std::size_t kPreparedSlots = 32;
    std::vector<std::unique_ptr<PreparedRequest>> prepared_;
    PreparedRequest *request_ = nullptr;
    bool want_result_ = true;   // the script reads this action's result fields (and timings)
    bool retried_ = false;      // the one transparent retry on a fresh connection was used
    bool got_bytes_ = false;    // the current attempt received at least one byte
    std::string rbuf_;          // received bytes the parser has not consumed yet
    ResponseSink response_;     // what the parser fills (body and status), reused across actions
    std::optional<ResponseParser> parser_;
    ResultFields fields_;       // the result's fields, reused across actions
    std::string reason_;        // a failure's composed reason, reused
    std::uint32_t redirects_ = 0;        // hops followed in this action
    std::vector<std::string> visited_;   // [0, visited_count_): URLs of this action's hops so far (loop check)
    std::size_t visited_count_ = 0;
    std::string url_text_;      // the current hop's URL as text (loop check, the `url` result field)
    std::uint64_t bytes_sent_ = 0;
    std::uint64_t bytes_received_ = 0;
    // Timings, taken only when want_result_.
    Clock::time_point t_start_{};
    Clock::time_point t_connect_start_{};
    double connect_ms_ = 0.0;
    std::optional<double> first_byte_ms_;

    // Cookies: the user's jar, the task it belongs to, and the request with its Cookie header.
    CookieJar jar_;
    std::uint64_t jar_task_ = 0;
    bool cookies_on_ = false;   // the current action uses the jar
    std::string send_buf_;      // a prepared request with the jar's Cookie header put in
    // Compression: the current action decodes bodies; the decoder and its output, kept across actions.
    bool decode_on_ = false;
    BodyDecoder decoder_;
    std::string decoded_;

    // A failure found inside start(), reported from a zero-delay timer.
    ntx_timer_t fail_timer_ = 0;
    Error pending_;
};

}  // namespace ntx::http
