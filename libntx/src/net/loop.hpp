// One event loop (one core): an io_context run by one thread, and the host-owned sockets, timers and
// fd-watches that plugins borrow through the C ABI. Everything here runs on the loop's own thread.
#pragma once

#include <boost/asio.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <atomic>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "net/call_trace.hpp"
#include "ntx/plugin_abi.h"
#include "policy/network_allow.hpp"

namespace ntx::net {

namespace asio = boost::asio;

struct HostSocket;
struct HostTimer;
class TlsContext;
struct FdWatch;

class Loop {
public:
    explicit Loop(uint32_t index);
    ~Loop();
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;

    uint32_t index() const { return index_; }
    asio::io_context& io() { return io_; }

    // Runs `first` and then the io_context on a new thread. Everything else that touches the loop
    // happens on that thread (or after join): the io_context runs without cross-thread locking.
    void start(std::function<void()> first);
    void stop();  // from the loop's own thread, or after join
    // A loop driven by hand (tests: Scheduler::begin_manual + poll) belongs to the thread driving it:
    // host calls from that thread pass the loop-thread checks.
    void adopt_current_thread() { owner_.store(std::this_thread::get_id(), std::memory_order_relaxed); }
    // Whether the caller runs on this loop's thread (host calls that touch loop state check it).
    bool on_loop_thread() const { return owner_.load(std::memory_order_relaxed) == std::this_thread::get_id(); }
    void join();
    // Closes every socket, timer and watch still open (after the loop stopped, before plugins are released).
    void close_all();

    ntx_loop_t* handle() { return reinterpret_cast<ntx_loop_t*>(this); }
    static Loop* from(ntx_loop_t* h) { return reinterpret_cast<Loop*>(h); }
    // Socket and timer ids: (loop index + 1) in the top 8 bits, a 32-bit generation of the slot, and a
    // 24-bit slot. A stale id never matches a live object until its slot was reused 2^32 times.
    static uint64_t make_id(uint32_t loop, uint32_t gen, uint32_t slot) {
        return (static_cast<uint64_t>(loop + 1) << 56) | (static_cast<uint64_t>(gen) << 24) | slot;
    }
    static uint32_t id_slot(uint64_t id) { return static_cast<uint32_t>(id & 0xffffffu); }
    static uint32_t id_loop(uint64_t id) { return static_cast<uint32_t>(id >> 56) - 1; }

    // The record of the plugin call this loop's thread is in (set before start; may stay null), and the
    // component the host table is acting for: sockets, timers and watches opened now are tagged with
    // it, so their callbacks are recorded as that component's calls.
    void set_call_record(CallRecord* r) { call_record_ = r; }
    CallRecord* call_record() const { return call_record_; }
    void set_caller(uint32_t component) { caller_ = component; }
    uint32_t caller() const { return caller_; }

    // One read buffer per loop: a socket's bytes are borrowed by the plugin only during the callback.
    std::vector<uint8_t>& read_buffer() { return read_buffer_; }

    ntx_status_t socket_open(const ntx_socket_opts_t& opts, ntx_socket_t* out);
    ntx_status_t socket_send(ntx_socket_t id, ntx_bytes_t data);
    ntx_status_t socket_close(ntx_socket_t id);
    ntx_status_t socket_set_rate(ntx_socket_t id, const ntx_rate_t& rate);
    // The throttle every socket this loop opens starts with (config.yaml `network`); a plugin's
    // socket_set_rate replaces it for its socket.
    void set_default_rate(const ntx_rate_t& rate) { default_rate_ = rate; }
    // config.yaml `network.allow` (owned by the script, read-only, shared by every loop): a socket
    // whose address it does not allow fails with NTX_E_DENIED before any packet is sent. Null: anywhere.
    void set_network_allow(const policy::NetworkAllow* allow) { allow_ = allow && allow->active() ? allow : nullptr; }
    const policy::NetworkAllow* network_allow() const { return allow_; }
    uint64_t sockets_denied = 0;
    // Buffers immutable for the whole run (the file_blobs, handed to plugins as NTX_PARAM_SHARED):
    // socket_send of bytes inside one queues a view, not a copy. Smaller ones are not worth a check.
    static constexpr size_t kSharedMinBytes = 64 * 1024;
    void add_shared_buffer(std::string_view bytes) { shared_.push_back(bytes); }
    bool is_shared(const void* ptr, size_t len) const {
        const char* p = static_cast<const char*>(ptr);
        for (std::string_view s : shared_)
            if (p >= s.data() && len <= s.size() && p - s.data() <= static_cast<std::ptrdiff_t>(s.size() - len)) return true;
        return false;
    }
    // The loop's TLS context for these settings, prepared on first use (a context that could not be
    // prepared is kept too, with its error, so every socket that needs it fails the same way).
    TlsContext& tls_context(bool verify, std::string_view ca_file);

    ntx_status_t timer_schedule(uint64_t delay_ms, ntx_timer_cb cb, void* userdata, ntx_timer_t* out);
    ntx_status_t timer_cancel(ntx_timer_t id);

    ntx_status_t fd_watch(int fd, uint32_t events, ntx_fd_cb cb, void* userdata);
    ntx_status_t fd_unwatch(int fd);

    // Bytes moved through this loop's sockets and sockets opened (read on the loop thread, or after it stopped).
    uint64_t bytes_sent = 0;
    uint64_t bytes_received = 0;
    uint64_t sockets_opened = 0;

    // A socket wrote everything it had at once: NTX_SOCKET_SENT follows on the loop's next turn, for
    // every socket written since the last one (one posted handler, not one per send).
    void notify_sent(std::shared_ptr<HostSocket> socket);

private:
    friend struct HostSocket;
    HostSocket* find_socket(ntx_socket_t id);
    void free_socket_slot(uint32_t slot);
    void arm_watch(int fd, const std::shared_ptr<FdWatch>& watch, bool for_read);

    uint32_t index_;
    // Only this loop's thread runs handlers and starts I/O; the scheduler still locks for the
    // resolver's helper thread.
    asio::io_context io_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
    std::vector<uint8_t> read_buffer_ = std::vector<uint8_t>(64 * 1024);
    asio::executor_work_guard<asio::io_context::executor_type> work_;
    std::thread thread_;
    ntx_rate_t default_rate_{};
    const policy::NetworkAllow* allow_ = nullptr;
    std::vector<std::string_view> shared_;
    std::atomic<std::thread::id> owner_{};
    CallRecord* call_record_ = nullptr;
    uint32_t caller_ = 0;  // set by the loop's thread itself when it starts

    std::vector<std::shared_ptr<HostSocket>> sockets_;  // slot -> socket
    std::vector<uint32_t> socket_gen_;
    std::vector<uint32_t> free_socket_slots_;

    std::vector<std::unique_ptr<HostTimer>> timers_;
    std::vector<uint32_t> free_timer_slots_;

    std::unordered_map<int, std::shared_ptr<FdWatch>> watches_;

    std::vector<std::shared_ptr<HostSocket>> sent_, sent_draining_;  // notify_sent

    // One SSL_CTX per (verify, CA file) seen on this loop; a session holds its own reference to it.
    std::vector<std::unique_ptr<TlsContext>> tls_contexts_;
};

}  // namespace ntx::net
