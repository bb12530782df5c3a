#include "live/metrics_server.hpp"

#include <boost/asio.hpp>

#include <stdexcept>
#include <thread>

namespace ntx::live {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

struct Connection : std::enable_shared_from_this<Connection> {
    tcp::socket socket;
    asio::streambuf request;
    std::string response;
    const std::function<std::string()>& body;
    asio::steady_timer deadline;

    Connection(tcp::socket s, const std::function<std::string()>& b)
        : socket(std::move(s)), request(64 * 1024), body(b), deadline(socket.get_executor()) {}

    void start() {
        auto self = shared_from_this();
        deadline.expires_after(std::chrono::seconds(10));  // a client that never finishes its request
        deadline.async_wait([self](boost::system::error_code ec) {
            if (!ec) self->socket.close();
        });
        asio::async_read_until(socket, request, "\r\n\r\n",
                               [self](boost::system::error_code ec, std::size_t) { self->on_read(ec); });
    }

    void on_read(boost::system::error_code ec) {
        if (ec) return finish();
        std::istream in(&request);
        std::string method, target;
        in >> method >> target;
        if (auto q = target.find('?'); q != std::string::npos) target.resize(q);
        std::string status = "200 OK", type = "text/plain; version=0.0.4; charset=utf-8", content;
        if (method != "GET" && method != "HEAD") {
            status = "405 Method Not Allowed";
            content = "GET /metrics\n";
        } else if (target == "/metrics") {
            content = body();
        } else {
            status = "404 Not Found";
            content = "ntx serves /metrics\n";
        }
        response = "HTTP/1.1 " + status + "\r\nContent-Type: " + type + "\r\nContent-Length: " +
                   std::to_string(content.size()) + "\r\nConnection: close\r\n\r\n";
        if (method != "HEAD") response += content;
        auto self = shared_from_this();
        asio::async_write(socket, asio::buffer(response), [self](boost::system::error_code, std::size_t) { self->finish(); });
    }

    void finish() {
        boost::system::error_code ignored;
        deadline.cancel();
        socket.shutdown(tcp::socket::shutdown_both, ignored);
        socket.close(ignored);
    }
};

tcp::endpoint parse_listen(const std::string& listen, bool allow_any) {
    auto colon = listen.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size())
        throw std::runtime_error("expected ADDRESS:PORT, e.g. 127.0.0.1:9464");
    std::string host = listen.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    boost::system::error_code ec;
    auto address = asio::ip::make_address(host, ec);
    if (ec) throw std::runtime_error("'" + host + "' is not an IP address");
    unsigned long port = 0;
    try {
        size_t used = 0;
        port = std::stoul(listen.substr(colon + 1), &used);
        if (used != listen.size() - colon - 1 || port > 65535) throw std::invalid_argument("port");
    } catch (const std::exception&) {
        throw std::runtime_error("'" + listen.substr(colon + 1) + "' is not a port");
    }
    if (!allow_any && !address.is_loopback())
        throw std::runtime_error("'" + host + "' is not a loopback address (the metrics endpoint listens on 127.0.0.1 or ::1 unless --metrics-public is given)");
    return {address, static_cast<unsigned short>(port)};
}

}  // namespace

struct MetricsServer::Impl {
    asio::io_context io;
    tcp::acceptor acceptor{io};
    std::function<std::string()> body;
    std::thread thread;

    void accept() {
        acceptor.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
            if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
            if (!ec) std::make_shared<Connection>(std::move(socket), body)->start();
            accept();
        });
    }
};

MetricsServer::MetricsServer(const std::string& listen, std::function<std::string()> body, bool allow_any)
    : impl_(std::make_unique<Impl>()) {
    impl_->body = std::move(body);
    tcp::endpoint ep = parse_listen(listen, allow_any);
    boost::system::error_code ec;
    impl_->acceptor.open(ep.protocol(), ec);
    if (!ec) impl_->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) impl_->acceptor.bind(ep, ec);
    if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw std::runtime_error("cannot listen on " + listen + ": " + ec.message());
    impl_->accept();
    impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

MetricsServer::~MetricsServer() {
    asio::post(impl_->io, [impl = impl_.get()] {
        boost::system::error_code ignored;
        impl->acceptor.close(ignored);
        impl->io.stop();
    });
    if (impl_->thread.joinable()) impl_->thread.join();
}

unsigned short MetricsServer::port() const { return impl_->acceptor.local_endpoint().port(); }

}  // namespace ntx::live
