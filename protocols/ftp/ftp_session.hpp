// One user's FTP client: a curl easy handle reused for every action of the user, and a connection
// cache of its own (a CURLSH sharing CURL_LOCK_DATA_CONNECT), so the user's logged-in control
// connection carries all its actions and is never lent to another user, as a real client's would
// not be, while the loop's one CURLM drives the I/O of every user on the loop.
#pragma once

#include <ntx/sdk/error.hpp>
#include "ftp_params.hpp"
#include "wire_counter.hpp"

#include <curl/curl.h>
#include <ntx/plugin_abi.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ntx::ftp {

using sdk::Error;

struct PluginState;
class CurlLoop;

class Session {
public:
    Session(const PluginState &plugin, CurlLoop &loop);
    ~Session();
    Session(const Session &) = delete;
    Session &operator=(const Session &) = delete;

    // Creates the share and the easy handle.
    Error init();

    // Starts an action (one at a time). Bad params end it here with action_fail; NTX_OK either way
    // unless the action could not even be ended that way.
    ntx_status_t start(ntx_action_t *action, const ntx_action_ctx_t &ctx);
    // The host ended `action` (timeout / cancel): stop the transfer, never call back for it.
    void abandon(ntx_action_t *action) noexcept;
    // curl finished this session's transfer (from CurlLoop, outside curl's callbacks).
    void on_done(CURLcode code) noexcept;

    CurlLoop &loop() const noexcept { return loop_; }

    // Sockets of this session's transfer the loop watches for curl (CurlLoop keeps the count).
    void socket_watched() noexcept { ++watched_; }
    void socket_unwatched() noexcept {
        if (watched_ > 0) --watched_;
    }
    std::size_t watched_sockets() const noexcept { return watched_; }
    // Since when (host ms) the transfer in flight has watched no socket; 0: it watches one. CurlLoop's.
    std::uint64_t stalled_since_ms = 0;

private:
    static std::size_t on_write(char *data, std::size_t size, std::size_t count, void *userdata) noexcept;
    static std::size_t on_read(char *buffer, std::size_t size, std::size_t count, void *userdata) noexcept;
    // libcurl opens its own sockets (not the host's): each connect is put to the host's network
    // policy first (ABI 1.5 connect_allowed); a refused one is never opened.
    static curl_socket_t on_open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *address) noexcept;

    Error configure(const ntx_action_ctx_t &ctx);
    void end_transfer() noexcept;  // remove the handle, close the upload file, drop the DELE list
    void fail_now(ntx_action_t *action, const Error &error);
    void add_field(std::string_view key, std::string_view value);
    void add_uint(std::string_view key, std::uint64_t value);
    void add_ms(std::string_view key, double ms);
    const ntx_result_t *finish_result(std::uint64_t sent, std::uint64_t received);
    std::string describe() const;  // "download ftp://host:port/path as 'user'" (never the password)

    static int on_sockopt(void *self, curl_socket_t fd, curlsocktype purpose) noexcept;

    const PluginState &plugin_;
    CurlLoop &loop_;
    WireCounter wire_;               // outlives share_ and easy_ (members go after the destructor's body)
    bool accepted_data_ = false;     // this transfer's data connection was accept()ed (active mode)
    CURLSH *share_ = nullptr;
    CURL *easy_ = nullptr;
    char error_buffer_[CURL_ERROR_SIZE] = {};

    ntx_action_t *action_ = nullptr;  // the action in flight, or null
    bool in_multi_ = false;
    std::size_t watched_ = 0;
    bool want_result_ = true;
    ActionSpec spec_;
    std::string url_text_;           // what CURLOPT_URL points at during the transfer
    curl_slist *prequote_ = nullptr; // delete: "DELE <name>"
    std::string dele_;

    // Upload source.
    std::FILE *upload_file_ = nullptr;
    std::size_t body_offset_ = 0;

    // Download / list sink.
    std::uint64_t received_ = 0;
    std::string data_;               // the listing, or the kept part of a download's body
    bool keep_data_ = false;
    bool truncated_ = false;
    bool over_limit_ = false;        // a listing grew past max-body-bytes (the write callback stopped it)
    std::string denied_;             // the address network.allow refused during this action ("" = none)

    // Result fields, reused across actions.
    std::vector<std::pair<std::string, std::string>> fields_;
    std::size_t field_count_ = 0;
    std::vector<ntx_kv_t> views_;
    ntx_result_t result_{};
};

}  // namespace ntx::ftp
