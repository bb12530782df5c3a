// HTTP/2 with prior knowledge (h2c, RFC 9113 3.3) on libnghttp2, under the plugin's HTTP/1.1
// machinery.
//
// nghttp2 works on buffers, so it fits the host-owned socket: bytes the host delivers go in through
// receive(), frames to send come out in a string the connection hands to socket_send. The session is
// an adapter at the connection's edges: a request goes in as the HTTP/1.1 bytes the plugin prepared
// (request line, headers, body: cookies and all), and the stream's response comes out as an HTTP/1.1
// response in chunked coding that the same incremental parser reads. So redirects, limits, result
// fields, cookies and decoding are one code path for both versions; the cost is re-reading our own
// request head per request (no allocation once the buffers have grown).
//
// One stream at a time: a user runs one action at a time, so a user's connection carries one stream,
// kept open across actions (SETTINGS once per connection). GOAWAY makes the session unusable for the
// next request; RST_STREAM, a malformed frame, a flood (nghttp2's own limits) and a header block over
// the limit end the stream as an error of their kind.
#pragma once

#include <ntx/sdk/error.hpp>

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ntx::http {

using sdk::Error;

class H2Session {
public:
    explicit H2Session(std::uint32_t max_header_bytes);
    ~H2Session();
    H2Session(const H2Session &) = delete;
    H2Session &operator=(const H2Session &) = delete;

    // Starts a stream for `request` (HTTP/1.1 bytes: head and body) on `authority`; the frames to send
    // (the connection preface and SETTINGS first, on a new session) are appended to `out`. The body
    // must stay valid until the stream ends (it is sent as flow control allows).
    Error submit(std::string_view request, std::string_view authority, std::string &out);

    // Bytes from the socket. The stream's response, as HTTP/1.1, is appended to `response`; frames to
    // send (acknowledgements, WINDOW_UPDATE, the rest of a body) to `out`. An error ends the stream:
    // NTX_E_PROTOCOL (a malformed or flooding peer, RST_STREAM), NTX_E_LIMIT (a header block over the
    // limit), NTX_E_CLOSED (a GOAWAY that excludes the stream).
    Error receive(const std::uint8_t *data, std::size_t len, std::string &response, std::string &out);

    // False once the peer sent GOAWAY or the session failed: the next request needs a new connection.
    bool usable() const noexcept;
    bool got_goaway() const noexcept { return goaway_; }

    struct Callbacks;  // nghttp2's callbacks (h2_session.cpp)

private:
    Error flush(std::string &out);

    nghttp2_session *session_ = nullptr;
    std::uint32_t max_header_bytes_;
    std::int32_t stream_ = -1;       // the live stream, -1 when none
    bool goaway_ = false;
    bool failed_ = false;
    Error stream_error_;             // set by a callback, returned by receive
    std::string *response_ = nullptr;  // receive's output while it runs
    bool head_done_ = false;         // the live stream's response head was written
    bool interim_ = false;           // the head being written is a 1xx
    std::size_t head_bytes_ = 0;
    bool stream_done_ = false;
    std::string_view body_;          // the live request's body still to send
    std::string lower_;              // lowercased header names of the live request (nv points into it)
    std::vector<nghttp2_nv> nv_;     // the request's name/value pairs, reused
};

}  // namespace ntx::http
