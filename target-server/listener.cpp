#include "listener.hpp"

#include "session.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>

#include <chrono>

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace ntx_target {

Listener::Listener(asio::io_context& ioc, ServerContext& ctx, PortAsset& asset)
    : ioc_(ioc), ctx_(ctx), asset_(asset), acceptor_(asio::make_strand(ioc)), retry_(acceptor_.get_executor()) {}

bool Listener::open(const tcp::endpoint& ep, std::string& err) {
    boost::system::error_code ec;
    auto fail = [&](const char* what) {
        err = std::string(what) + ": " + ec.message();
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        return false;
    };
    if (acceptor_.open(ep.protocol(), ec)) return fail("open");
    if (acceptor_.set_option(asio::socket_base::reuse_address(true), ec)) return fail("setsockopt");
    if (acceptor_.bind(ep, ec)) return fail("bind");
    if (acceptor_.listen(asio::socket_base::max_listen_connections, ec)) return fail("listen");
    return true;
}

void Listener::start() { do_accept(); }

void Listener::do_accept() {
    acceptor_.async_accept(asio::make_strand(ioc_),
                           boost::beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
}

void Listener::on_accept(boost::system::error_code ec, tcp::socket socket) {
    if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
        // Out of descriptors or similar: back off briefly instead of spinning.
        retry_.expires_after(std::chrono::milliseconds(50));
        retry_.async_wait([self = shared_from_this()](boost::system::error_code wec) {
            if (!wec && self->acceptor_.is_open()) self->do_accept();
        });
        return;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::make_shared<Session>(std::move(socket), ctx_, asset_)->start();
    do_accept();
}

}  // namespace ntx_target
