// The host-owned sockets, timers and fd-watches of one loop, against real loopback sockets and pipes.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "net/loop.hpp"

using namespace ntx;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

struct Events {
    std::vector<int32_t> kinds;
    std::string data;
    ntx_status_t status = NTX_OK;
    static void on(void* ud, const ntx_socket_event_t* ev) {
        auto* self = static_cast<Events*>(ud);
        self->kinds.push_back(ev->kind);
        if (ev->kind == NTX_SOCKET_DATA) self->data.append(reinterpret_cast<const char*>(ev->data.ptr), ev->data.len);
        if (ev->kind == NTX_SOCKET_ERROR) self->status = ev->status;
    }
    bool saw(int32_t kind) const { return std::find(kinds.begin(), kinds.end(), kind) != kinds.end(); }
};

ntx_socket_opts_t opts_for(uint16_t port, Events& ev) {
    ntx_socket_opts_t o{};
    o.size = sizeof o;
    o.transport = NTX_TRANSPORT_TCP;
    o.host = {"127.0.0.1", 9};
    o.port = port;
    o.on_event = &Events::on;
    o.userdata = &ev;
    return o;
}

template <class Pred>
void run_until(net::Loop& loop, Pred done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done() && std::chrono::steady_clock::now() < deadline) loop.io().run_for(std::chrono::milliseconds(5));
    REQUIRE(done());
}

}  // namespace

TEST_CASE("a host socket connects, sends, receives and sees the peer close", "[loop]") {
    net::Loop loop(0);
    tcp::acceptor acceptor(loop.io(), tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    tcp::socket peer(loop.io());
    std::string got(4, '\0');
    acceptor.async_accept(peer, [&](auto ec) {
        REQUIRE_FALSE(ec);
        asio::async_read(peer, asio::buffer(got), [&](auto ec2, size_t) {
            REQUIRE_FALSE(ec2);
            asio::write(peer, asio::buffer(std::string("pong")));
            peer.close();
        });
    });
    Events ev;
    auto o = opts_for(acceptor.local_endpoint().port(), ev);
    ntx_socket_t id = 0;
    REQUIRE(loop.socket_open(o, &id) == NTX_OK);
    CHECK(ev.kinds.empty());  // never a callback inside socket_open
    REQUIRE(loop.socket_send(id, {reinterpret_cast<const uint8_t*>("ping"), 4}) == NTX_OK);  // queued before connect
    run_until(loop, [&] { return ev.saw(NTX_SOCKET_CLOSED); });
    CHECK(ev.kinds.front() == NTX_SOCKET_CONNECTED);
    CHECK(got == "ping");
    CHECK(ev.data == "pong");
    CHECK(loop.bytes_sent == 4);
    CHECK(loop.bytes_received == 4);
    CHECK(loop.socket_send(id, {reinterpret_cast<const uint8_t*>("x"), 1}) == NTX_E_STATE);  // dead after CLOSED
}

TEST_CASE("connecting to a closed port is a counted connect error", "[loop]") {
    net::Loop loop(0);
    uint16_t port;
    {
        tcp::acceptor a(loop.io(), tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        port = a.local_endpoint().port();
    }  // closed again: nothing listens there now
    Events ev;
    auto o = opts_for(port, ev);
    ntx_socket_t id = 0;
    REQUIRE(loop.socket_open(o, &id) == NTX_OK);
    run_until(loop, [&] { return ev.saw(NTX_SOCKET_ERROR); });
    CHECK(ev.status == NTX_E_CONNECT);
}

TEST_CASE("closing a socket from the plugin stops every callback", "[loop]") {
    net::Loop loop(0);
    tcp::acceptor acceptor(loop.io(), tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    tcp::socket peer(loop.io());
    acceptor.async_accept(peer, [&](auto) { asio::write(peer, asio::buffer(std::string("data"))); });
    Events ev;
    auto o = opts_for(acceptor.local_endpoint().port(), ev);
    ntx_socket_t id = 0;
    REQUIRE(loop.socket_open(o, &id) == NTX_OK);
    run_until(loop, [&] { return ev.saw(NTX_SOCKET_CONNECTED); });
    REQUIRE(loop.socket_close(id) == NTX_OK);
    size_t before = ev.kinds.size();
    loop.io().run_for(std::chrono::milliseconds(50));
    CHECK(ev.kinds.size() == before);
    CHECK(loop.socket_close(id) == NTX_E_STATE);
}

TEST_CASE("send rate limits hold the bytes back to the budget", "[loop]") {
    net::Loop loop(0);
    tcp::acceptor acceptor(loop.io(), tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    tcp::socket peer(loop.io());
    std::string got(3000, '\0');
    bool all = false;
    acceptor.async_accept(peer, [&](auto) {
        asio::async_read(peer, asio::buffer(got), [&](auto ec, size_t) { all = !ec; });
    });
    Events ev;
    auto o = opts_for(acceptor.local_endpoint().port(), ev);
    ntx_socket_t id = 0;
    REQUIRE(loop.socket_open(o, &id) == NTX_OK);
    ntx_rate_t rate{sizeof(ntx_rate_t), 1000, 0, 100};  // 1000 bytes per 100 ms
    REQUIRE(loop.socket_set_rate(id, rate) == NTX_OK);
    std::string payload(3000, 'x');
    auto t0 = std::chrono::steady_clock::now();
    REQUIRE(loop.socket_send(id, {reinterpret_cast<const uint8_t*>(payload.data()), payload.size()}) == NTX_OK);
    run_until(loop, [&] { return all; });
    // Three windows of budget: the last 1000 bytes cannot leave before two windows have passed.
    CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(200));
    CHECK(got == payload);
}

TEST_CASE("timers fire once, and a cancelled timer never fires", "[loop]") {
    net::Loop loop(0);
    int fired = 0, cancelled_fired = 0;
    ntx_timer_t a = 0, b = 0;
    auto count = [](void* ud, ntx_timer_t) { ++*static_cast<int*>(ud); };
    REQUIRE(loop.timer_schedule(10, count, &fired, &a) == NTX_OK);
    REQUIRE(loop.timer_schedule(10, count, &cancelled_fired, &b) == NTX_OK);
    CHECK(a != b);
    REQUIRE(loop.timer_cancel(b) == NTX_OK);
    run_until(loop, [&] { return fired == 1; });
    loop.io().run_for(std::chrono::milliseconds(30));
    CHECK(fired == 1);
    CHECK(cancelled_fired == 0);
    CHECK(loop.timer_cancel(a) == NTX_OK);  // already fired: a no-op
}

TEST_CASE("fd-watch reports readiness until unwatched and never closes the fd", "[loop]") {
    net::Loop loop(0);
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    struct Seen {
        int reads = 0;
        int fd;
    } seen{0, fds[0]};
    auto on_ready = [](void* ud, int fd, uint32_t events) {
        auto* s = static_cast<Seen*>(ud);
        CHECK(fd == s->fd);
        CHECK(events == NTX_FD_READ);
        char c;
        CHECK(read(fd, &c, 1) == 1);
        ++s->reads;
    };
    REQUIRE(loop.fd_watch(fds[0], NTX_FD_READ, on_ready, &seen) == NTX_OK);
    REQUIRE(write(fds[1], "ab", 2) == 2);
    run_until(loop, [&] { return seen.reads == 2; });  // level-triggered: both bytes
    REQUIRE(loop.fd_unwatch(fds[0]) == NTX_OK);
    REQUIRE(write(fds[1], "c", 1) == 1);
    loop.io().run_for(std::chrono::milliseconds(30));
    CHECK(seen.reads == 2);
    CHECK(fcntl(fds[0], F_GETFD) != -1);  // still open: it is the plugin's
    close(fds[0]);
    close(fds[1]);
}

TEST_CASE("a stale timer id never cancels a live timer, even after its slot was reused many times", "[loop]") {
    net::Loop loop(0);
    auto never = [](void*, ntx_timer_t) {};
    ntx_timer_t first = 0, id = 0;
    REQUIRE(loop.timer_schedule(1000, never, nullptr, &first) == NTX_OK);
    REQUIRE(loop.timer_cancel(first) == NTX_OK);
    for (int i = 0; i < 70000; ++i) {  // past a 16-bit generation
        REQUIRE(loop.timer_schedule(1000, never, nullptr, &id) == NTX_OK);
        REQUIRE(loop.timer_cancel(id) == NTX_OK);
    }
    int fired = 0;
    ntx_timer_t live = 0;
    REQUIRE(loop.timer_schedule(5, [](void* ud, ntx_timer_t) { ++*static_cast<int*>(ud); }, &fired, &live) == NTX_OK);
    CHECK(live != first);
    CHECK(loop.timer_cancel(first) == NTX_OK);  // stale: a no-op
    run_until(loop, [&] { return fired == 1; });
    net::Loop other(1);
    CHECK(other.timer_cancel(live) == NTX_E_INVALID);  // another loop's id is refused
}
