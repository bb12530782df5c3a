// HttpConnection's HTTP/2 side: its own h2c connection's receive path, and streams on the loop's
// shared connections (H2Pool, max-streams > 1). The rest of the state machine is http_connection.cpp.
#include "http_connection.hpp"

#include <chrono>

namespace ntx::http {
namespace {

double ms_between(std::chrono::steady_clock::time_point from, std::chrono::steady_clock::time_point to) {
    return std::chrono::duration<double, std::milli>(to - from).count();
}

}  // namespace

bool HttpConnection::h2_receive(const std::uint8_t *data, std::size_t len) {
    h2_out_.clear();
    Error e = h2_->receive(data, len, h2_out_);
    if (!h2_out_.empty() && socket_ != 0) {
        const ntx_bytes_t out{reinterpret_cast<const std::uint8_t *>(h2_out_.data()), h2_out_.size()};
        if (plugin_.api->socket_send(plugin_.host, socket_, out) == NTX_OK && action_) bytes_sent_ += h2_out_.size();
    }
    // The stream's response so far, taken out of the stream (a redirect may start it again).
    h2_in_.clear();
    h2_in_.swap(h2_stream_.response);
    if (!action_) {
        // An idle connection's frames (SETTINGS, PING, GOAWAY): answered above; a response, an error or
        // a GOAWAY ends the connection's use.
        if (e || !h2_in_.empty() || !h2_->usable()) close_socket();
        return false;
    }
    if (h2_stream_.error) {
        const Error failed = std::move(h2_stream_.error);
        fail(failed.code, failed.reason);
        return false;
    }
    if (e) {
        fail(e.code, e.reason);
        return false;
    }
    return true;
}

ntx_status_t HttpConnection::submit_pooled() {
    std::unique_ptr<H2Pool> &pool = plugin_.h2_pools.at(loop_index_);
    if (!pool) {
        pool = std::make_unique<H2Pool>(plugin_, loop_, plugin_.config.connect_timeout_ms,
                                        plugin_.config.max_header_bytes, plugin_.config.max_streams);
    }
    const std::string_view request = request_view();
    h2_counted_in_ = 0;
    const ntx_status_t st = pool->submit(*this, h2_stream_, request_->url(), request);
    if (st == NTX_OK) bytes_sent_ += request.size();  // the request as prepared (frames are shared)
    return st;
}

void HttpConnection::release_stream() noexcept {
    if (!pooled_ || loop_index_ >= plugin_.h2_pools.size()) return;
    if (H2Pool *pool = plugin_.h2_pools[loop_index_].get()) pool->cancel(h2_stream_);
}

void HttpConnection::h2_progress() noexcept {
    if (!action_ || !pooled_) return;
    try {
        bytes_received_ += h2_stream_.wire_in - h2_counted_in_;
        h2_counted_in_ = h2_stream_.wire_in;
        if (h2_stream_.error) {
            const Error failed = std::move(h2_stream_.error);
            fail(failed.code, failed.reason);
            return;
        }
        h2_in_.clear();
        h2_in_.swap(h2_stream_.response);
        if (h2_in_.empty()) return;
        if (!got_bytes_) {
            got_bytes_ = true;
            if (want_result_ && !first_byte_ms_) first_byte_ms_ = ms_between(t_start_, Clock::now());
        }
        parse(h2_in_.data(), h2_in_.size());
    } catch (...) {
        fail_internal();
    }
}

}  // namespace ntx::http
