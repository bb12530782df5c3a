// One acceptor on one port: accepts connections forever, each on its own strand, and hands them to
// a Session bound to that port's asset.
#pragma once

#include "server_context.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <string>

namespace ntx_target {

class Listener : public std::enable_shared_from_this<Listener> {
public:
    Listener(boost::asio::io_context& ioc, ServerContext& ctx, PortAsset& asset);

    // Opens, binds and listens; on failure returns false with a message in err.
    bool open(const boost::asio::ip::tcp::endpoint& ep, std::string& err);
    void start();

private:
    void do_accept();
    void on_accept(boost::system::error_code ec, boost::asio::ip::tcp::socket socket);

    boost::asio::io_context& ioc_;
    ServerContext& ctx_;
    PortAsset& asset_;
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer retry_;
};

}  // namespace ntx_target
