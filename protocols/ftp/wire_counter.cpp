#include "wire_counter.hpp"

// linux/tcp.h, not netinet/tcp.h: glibc's struct tcp_info lacks tcpi_bytes_acked / _received.
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>

namespace ntx::ftp {

CURLcode WireCounter::attach(CURL *easy) noexcept {
    CURLcode rc = curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, &WireCounter::open_socket);
    if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, static_cast<void *>(this));
    if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, &WireCounter::close_socket);
    if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, static_cast<void *>(this));
    return rc;
}

curl_socket_t WireCounter::open_socket(void *self, curlsocktype, struct curl_sockaddr *address) noexcept {
    return static_cast<WireCounter *>(self)->open(address);
}

curl_socket_t WireCounter::open(const struct curl_sockaddr *address) noexcept {
    // What libcurl's default does, plus close-on-exec.
    const curl_socket_t fd = ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
    if (fd == CURL_SOCKET_BAD) return fd;
    try {
        sockets_.push_back(Socket{fd});
    } catch (...) {  // not counted rather than not connected
    }
    return fd;
}

int WireCounter::close_socket(void *self, curl_socket_t fd) noexcept {
    auto *counter = static_cast<WireCounter *>(self);
    auto &v = counter->sockets_;
    const auto it = std::find_if(v.begin(), v.end(), [fd](const Socket &s) { return s.fd == fd; });
    if (it != v.end()) {
        counter->collect(*it);  // before the descriptor goes (and its number is reused)
        v.erase(it);
    }
    return ::close(fd);
}

void WireCounter::collect(Socket &s) noexcept {
    struct tcp_info info {};
    socklen_t len = sizeof info;
    if (::getsockopt(s.fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return;
    if (len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof info.tcpi_bytes_received) return;  // kernel < 4.2
    // Written = acknowledged + still queued (libcurl closes a data connection right after its last
    // write, before the peer acknowledged it all). Counters only grow; a listening socket reads 0.
    int queued = 0;
    if (::ioctl(s.fd, SIOCOUTQ, &queued) != 0 || queued < 0) queued = 0;
    const std::uint64_t written = info.tcpi_bytes_acked + static_cast<std::uint64_t>(queued);
    if (written > s.sent) sent_ += written - s.sent;
    if (info.tcpi_bytes_received > s.received) received_ += info.tcpi_bytes_received - s.received;
    s.sent = std::max<std::uint64_t>(s.sent, written);
    s.received = std::max<std::uint64_t>(s.received, info.tcpi_bytes_received);
}

void WireCounter::take(std::uint64_t &sent, std::uint64_t &received) noexcept {
    for (Socket &s : sockets_) collect(s);
    sent = sent_;
    received = received_;
    sent_ = received_ = 0;
}

}  // namespace ntx::ftp
