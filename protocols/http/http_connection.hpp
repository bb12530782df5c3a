// One user's HTTP connection and the state machine of its current action.
//
// Sans-I/O: the host owns the socket. start() builds the request and either sends it on the kept-alive
// connection or opens a new one (and sends on NTX_SOCKET_CONNECTED); received bytes arrive as
// NTX_SOCKET_DATA and feed an incremental Beast response parser; a complete response, an error or the
// host's on_error ends the action.
//
// Reentrancy: the host may call back into the plugin from inside action_complete / action_fail (start
// the user's next action, or release the user and delete this object). So every path that ends an
// action resets this object's state first and makes the host call its very last use of `this`.
#pragma once

#include "error.hpp"
#include "plugin_state.hpp"
#include "request.hpp"
#include "result.hpp"

#include <ntx/plugin_abi.h>

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace ntx::http {

class HttpConnection {
public:
    HttpConnection(const PluginState &plugin, ntx_loop_t *loop, std::uint32_t loop_index);
    ~HttpConnection();  // closes the socket and cancels the timer; never calls the host about an action
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
    using Parser = boost::beast::http::response_parser<boost::beast::http::string_body>;
    enum class Conn { none, connecting, open };

    void handle_event(const ntx_socket_event_t &event);
    void on_connected();
    void on_data(const std::uint8_t *data, std::size_t len);
    void on_peer_closed();
    void on_socket_failure(ntx_status_t status);
    void parse(const char *data, std::size_t len);

    void reset_parser();
    ntx_status_t open_socket();
    ntx_status_t send_request();
    bool can_retry(ntx_status_t status) const noexcept;
    void retry();
    void close_socket() noexcept;
    void cancel_timer() noexcept;

    void take_action(ntx_action_t *action);
    ntx_action_t *release_action() noexcept;
    ntx_status_t defer_failure(ntx_action_t *action, Error error);

    // Ending the action: each resets the state and calls the host last.
    void complete(bool trailing_bytes);
    void fail(ntx_status_t code, std::string reason);
    void fail_internal() noexcept;
    void add_timings(ResultFields &fields, Clock::time_point end) const;

    const PluginState &plugin_;
    ntx_loop_t *loop_;
    std::uint32_t loop_index_;

    // The connection (outlives actions when kept alive).
    ntx_socket_t socket_ = 0;
    Conn conn_ = Conn::none;
    std::string conn_host_;
    std::uint16_t conn_port_ = 0;
    bool conn_reused_ = false;  // the current attempt runs on a connection that served an earlier response

    // The live action, if any.
    ntx_action_t *action_ = nullptr;
    RequestSpec spec_;          // url stays valid for the action; header/body views only inside start()
    bool head_ = false;
    bool keep_alive_ = true;
    bool retried_ = false;      // the one transparent retry on a fresh connection was used
    bool got_bytes_ = false;    // the current attempt received at least one byte
    std::string request_;       // serialized request, reused across actions
    std::string rbuf_;          // received bytes the parser has not consumed yet
    std::optional<Parser> parser_;
    std::uint64_t bytes_sent_ = 0;
    std::uint64_t bytes_received_ = 0;
    Clock::time_point t_start_{};
    Clock::time_point t_connect_start_{};
    double connect_ms_ = 0.0;
    std::optional<double> first_byte_ms_;

    // A failure found inside start(), reported from a zero-delay timer.
    ntx_timer_t fail_timer_ = 0;
    Error pending_;
};

}  // namespace ntx::http
