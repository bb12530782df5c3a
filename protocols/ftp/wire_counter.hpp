// The wire bytes of the sockets libcurl opens for one session (its own connection cache), read from
// the kernel (TCP_INFO's bytes acknowledged and received, plus SIOCOUTQ's bytes still queued), so that the run's socket
// totals include them: the host counts only the sockets it lends (ABI 1.6, foreign_bytes_*).
//
// libcurl opens and closes these sockets through callbacks the session installs (CURLOPT_OPENSOCKET
// FUNCTION / CLOSESOCKETFUNCTION); each close and each take() adds what moved since the last read.
// A data connection libcurl accept()s (active mode) bypasses the callbacks: take()'s caller adds
// libcurl's data byte counts for such a transfer instead.
#pragma once

#include <curl/curl.h>

#include <cstdint>
#include <vector>

namespace ntx::ftp {

class WireCounter {
public:
    // Installs the callbacks on `easy`; this object must outlive the handle's sockets.
    CURLcode attach(CURL *easy) noexcept;
    // Opens a socket as libcurl's default would (close-on-exec added) and counts it: for an
    // OPENSOCKETFUNCTION of the caller's own (a policy check first) to end with.
    curl_socket_t open(const struct curl_sockaddr *address) noexcept;
    // What moved on every socket since the last take(), closed ones included.
    void take(std::uint64_t &sent, std::uint64_t &received) noexcept;

private:
    struct Socket {
        curl_socket_t fd;
        std::uint64_t sent = 0, received = 0;  // as read last
    };
    static curl_socket_t open_socket(void *self, curlsocktype purpose, struct curl_sockaddr *address) noexcept;
    static int close_socket(void *self, curl_socket_t fd) noexcept;
    void collect(Socket &s) noexcept;

    std::vector<Socket> sockets_;  // a handful: the control connection and a data connection
    std::uint64_t sent_ = 0, received_ = 0;
};

}  // namespace ntx::ftp
