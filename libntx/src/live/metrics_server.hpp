// A tiny HTTP/1.1 server on its own thread for `--metrics-listen ADDR:PORT`: GET /metrics answers the
// body the callback makes (Prometheus' text format); anything else is 404. One request per
// connection, no keep-alive: a scraper every few seconds needs no more.
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace ntx::live {

class MetricsServer {
public:
    // Binds `listen` ("127.0.0.1:9464", "[::1]:9464"); throws std::runtime_error with a reason when it
    // cannot (a bad address, a port in use, or a non-loopback address without `allow_any`).
    MetricsServer(const std::string& listen, std::function<std::string()> body, bool allow_any = false);
    ~MetricsServer();  // stops the thread and closes the socket

    unsigned short port() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ntx::live
