// One accepted HTTP/1.1 connection: reads requests (keep-alive, pipelining), routes them, writes
// the responses. Its buffer, header arena and output string are reused across requests.
#pragma once

#include "asset_store.hpp"
#include "response.hpp"
#include "server_context.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstddef>
#include <memory>
#include <memory_resource>
#include <optional>
#include <string>

namespace ntx_target {

class Session : public std::enable_shared_from_this<Session> {
public:
    Session(boost::asio::ip::tcp::socket socket, ServerContext& ctx, PortAsset& asset);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    void start();

private:
    using FieldsAlloc = std::pmr::polymorphic_allocator<char>;
    using Parser = boost::beast::http::request_parser<boost::beast::http::string_body, FieldsAlloc>;

    void do_read();
    void on_header(boost::beast::error_code ec, std::size_t n);
    void on_body(boost::beast::error_code ec, std::size_t n);
    void on_read_error(boost::beast::error_code ec, bool header_done);
    void handle_request();

    // Route handlers; each one fills out_ (and maybe hold_) and calls send().
    void handle_asset(boost::beast::http::verb method);
    void handle_slow(std::string_view query);
    void handle_status(boost::beast::http::verb method, std::string_view code);
    void handle_chunked(std::string_view query);
    void handle_stats(boost::beast::http::verb method, std::string_view path);
    void handle_login();           // POST /login
    void handle_api(bool order);   // GET /api/me, POST /api/orders (bearer token)

    void send();                 // out_ (+ hold_ as a second buffer when set)
    void on_write(boost::beast::error_code ec);
    void reply_error_and_close(unsigned status);  // 400/413: respond, then lingering close
    void linger();
    void close_now();

    boost::beast::tcp_stream stream_;
    ServerContext& ctx_;
    PortAsset& asset_;
    boost::beast::flat_buffer buffer_;
    // Header fields of the request being parsed are allocated from this arena, released per request.
    alignas(std::max_align_t) std::byte arena_buf_[2048];
    std::pmr::monotonic_buffer_resource arena_;
    std::optional<Parser> parser_;
    std::string out_;
    Body hold_;                  // asset body being sent, if any
    boost::asio::steady_timer timer_;  // /slow
    ConnHeader conn_ = ConnHeader::none;
    bool keep_alive_ = true;
};

}  // namespace ntx_target
