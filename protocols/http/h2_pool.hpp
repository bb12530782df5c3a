// h2c connections shared by the users of one loop, each carrying up to `max-streams` streams at once
// (`max-streams` > 1 in the component config): the multiplexing a browser or h2load does, where a
// user's own connection (max-streams 1) carries one stream at a time because a user runs one action
// at a time.
//
// One pool per loop (PluginState::h2_pools[loop_index]), used only on that loop's thread. A user's
// connection object submits its action's stream (H2Stream, its own) with the request bytes it
// prepared; the pool picks an open connection to the origin with room (fewer streams than
// max-streams and the server's SETTINGS_MAX_CONCURRENT_STREAMS) or opens one, and calls the user back
// (H2Client::h2_progress) when its stream has response bytes, is done or failed. A connection that
// fails fails every stream on it; one the server sent GOAWAY takes no new streams and closes when its
// last stream ends. The pool never calls back from inside submit or cancel.
#pragma once

#include "h2_session.hpp"
#include "url.hpp"

#include <ntx/plugin_abi.h>
#include <ntx/sdk/host_link.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ntx::http {

class H2Client {
public:
    // The stream has new response bytes, is done, or failed (its `error`). Called from the pool's
    // socket callbacks; the stream is already off the pool when it is done or failed.
    virtual void h2_progress() noexcept = 0;

protected:
    ~H2Client() = default;
};

class H2Pool {
public:
    H2Pool(const sdk::HostLink &host, ntx_loop_t *loop, std::uint32_t connect_timeout_ms, std::uint32_t max_header_bytes,
           std::uint32_t max_streams);
    ~H2Pool();  // at release the host has closed every socket already: nothing to close here
    H2Pool(const H2Pool &) = delete;
    H2Pool &operator=(const H2Pool &) = delete;

    // Starts `stream` for `client` to `url`'s origin. `request` (HTTP/1.1 bytes) and `url` must stay
    // valid until the stream is done, failed or cancelled. A negative status: nothing was started.
    ntx_status_t submit(H2Client &client, H2Stream &stream, const Url &url, std::string_view request);
    // Takes `stream` off the pool (RST_STREAM if it is on the wire); no callback follows.
    void cancel(H2Stream &stream) noexcept;

    std::size_t connections() const noexcept { return conns_.size(); }

private:
    struct Entry {
        H2Client *client;
        H2Stream *stream;
        std::string_view request;  // until it is submitted (the connection was still connecting)
        const Url *url;
    };
    struct Conn {
        H2Pool *pool = nullptr;
        ntx_socket_t socket = 0;
        bool connected = false;
        std::string host;
        std::uint16_t port = 0;
        std::unique_ptr<H2Session> session;
        std::vector<Entry> pending;  // waiting for the connection
        std::vector<Entry> streams;  // on the session
    };

    static void socket_event(void *userdata, const ntx_socket_event_t *event) noexcept;
    void on_event(Conn &conn, const ntx_socket_event_t &event);
    void on_connected(Conn &conn);
    void on_data(Conn &conn, const std::uint8_t *data, std::size_t len);
    void fail_conn(Conn &conn, ntx_status_t code, std::string_view reason);  // erases conn
    void send(Conn &conn);
    void dispatch(std::vector<Entry> &ready);
    Conn *open(const Url &url);
    void erase(Conn &conn) noexcept;

    const sdk::HostLink &host_;
    ntx_loop_t *loop_;
    std::uint32_t connect_timeout_ms_;
    std::uint32_t max_header_bytes_;
    std::uint32_t max_streams_;
    std::vector<std::unique_ptr<Conn>> conns_;
    std::string out_;               // frames to send, reused
    std::vector<Entry> ready_;      // streams to call back after a receive, reused
};

}  // namespace ntx::http
