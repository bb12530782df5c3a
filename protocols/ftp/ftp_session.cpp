#include "ftp_session.hpp"

#include "curl_loop.hpp"
#include "curl_status.hpp"
#include "plugin_state.hpp"

#include <ntx/sdk/number_text.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace ntx::ftp {
namespace {

// The largest listing / body buffer a session keeps between actions.
constexpr std::size_t kRetainedDataCapacity = 256 * 1024;

ntx_str_t str(std::string_view s) noexcept { return ntx_str_t{s.data(), s.size()}; }

double us_to_ms(curl_off_t us) noexcept { return us > 0 ? static_cast<double>(us) / 1000.0 : 0.0; }

}  // namespace

Session::Session(const PluginState &plugin, CurlLoop &loop) : plugin_(plugin), loop_(loop) {}

Session::~Session() {
    end_transfer();
    if (easy_) curl_easy_cleanup(easy_);
    // Closes the user's idle control connection (curl sends QUIT and reads its reply, bounded by
    // response-timeout-ms; a dead connection closes at once).
    if (share_) curl_share_cleanup(share_);
}

Error Session::init() {
    share_ = curl_share_init();
    if (!share_) return Error{NTX_E_NOMEM, "ftp: curl_share_init failed"};
    if (curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) != CURLSHE_OK) {
        return Error{NTX_E_UNSUPPORTED, "ftp: this libcurl cannot give a user its own connection cache"};
    }
    easy_ = curl_easy_init();
    if (!easy_) return Error{NTX_E_NOMEM, "ftp: curl_easy_init failed"};

    const Config &cfg = plugin_.config;
    const long response_s = static_cast<long>((cfg.response_timeout_ms + 999) / 1000);  // curl 7.88 takes seconds
    CURLcode rc = CURLE_OK;
    const auto set = [&](CURLoption option, auto value) {
        if (rc == CURLE_OK) rc = curl_easy_setopt(easy_, option, value);
    };
    set(CURLOPT_SHARE, share_);
    if (rc == CURLE_OK) rc = wire_.attach(easy_);  // the wire bytes of libcurl's own sockets
    set(CURLOPT_SOCKOPTFUNCTION, &Session::on_sockopt);
    set(CURLOPT_SOCKOPTDATA, static_cast<void *>(this));
    set(CURLOPT_PRIVATE, static_cast<void *>(this));
    set(CURLOPT_NOSIGNAL, 1L);  // several loop threads: no SIGALRM
    set(CURLOPT_ERRORBUFFER, error_buffer_);
    set(CURLOPT_WRITEFUNCTION, &Session::on_write);
    set(CURLOPT_WRITEDATA, static_cast<void *>(this));
    set(CURLOPT_READFUNCTION, &Session::on_read);
    set(CURLOPT_READDATA, static_cast<void *>(this));
    set(CURLOPT_PROTOCOLS_STR, "ftp");
    set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(cfg.connect_timeout_ms));
    set(CURLOPT_ACCEPTTIMEOUT_MS, static_cast<long>(cfg.connect_timeout_ms));
    set(CURLOPT_SERVER_RESPONSE_TIMEOUT, response_s);
    set(CURLOPT_FTP_USE_EPSV, cfg.epsv ? 1L : 0L);
    set(CURLOPT_TRANSFERTEXT, 0L);  // binary: TYPE I
    // libcurl's sockets are not the host's, so the host's network rates cannot throttle them: the
    // component's own rates are applied per transfer by libcurl (0: unlimited).
    set(CURLOPT_MAX_SEND_SPEED_LARGE, static_cast<curl_off_t>(cfg.send_rate));
    set(CURLOPT_MAX_RECV_SPEED_LARGE, static_cast<curl_off_t>(cfg.recv_rate));
    // Every socket libcurl opens: the network policy first (a host that has one), then the wire
    // counter opens and counts it (this replaces the counter's own open callback; its close stays).
    set(CURLOPT_OPENSOCKETFUNCTION, &Session::on_open_socket);
    set(CURLOPT_OPENSOCKETDATA, static_cast<void *>(this));
    if (rc != CURLE_OK) return Error{NTX_E_UNSUPPORTED, std::string("ftp: libcurl option refused: ") + curl_easy_strerror(rc)};
    return {};
}

curl_socket_t Session::on_open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *address) noexcept {
    auto *self = static_cast<Session *>(clientp);
    char ip[INET6_ADDRSTRLEN] = {};
    std::uint16_t port = 0;
    if (address->family == AF_INET) {
        const auto *in = reinterpret_cast<const sockaddr_in *>(&address->addr);
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        port = ntohs(in->sin_port);
    } else if (address->family == AF_INET6) {
        const auto *in6 = reinterpret_cast<const sockaddr_in6 *>(&address->addr);
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
        port = ntohs(in6->sin6_port);
    }
    // Port 0 is the local socket active mode listens on (bound, never connected): not a connect.
    const bool policy = NTX_HAS_MEMBER(self->plugin_.api, ntx_host_api_t, connect_allowed) && self->plugin_.api->connect_allowed;
    if (policy && purpose == CURLSOCKTYPE_IPCXN && port != 0 && ip[0] != '\0') {
        const std::string &name = self->spec_.url.host;
        const ntx_status_t st = self->plugin_.api->connect_allowed(self->plugin_.host, str(name), str(ip), port);
        if (st == NTX_E_DENIED) {
            try {
                self->denied_.assign(ip).append(":").append(std::to_string(port));
            } catch (...) {
            }
            return CURL_SOCKET_BAD;  // curl ends the transfer (CURLE_COULDNT_CONNECT); finish says why
        }
    }
    return self->wire_.open(address);
}

// ---- starting -------------------------------------------------------------------------------------

ntx_status_t Session::start(ntx_action_t *action, const ntx_action_ctx_t &ctx) {
    if (action_ != nullptr) return NTX_E_STATE;  // one action per user at a time
    // A host that predates the flags member reads every result.
    want_result_ = !NTX_HAS_MEMBER(&ctx, ntx_action_ctx_t, flags) || (ctx.flags & NTX_ACTION_WANTS_RESULT) != 0;

    Error e = parse_params(ctx, plugin_.config, plugin_.res_dir, spec_);
    if (!e) e = configure(ctx);
    if (e) {
        end_transfer();
        fail_now(action, e);
        return NTX_OK;
    }
    watched_ = 0;  // the previous transfer's sockets were all unwatched when it was removed
    stalled_since_ms = 0;
    const CURLMcode rc = loop_.add(easy_);
    if (rc != CURLM_OK) {
        end_transfer();
        fail_now(action, Error{NTX_E_INTERNAL, std::string("ftp: curl_multi_add_handle: ") + curl_multi_strerror(rc)});
        return NTX_OK;
    }
    in_multi_ = true;
    loop_.track(this);
    action_ = action;
    return NTX_OK;
}

int Session::on_sockopt(void *self, curl_socket_t, curlsocktype purpose) noexcept {
    if (purpose == CURLSOCKTYPE_ACCEPT) static_cast<Session *>(self)->accepted_data_ = true;
    return CURL_SOCKOPT_OK;
}

Error Session::configure(const ntx_action_ctx_t &ctx) {
    error_buffer_[0] = '\0';
    accepted_data_ = false;
    received_ = 0;
    truncated_ = false;
    over_limit_ = false;
    denied_.clear();
    body_offset_ = 0;
    if (data_.capacity() > kRetainedDataCapacity) std::string().swap(data_);
    data_.clear();
    keep_data_ = spec_.call == Call::list || (spec_.call == Call::download && want_result_);

    const Call call = spec_.call;
    url_text_ = (call == Call::login || call == Call::list) ? spec_.url.directory_text() : spec_.url.text;

    CURLcode rc = CURLE_OK;
    const auto set = [&](CURLoption option, auto value) {
        if (rc == CURLE_OK) rc = curl_easy_setopt(easy_, option, value);
    };
    set(CURLOPT_URL, url_text_.c_str());
    set(CURLOPT_USERNAME, spec_.user.c_str());
    set(CURLOPT_PASSWORD, spec_.password.c_str());
    // login: connect, USER/PASS, PWD (and CWD) and no transfer. delete: SIZE (550 when missing), then
    // DELE as a pre-transfer command of a transfer that moves no data (curl has no DELE of its own).
    set(CURLOPT_NOBODY, (call == Call::login || call == Call::remove) ? 1L : 0L);
    set(CURLOPT_UPLOAD, call == Call::upload ? 1L : 0L);
    set(CURLOPT_DIRLISTONLY, (call == Call::list && spec_.names_only) ? 1L : 0L);
    set(CURLOPT_FTPPORT, spec_.mode == Mode::active ? plugin_.config.active_address.c_str() : nullptr);
    // One CWD per path, except where missing directories are created: that takes them one by one.
    set(CURLOPT_FTP_FILEMETHOD, static_cast<long>(call == Call::upload && spec_.create_dirs ? CURLFTPMETHOD_MULTICWD
                                                                                        : CURLFTPMETHOD_SINGLECWD));
    // _RETRY: when users create the same directory at once, a MKD that lost the race is followed by
    // another CWD instead of failing the upload.
    set(CURLOPT_FTP_CREATE_MISSING_DIRS,
        static_cast<long>(call == Call::upload && spec_.create_dirs ? CURLFTP_CREATE_DIR_RETRY : CURLFTP_CREATE_DIR_NONE));
    // curl's own deadline is a backstop a second behind the host's, which normally ends the action
    // first (on_error); it also bounds curl's short blocking waits for a final reply.
    set(CURLOPT_TIMEOUT_MS, ctx.timeout_ms ? static_cast<long>(ctx.timeout_ms) + 1000L : 0L);

    if (call == Call::remove) {
        dele_.assign("DELE ").append(spec_.file_name);
        prequote_ = curl_slist_append(nullptr, dele_.c_str());
        if (!prequote_) return Error{NTX_E_NOMEM, "ftp: out of memory"};
    }
    set(CURLOPT_PREQUOTE, prequote_);

    curl_off_t upload_size = -1;
    if (call == Call::upload) {
        if (spec_.body_from_file) {
            upload_file_ = std::fopen(spec_.file.c_str(), "rb");
            struct stat st {};
            if (!upload_file_ || fstat(fileno(upload_file_), &st) != 0 || !S_ISREG(st.st_mode)) {
                const int err = errno;
                return Error{NTX_E_INVALID, "ftp: upload file '" + spec_.file + "' cannot be read: " +
                                                (upload_file_ ? "not a regular file" : std::strerror(err))};
            }
            upload_size = static_cast<curl_off_t>(st.st_size);
        } else {
            upload_size = static_cast<curl_off_t>(spec_.body.size());
        }
    }
    set(CURLOPT_INFILESIZE_LARGE, upload_size);
    if (rc != CURLE_OK) return Error{NTX_E_INVALID, std::string("ftp: libcurl option refused: ") + curl_easy_strerror(rc)};
    return {};
}

// ---- data -----------------------------------------------------------------------------------------

std::size_t Session::on_write(char *data, std::size_t size, std::size_t count, void *userdata) noexcept {
    auto *self = static_cast<Session *>(userdata);
    const std::size_t n = size * count;
    self->received_ += n;
    if (!self->keep_data_) return n;  // a download nobody reads: counted, not kept
    try {
        const std::uint64_t max = self->plugin_.config.max_body_bytes;
        const std::uint64_t room = max > self->data_.size() ? max - self->data_.size() : 0;
        if (self->spec_.call == Call::list) {
            if (n > room) {
                self->over_limit_ = true;
                return 0;  // curl stops with CURLE_WRITE_ERROR: counted as a limit error
            }
            self->data_.append(data, n);
        } else {
            self->data_.append(data, static_cast<std::size_t>(std::min<std::uint64_t>(n, room)));
            if (n > room) self->truncated_ = true;
        }
    } catch (...) {
        return 0;
    }
    return n;
}

std::size_t Session::on_read(char *buffer, std::size_t size, std::size_t count, void *userdata) noexcept {
    auto *self = static_cast<Session *>(userdata);
    const std::size_t n = size * count;
    if (self->upload_file_) {
        const std::size_t got = std::fread(buffer, 1, n, self->upload_file_);
        if (got == 0 && std::ferror(self->upload_file_)) return CURL_READFUNC_ABORT;
        return got;
    }
    const std::string &body = self->spec_.body;
    const std::size_t left = body.size() - self->body_offset_;
    const std::size_t take = left < n ? left : n;
    std::memcpy(buffer, body.data() + self->body_offset_, take);
    self->body_offset_ += take;
    return take;
}

// ---- ending ---------------------------------------------------------------------------------------

void Session::end_transfer() noexcept {
    if (in_multi_) {
        loop_.untrack(this);
        loop_.remove(easy_);  // curl unwatches the transfer's sockets here
        in_multi_ = false;
    }
    if (prequote_) {
        curl_easy_setopt(easy_, CURLOPT_PREQUOTE, static_cast<curl_slist *>(nullptr));
        curl_slist_free_all(prequote_);
        prequote_ = nullptr;
    }
    if (upload_file_) {
        std::fclose(upload_file_);
        upload_file_ = nullptr;
    }
}

void Session::abandon(ntx_action_t *action) noexcept {
    if (action == nullptr || action != action_) return;  // not ours (already ended): nothing to forget
    action_ = nullptr;
    // An unfinished transfer's connection is closed by curl without QUIT; nothing is reported.
    end_transfer();
}

std::string Session::describe() const {
    std::string s(call_name(spec_.call));
    s.append(" ").append(url_text_.empty() ? spec_.url.text : url_text_).append(" as '").append(spec_.user).append("'");
    return s;
}

void Session::fail_now(ntx_action_t *action, const Error &error) {
    const std::string reason = mask(error.reason, spec_.password);
    ntx_result_t counts{};
    counts.size = sizeof counts;
    plugin_.api->action_fail(plugin_.host, action, error.code < 0 ? error.code : NTX_E_INTERNAL, str(reason), &counts);
}

void Session::on_done(CURLcode code) noexcept {
    ntx_action_t *action = std::exchange(action_, nullptr);
    long response = 0;
    curl_off_t up = 0, down = 0, total_us = 0, connect_us = 0, start_us = 0;
    long connects = 0;
    curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &response);
    curl_easy_getinfo(easy_, CURLINFO_SIZE_UPLOAD_T, &up);
    curl_easy_getinfo(easy_, CURLINFO_SIZE_DOWNLOAD_T, &down);
    curl_easy_getinfo(easy_, CURLINFO_TOTAL_TIME_T, &total_us);
    curl_easy_getinfo(easy_, CURLINFO_CONNECT_TIME_T, &connect_us);
    curl_easy_getinfo(easy_, CURLINFO_STARTTRANSFER_TIME_T, &start_us);
    curl_easy_getinfo(easy_, CURLINFO_NUM_CONNECTS, &connects);
    end_transfer();
    if (!action) return;

    const Call call = spec_.call;
    const std::uint64_t sent = call == Call::upload && up > 0 ? static_cast<std::uint64_t>(up) : 0;
    const std::uint64_t received = (call == Call::list || call == Call::download) ? received_ : 0;
    const std::uint64_t bytes = call == Call::upload ? sent : received;
    // libcurl's sockets are not the host's: their bytes reach the run's socket totals through the
    // result (ABI 1.6), as the kernel counted them (control and data connections). libcurl's
    // CURLINFO_REQUEST_SIZE / _HEADER_SIZE stay 0 for FTP, so they cannot say the control bytes.
    std::uint64_t wire_sent = 0, wire_received = 0;
    wire_.take(wire_sent, wire_received);
    if (accepted_data_) {  // an accept()ed data connection bypasses the counter: libcurl's data counts
        wire_sent += up > 0 ? static_cast<std::uint64_t>(up) : 0;
        wire_received += down > 0 ? static_cast<std::uint64_t>(down) : 0;
    }

    try {
        const ntx_result_t *result = nullptr;
        ntx_result_t counts{};
        counts.size = sizeof counts;
        counts.bytes_sent = sent;
        counts.bytes_received = received;
        counts.protocol = str("ftp");
        counts.foreign_bytes_sent = wire_sent;
        counts.foreign_bytes_received = wire_received;
        if (want_result_) {
            field_count_ = 0;
            add_uint("response_code", static_cast<std::uint64_t>(response > 0 ? response : 0));
            add_uint("bytes", bytes);
            add_ms("duration_ms", us_to_ms(total_us));
            add_uint("throughput_bytes_per_s",
                     total_us > 0 ? static_cast<std::uint64_t>(static_cast<double>(bytes) * 1e6 / static_cast<double>(total_us)) : 0);
            add_ms("time.connect_ms", us_to_ms(connect_us));
            add_ms("time.start_transfer_ms", us_to_ms(start_us));
            add_uint("connects", static_cast<std::uint64_t>(connects > 0 ? connects : 0));
            if (code == CURLE_OK && call == Call::list) {
                std::uint64_t entries = 0;
                std::size_t pos = 0;
                while (pos < data_.size()) {
                    std::size_t eol = data_.find('\n', pos);
                    if (eol == std::string::npos) eol = data_.size();
                    std::string_view line(data_.data() + pos, eol - pos);
                    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
                    if (!line.empty() && !line.starts_with("total ")) ++entries;
                    pos = eol + 1;
                }
                add_field("listing", data_);
                add_uint("entries", entries);
            } else if (code == CURLE_OK && call == Call::download) {
                add_field("body", data_);
                add_field("body_truncated", truncated_ ? "true" : "false");
            }
            result = finish_result(sent, received);
            result_.protocol = counts.protocol;
            result_.foreign_bytes_sent = wire_sent;
            result_.foreign_bytes_received = wire_received;
        } else {
            result = &counts;
        }

        if (code == CURLE_OK) {
            plugin_.api->action_complete(plugin_.host, action, result);
            return;
        }
        const ntx_status_t status = over_limit_ ? NTX_E_LIMIT : !denied_.empty() ? NTX_E_DENIED : status_for(code);
        std::string reason = "ftp: " + describe() + ": ";
        if (over_limit_) {
            reason.append("listing exceeds max-body-bytes");
        } else if (!denied_.empty()) {
            reason.append("connect to ").append(denied_).append(" denied by the run's network.allow (config.yaml)");
        } else {
            reason.append(curl_easy_strerror(code));
            if (error_buffer_[0] != '\0') reason.append(" (").append(error_buffer_).append(")");
        }
        if (response > 0) reason.append(" [last reply ").append(std::to_string(response)).append("]");
        reason = mask(reason, spec_.password);
        plugin_.api->action_fail(plugin_.host, action, status, str(reason), result);
    } catch (...) {
        plugin_.api->action_fail(plugin_.host, action, NTX_E_INTERNAL, str("ftp: internal error"), nullptr);
    }
}

// ---- result fields ----------------------------------------------------------------------------------

void Session::add_field(std::string_view key, std::string_view value) {
    if (field_count_ == fields_.size()) fields_.emplace_back();
    auto &f = fields_[field_count_++];
    f.first.assign(key);
    f.second.assign(value);
}

void Session::add_uint(std::string_view key, std::uint64_t value) { add_field(key, sdk::NumberText().uint(value)); }

void Session::add_ms(std::string_view key, double ms) { add_field(key, sdk::NumberText().ms(ms)); }

const ntx_result_t *Session::finish_result(std::uint64_t sent, std::uint64_t received) {
    views_.clear();
    for (std::size_t i = 0; i < field_count_; ++i) {
        const auto &f = fields_[i];
        views_.push_back(ntx_kv_t{str(f.first), str(f.second)});
    }
    result_ = ntx_result_t{};
    result_.size = sizeof result_;
    result_.fields = views_.empty() ? nullptr : views_.data();
    result_.field_count = views_.size();
    result_.bytes_sent = sent;
    result_.bytes_received = received;
    return &result_;
}

}  // namespace ntx::ftp
