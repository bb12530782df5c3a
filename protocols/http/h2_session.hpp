// HTTP/2 with prior knowledge (h2c, RFC 9113 3.3) on libnghttp2, under the plugin's HTTP/1.1
// machinery.
//
// nghttp2 works on buffers, so it fits the host-owned socket: bytes the host delivers go in through
// receive(), frames to send come out in a string the owner hands to socket_send. The session is an
// adapter at the connection's edges: a request goes in as the HTTP/1.1 bytes the plugin prepared
// (request line, headers, body: cookies and all), and each stream's response comes out as an HTTP/1.1
// response in chunked coding that the same incremental parser reads. So redirects, limits, result
// fields, cookies and decoding are one code path for both versions; the cost is re-reading our own
// request head per request (no allocation once the buffers have grown).
//
// A session carries several streams (H2Stream, owned by whoever submitted them: a user's connection,
// or the per-loop pool's users). GOAWAY makes the session unusable for new streams; RST_STREAM, a
// malformed frame, a flood (nghttp2's own limits) and a header block over the limit end a stream as
// an error of their kind.
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

// One request/response exchange on a session. Its owner keeps it (at a stable address) from submit
// until it is closed or cancelled, and reads what receive() left in it.
struct H2Stream {
    std::int32_t id = -1;        // -1: not on a session
    std::string response;        // the response so far as HTTP/1.1 bytes, not yet taken by the owner
    Error error;                 // the stream failed (RST_STREAM, a refused stream, a header block over the limit)
    bool done = false;           // the response is complete
    std::uint64_t wire_in = 0;   // frame bytes received for this stream (headers and data, with frame heads)

    // The session's bookkeeping.
    bool head_done = false;      // the response head was written
    bool interim = false;        // the head being written is a 1xx
    std::size_t head_bytes = 0;
    std::string_view body;       // the request's body still to send
    void reset() noexcept;       // ready for another submit (buffers keep their capacity)
};

class H2Session {
public:
    explicit H2Session(std::uint32_t max_header_bytes);
    ~H2Session();
    H2Session(const H2Session &) = delete;
    H2Session &operator=(const H2Session &) = delete;

    // Starts `stream` for `request` (HTTP/1.1 bytes: head and body) on `authority`; the frames to send
    // (the connection preface and SETTINGS first, on a new session) are appended to `out`. The body
    // must stay valid until the stream is done (it is sent as flow control allows).
    Error submit(H2Stream &stream, std::string_view request, std::string_view authority, std::string &out);

    // Bytes from the socket. Each stream's response, as HTTP/1.1, is appended to its `response`, a
    // stream's failure set in its `error`; frames to send (acknowledgements, WINDOW_UPDATE, the rest of
    // a body) go to `out`. An error returned is the whole session's (NTX_E_PROTOCOL: a malformed or
    // flooding peer): every stream on it fails.
    Error receive(const std::uint8_t *data, std::size_t len, std::string &out);

    // Takes `stream` off the session (RST_STREAM(CANCEL) into `out` if it is still open); its owner may
    // reuse or free it afterwards.
    void cancel(H2Stream &stream, std::string &out);

    // False once the peer sent GOAWAY or the session failed: new streams need a new connection.
    bool usable() const noexcept;
    std::size_t streams() const noexcept { return streams_.size(); }
    // The server's SETTINGS_MAX_CONCURRENT_STREAMS (unbounded until it says).
    std::uint32_t peer_max_streams() const noexcept;

    struct Callbacks;  // nghttp2's callbacks (h2_session.cpp)

private:
    Error flush(std::string &out);
    H2Stream *find(std::int32_t id) const noexcept;
    void forget(H2Stream &stream) noexcept;

    nghttp2_session *session_ = nullptr;
    std::uint32_t max_header_bytes_;
    bool goaway_ = false;
    bool failed_ = false;
    Error session_error_;             // a connection error nghttp2 reported, for the streams it ends
    std::vector<H2Stream *> streams_;  // the streams on this session (owned by their submitters)
    std::string lower_;               // lowercased header names of the request being submitted
    std::vector<nghttp2_nv> nv_;      // its name/value pairs, reused
};

}  // namespace ntx::http
