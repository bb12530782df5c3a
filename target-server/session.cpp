#include "session.hpp"

#include "auth.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>

#include <array>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <string_view>
#include <tuple>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace ntx_target {
namespace {

constexpr std::uint32_t header_limit = 16 * 1024;
constexpr std::uint64_t body_limit = 16 * 1024 * 1024;
constexpr auto idle_timeout = std::chrono::seconds(30);
constexpr auto linger_timeout = std::chrono::seconds(3);
constexpr std::uint64_t max_slow_ms = 3'600'000;
constexpr std::uint64_t max_chunks = 100'000;
constexpr std::size_t keep_buffer_capacity = 256 * 1024;
constexpr std::size_t keep_out_capacity = 1024 * 1024;
constexpr std::string_view continue_100 = "HTTP/1.1 100 Continue\r\n\r\n";

// The value of key in a query string ("a=1&b=2"), if present.
std::optional<std::string_view> query_param(std::string_view query, std::string_view key) {
    while (!query.empty()) {
        auto amp = query.find('&');
        auto part = query.substr(0, amp);
        auto eq = part.find('=');
        if (part.substr(0, eq) == key)
            return eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1);
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return std::nullopt;
}

bool parse_uint(std::string_view s, std::uint64_t& out) {
    if (s.empty()) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && p == s.data() + s.size();
}

// Numeric query parameter: default when absent; false when present but not a number <= max.
bool uint_param(std::string_view query, std::string_view key, std::uint64_t def, std::uint64_t max,
                std::uint64_t& out) {
    auto v = query_param(query, key);
    if (!v) {
        out = def;
        return true;
    }
    return parse_uint(*v, out) && out <= max;
}

}  // namespace

Session::Session(asio::ip::tcp::socket socket, ServerContext& ctx, PortAsset& asset)
    : stream_(std::move(socket)),
      ctx_(ctx),
      asset_(asset),
      arena_(arena_buf_, sizeof arena_buf_, std::pmr::new_delete_resource()),
      timer_(stream_.get_executor()) {
    ctx_.stats.on_connection_open();
}

Session::~Session() { ctx_.stats.on_connection_close(); }

void Session::start() {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&Session::do_read, shared_from_this()));
}

void Session::do_read() {
    // A Beast parser handles one message: make a fresh one in place, its header fields in the
    // arena that the previous request's fields have just been given back to.
    parser_.reset();
    arena_.release();
    parser_.emplace(std::piecewise_construct, std::make_tuple(),
                    std::make_tuple(FieldsAlloc{&arena_}));
    parser_->header_limit(header_limit);
    parser_->body_limit(body_limit);
    if (buffer_.size() == 0 && buffer_.capacity() > keep_buffer_capacity) buffer_.shrink_to_fit();

    stream_.expires_after(idle_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::on_header, shared_from_this()));
}

void Session::on_header(beast::error_code ec, std::size_t n) {
    ctx_.stats.on_bytes(n);
    if (ec) return on_read_error(ec, false);
    if (parser_->is_done()) return handle_request();

    auto read_body = [this] {
        stream_.expires_after(idle_timeout);
        http::async_read(stream_, buffer_, *parser_,
                         beast::bind_front_handler(&Session::on_body, shared_from_this()));
    };
    const auto& req = parser_->get();
    if (req.version() >= 11 && beast::iequals(req[http::field::expect], "100-continue")) {
        stream_.expires_after(idle_timeout);
        asio::async_write(stream_, asio::buffer(continue_100),
                          [self = shared_from_this(), read_body](beast::error_code wec, std::size_t) {
                              if (wec) return self->close_now();
                              read_body();
                          });
        return;
    }
    read_body();
}

void Session::on_body(beast::error_code ec, std::size_t n) {
    ctx_.stats.on_bytes(n);
    if (ec) return on_read_error(ec, true);
    handle_request();
}

void Session::on_read_error(beast::error_code ec, bool header_done) {
    if (ec == http::error::body_limit) {
        // The header was read (a Content-Length over the limit, or a body that grew past it).
        const auto& req = parser_->get();
        std::string_view target = req.target();
        ctx_.stats.on_request(req.method(), target.substr(0, target.find('?')));
        return reply_error_and_close(413);
    }
    if (ec == http::error::header_limit) {
        ctx_.stats.on_unparsed_request();
        return reply_error_and_close(413);
    }
    // Malformed request (not a connection that just ended or timed out): 400, then close.
    if (ec.category() == http::make_error_code(http::error::bad_method).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message && !header_done) {
        ctx_.stats.on_unparsed_request();
        return reply_error_and_close(400);
    }
    close_now();
}

void Session::handle_request() {
    auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    conn_ = !keep_alive_ ? ConnHeader::close
                         : (req.version() < 11 ? ConnHeader::keep_alive : ConnHeader::none);
    out_.clear();
    hold_.reset();

    const http::verb method = req.method();
    std::string_view target = req.target();
    const auto qpos = target.find('?');
    const std::string_view path = target.substr(0, qpos);
    const std::string_view query =
        qpos == std::string_view::npos ? std::string_view{} : target.substr(qpos + 1);

    if (path == "/_stats" || (path == "/_stats/reset" && method == http::verb::post))
        return handle_stats(method, path);

    ctx_.stats.on_request(method, path);

    if (path == "/asset") return handle_asset(method);
    if (path == "/login" && method == http::verb::post) return handle_login();
    if (path == "/api/me" && method == http::verb::get) return handle_api(false);
    if (path == "/api/orders" && method == http::verb::post) return handle_api(true);
    constexpr std::string_view status_prefix = "/status/";
    if (path.starts_with(status_prefix))
        return handle_status(method, path.substr(status_prefix.size()));
    if (method == http::verb::get) {
        if (path == "/slow") return handle_slow(query);
        if (path == "/chunked") return handle_chunked(query);
        if (path == "/close") return close_now();
    }
    append_response(out_, 404, conn_, text_type, "not found\n");
    send();
}

void Session::handle_asset(http::verb method) {
    switch (method) {
        case http::verb::get:
        case http::verb::head:
            hold_ = asset_.get();
            append_head(out_, 200, conn_, json_type, true, hold_->size());
            if (method == http::verb::head) hold_.reset();
            break;
        case http::verb::post:
        case http::verb::put:
        case http::verb::patch: {
            auto& body = parser_->get().body();
            const std::size_t n = body.size();
            asset_.set(std::make_shared<const std::string>(std::move(body)));
            char buf[48] = "{\"stored\":";
            auto [p, ec] = std::to_chars(buf + 10, buf + sizeof buf - 1, n);
            (void)ec;
            *p++ = '}';
            append_response(out_, method == http::verb::post ? 201 : 200, conn_, json_type,
                            std::string_view(buf, std::size_t(p - buf)));
            break;
        }
        case http::verb::delete_:
            asset_.reset();
            append_head(out_, 204, conn_, {}, false, 0);
            break;
        default:
            append_response(out_, 404, conn_, text_type, "not found\n");
            break;
    }
    send();
}

void Session::handle_login() {
    std::string error;
    auto user = login_user(parser_->get().body(), error);
    if (!user) {
        append_response(out_, 400, conn_, json_type, "{\"error\":" + json_string(error) + "}");
        return send();
    }
    append_response(out_, 200, conn_, json_type, "{\"token\":" + json_string(issue_token(*user)) + "}");
    send();
}

void Session::handle_api(bool order) {
    const auto& req = parser_->get();
    auto auth = req.find(http::field::authorization);
    auto user = auth == req.end() ? std::nullopt : bearer_user(auth->value());
    if (!user) {
        append_response(out_, 401, conn_, json_type,
                        "{\"error\":\"send Authorization: Bearer <the token POST /login returned>\"}");
        return send();
    }
    if (order) {
        const auto n = ctx_.orders.fetch_add(1, std::memory_order_relaxed) + 1;
        append_response(out_, 201, conn_, json_type,
                        "{\"order\":" + std::to_string(n) + ",\"user\":" + json_string(*user) + "}");
    } else {
        append_response(out_, 200, conn_, json_type, "{\"user\":" + json_string(*user) + "}");
    }
    send();
}

void Session::handle_slow(std::string_view query) {
    std::uint64_t ms = 0;
    if (!uint_param(query, "ms", 0, max_slow_ms, ms)) {
        append_response(out_, 400, conn_, text_type, "ms must be an integer 0..3600000\n");
        return send();
    }
    if (ms == 0) {
        append_response(out_, 200, conn_, text_type, "slow");
        return send();
    }
    // Nothing is pending on the stream while waiting, so the idle timeout does not apply here.
    timer_.expires_after(std::chrono::milliseconds(ms));
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
        if (ec) return self->close_now();
        append_response(self->out_, 200, self->conn_, text_type, "slow");
        self->send();
    });
}

void Session::handle_status(http::verb method, std::string_view code_text) {
    std::uint64_t code = 0;
    if (!parse_uint(code_text, code) || code < 200 || code > 599) {
        append_response(out_, 400, conn_, text_type, "status must be 200..599\n");
        return send();
    }
    const auto status = static_cast<unsigned>(code);
    if (status == 204 || status == 304) {
        append_head(out_, status, conn_, {}, false, 0);
        return send();
    }
    char body[] = "{\"status\":000}";
    body[10] = char('0' + status / 100);
    body[11] = char('0' + status / 10 % 10);
    body[12] = char('0' + status % 10);
    const std::string_view b(body, sizeof body - 1);
    append_head(out_, status, conn_, json_type, true, b.size());
    if (method != http::verb::head) out_.append(b);
    send();
}

void Session::handle_chunked(std::string_view query) {
    std::uint64_t n = 0;
    if (!uint_param(query, "n", 3, max_chunks, n)) {
        append_response(out_, 400, conn_, text_type, "n must be an integer 0..100000\n");
        return send();
    }
    append_head(out_, 200, conn_, text_type, false, 0, true);
    char buf[32] = "chunk-";
    for (std::uint64_t i = 0; i < n; ++i) {
        auto [p, ec] = std::to_chars(buf + 6, buf + sizeof buf - 1, i);
        (void)ec;
        *p++ = '\n';
        append_chunk(out_, std::string_view(buf, std::size_t(p - buf)));
    }
    append_chunk(out_, {});
    send();
}

void Session::handle_stats(http::verb method, std::string_view path) {
    if (path == "/_stats/reset") {  // POST
        ctx_.stats.reset();
        ctx_.assets.reset_all();
        append_head(out_, 204, conn_, {}, false, 0);
    } else if (method == http::verb::get || method == http::verb::head) {
        const std::string json = ctx_.stats.to_json();
        append_head(out_, 200, conn_, json_type, true, json.size());
        if (method == http::verb::get) out_.append(json);
    } else {
        append_response(out_, 404, conn_, text_type, "not found\n");
    }
    send();
}

void Session::send() {
    stream_.expires_after(idle_timeout);
    auto handler = [self = shared_from_this()](beast::error_code ec, std::size_t) {
        self->on_write(ec);
    };
    if (hold_) {
        const std::array<asio::const_buffer, 2> bufs{asio::buffer(out_), asio::buffer(*hold_)};
        asio::async_write(stream_, bufs, std::move(handler));
    } else {
        asio::async_write(stream_, asio::buffer(out_), std::move(handler));
    }
}

void Session::on_write(beast::error_code ec) {
    hold_.reset();
    if (out_.capacity() > keep_out_capacity) {
        out_.clear();
        out_.shrink_to_fit();
    }
    if (ec) return close_now();
    if (!keep_alive_) {
        beast::error_code ignored;
        stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
        return;  // the socket closes with the session
    }
    do_read();
}

void Session::reply_error_and_close(unsigned status) {
    keep_alive_ = false;
    out_.clear();
    hold_.reset();
    append_response(out_, status, ConnHeader::close, text_type,
                    status == 413 ? std::string_view("request too large\n")
                                  : std::string_view("bad request\n"));
    stream_.expires_after(idle_timeout);
    asio::async_write(stream_, asio::buffer(out_),
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                          if (ec) return self->close_now();
                          self->linger();
                      });
}

// After an error response the client may still be sending: stop sending, then read and drop what
// comes for a bounded time so that closing does not reset the connection before it sees the reply.
void Session::linger() {
    beast::error_code ignored;
    stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    parser_.reset();
    buffer_.clear();
    buffer_.shrink_to_fit();
    stream_.expires_after(linger_timeout);
    struct Drain {
        std::shared_ptr<Session> self;
        void operator()(beast::error_code ec = {}, std::size_t = 0) {
            if (ec) return self->close_now();
            self->stream_.async_read_some(self->buffer_.prepare(64 * 1024), std::move(*this));
        }
    };
    Drain{shared_from_this()}();
}

void Session::close_now() {
    timer_.cancel();
    beast::error_code ignored;
    stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    stream_.close();
}

}  // namespace ntx_target
