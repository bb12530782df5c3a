// ntx-target: a small, fast HTTP/1.1 server (Boost.Beast) that ntx's examples and tests use as the
// system under test. Loopback only; one listener per port of a range (ntx-target --help).
#include "listener.hpp"
#include "options.hpp"
#include "server_context.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using namespace ntx_target;

namespace {

void raise_nofile_limit() {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max) return;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 && rl.rlim_max == RLIM_INFINITY) {
        rl.rlim_cur = 1 << 20;  // "unlimited" hard limit: ask for a large finite soft one
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

// Writes path atomically: a temporary beside it, then rename.
bool write_ready_file(const std::string& path, const std::string& content) {
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        if (!f) return false;
        f << content;
        f.flush();
        if (!f) {
            std::remove(tmp.c_str());
            return false;
        }
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        std::remove(tmp.c_str());
        return false;
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    int exit_code = 0;
    auto opts = parse_options(argc, argv, exit_code);
    if (!opts) return exit_code;

    raise_nofile_limit();
    // A ready file left by an earlier run must not tell anyone this one is ready.
    if (!opts->ready_file.empty()) std::remove(opts->ready_file.c_str());

    // Declared before the io_context: outlives every handler that refers to it.
    ServerContext ctx(opts->port_first, opts->port_last, opts->body_size);
    asio::io_context ioc(static_cast<int>(opts->threads));

    std::vector<std::shared_ptr<Listener>> listeners;
    listeners.reserve(std::size_t(opts->port_last - opts->port_first) + 1);
    for (unsigned p = opts->port_first; p <= opts->port_last; ++p) {
        const auto port = static_cast<std::uint16_t>(p);
        auto l = std::make_shared<Listener>(ioc, ctx, ctx.assets.at(port));
        std::string err;
        if (!l->open(asio::ip::tcp::endpoint(opts->listen, port), err)) {
            std::cerr << "ntx-target: cannot listen on " << opts->listen_text << " port " << port
                      << " (" << err << ")\n";
            return 1;
        }
        listeners.push_back(std::move(l));
    }
    for (auto& l : listeners) l->start();

    const std::string range =
        std::to_string(opts->port_first) + "-" + std::to_string(opts->port_last);
    if (!opts->ready_file.empty() && !write_ready_file(opts->ready_file, range + "\n")) {
        std::cerr << "ntx-target: cannot write ready file " << opts->ready_file << "\n";
        return 1;
    }

    // Stop: every thread leaves run(); the stats are then printed once nothing runs any more.
    auto stop = [&] { ioc.stop(); };
    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int) {
        if (!ec) stop();
    });
    asio::steady_timer deadline(ioc);
    if (opts->max_seconds > 0) {
        deadline.expires_after(std::chrono::seconds(opts->max_seconds));
        deadline.async_wait([&](const boost::system::error_code& ec) {
            if (!ec) stop();
        });
    }

    std::vector<std::thread> threads;
    threads.reserve(opts->threads - 1);
    for (unsigned i = 1; i < opts->threads; ++i) threads.emplace_back([&ioc] { ioc.run(); });
    ioc.run();
    for (auto& t : threads) t.join();

    std::cout << ctx.stats.to_json() << std::endl;
    if (!opts->ready_file.empty()) std::remove(opts->ready_file.c_str());
    return 0;
}
