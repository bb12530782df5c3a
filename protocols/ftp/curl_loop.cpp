// curl_multi_socket_all is the one call that runs every transfer (see check_stalled); 7.88 marks it
// deprecated without a replacement that does that.
#define CURL_DISABLE_DEPRECATION 1
#include "curl_loop.hpp"

#include "ftp_session.hpp"
#include "plugin_state.hpp"

namespace ntx::ftp {

CurlLoop::CurlLoop(const PluginState &plugin, ntx_loop_t *loop) : plugin_(plugin), loop_(loop) {}

CurlLoop::~CurlLoop() {
    // Every session (and so every easy handle) is gone: users are released before the plugin.
    cancel_timer();
    cancel_kick();
    if (multi_) curl_multi_cleanup(multi_);
}

Error CurlLoop::init() {
    multi_ = curl_multi_init();
    if (!multi_) return Error{NTX_E_NOMEM, "ftp: curl_multi_init failed"};
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlLoop::on_socket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlLoop::on_timer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
    return {};
}

CURLMcode CurlLoop::add(CURL *easy) noexcept { return curl_multi_add_handle(multi_, easy); }

void CurlLoop::remove(CURL *easy) noexcept { curl_multi_remove_handle(multi_, easy); }

// ---- curl -> host ---------------------------------------------------------------------------------

int CurlLoop::on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) noexcept {
    auto *self = static_cast<CurlLoop *>(userp);
    if (!self) return 0;
    // Which session watches which socket: curl keeps the pointer for us (curl_multi_assign).
    if (what == CURL_POLL_REMOVE) {
        if (auto *owner = static_cast<Session *>(socketp)) owner->socket_unwatched();
    } else if (!socketp) {
        char *priv = nullptr;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
        if (auto *owner = reinterpret_cast<Session *>(priv)) {
            owner->socket_watched();
            curl_multi_assign(self->multi_, fd, owner);
        }
    }
    if (!self->attached_) return 0;
    const ntx_host_api_t *api = self->plugin_.api;
    if (what == CURL_POLL_REMOVE) {
        api->fd_unwatch(self->plugin_.host, self->loop_, fd);  // NTX_E_STATE if never watched: fine
        return 0;
    }
    std::uint32_t events = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) events |= NTX_FD_READ;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) events |= NTX_FD_WRITE;
    // A second call for the same fd replaces the events (curl switches between read and write).
    const ntx_status_t st = api->fd_watch(self->plugin_.host, self->loop_, fd, events, &CurlLoop::fd_ready, self);
    if (st < 0) {
        // The transfer cannot make progress on this descriptor; curl's timeouts end it.
        self->plugin_.log(nullptr, NTX_LOG_WARN, "ftp: the host refused to watch a curl socket");
    }
    return 0;
}

int CurlLoop::on_timer(CURLM * /*multi*/, long timeout_ms, void *userp) noexcept {
    auto *self = static_cast<CurlLoop *>(userp);
    if (!self || !self->attached_) return 0;
    self->cancel_timer();
    if (timeout_ms < 0) return 0;  // curl wants no timer
    // Never call curl_multi_socket_action from here (curl forbids it): even 0 ms goes through the loop.
    ntx_timer_t timer = 0;
    const ntx_status_t st = self->plugin_.api->timer_schedule(self->plugin_.host, self->loop_,
                                                              static_cast<std::uint64_t>(timeout_ms),
                                                              &CurlLoop::timer_fired, self, &timer);
    if (st < 0) {
        self->plugin_.log(nullptr, NTX_LOG_ERROR, "ftp: the host refused a timer; transfers on this loop stall");
        return -1;
    }
    self->timer_ = timer;
    return 0;
}

void CurlLoop::cancel_timer() noexcept {
    if (timer_ != 0) {
        if (attached_) plugin_.api->timer_cancel(plugin_.host, loop_, timer_);
        timer_ = 0;
    }
}

void CurlLoop::cancel_kick() noexcept {
    if (kick_timer_ != 0) {
        if (attached_) plugin_.api->timer_cancel(plugin_.host, loop_, kick_timer_);
        kick_timer_ = 0;
    }
}

void CurlLoop::track(Session *session) { active_.push_back(session); }

void CurlLoop::untrack(Session *session) noexcept {
    for (auto it = active_.begin(); it != active_.end(); ++it) {
        if (*it == session) {
            *it = active_.back();
            active_.pop_back();
            return;
        }
    }
}

// libcurl 7.88 can park an FTP transfer with nothing to wait for: when the reply to EPSV/PASV is
// read in the same pass that sent the command (a fast server, loopback), the transfer moves to its
// data-connection step without starting it, announces no socket and sets no timer, and sits until
// its connect timeout. So after every pass, a transfer in flight that watches no socket is noted;
// one that still watches none kStallMs later (curl had its turn: a new transfer's first pass comes
// at once) gets a pass over every transfer (curl_multi_socket_all), the one call that runs a
// transfer curl does not know to run. A transfer that waits on a timer alone (a host name being
// resolved) costs one such pass per kStallMs while it waits.
namespace {
constexpr std::uint64_t kStallMs = 5;
}  // namespace

void CurlLoop::check_stalled() noexcept {
    if (active_.empty() || !attached_) return;
    const std::uint64_t now = plugin_.api->now_ms(plugin_.host);
    std::uint64_t first_due = 0;
    bool any = false;
    for (Session *s : active_) {
        if (s->watched_sockets() != 0) {
            s->stalled_since_ms = 0;
            continue;
        }
        if (s->stalled_since_ms == 0) s->stalled_since_ms = now ? now : 1;
        const std::uint64_t due = s->stalled_since_ms + kStallMs;
        if (!any || due < first_due) first_due = due;
        any = true;
    }
    if (any) request_kick(first_due > now ? first_due - now : 0);
}

void CurlLoop::request_kick(std::uint64_t delay_ms) noexcept {
    if (kick_timer_ != 0 || !attached_) return;
    ntx_timer_t timer = 0;
    if (plugin_.api->timer_schedule(plugin_.host, loop_, delay_ms, &CurlLoop::kick_fired, this, &timer) == NTX_OK) {
        kick_timer_ = timer;
    }
}

void CurlLoop::kick_fired(void *userdata, ntx_timer_t timer) noexcept {
    auto *self = static_cast<CurlLoop *>(userdata);
    if (!self || timer != self->kick_timer_) return;
    self->kick_timer_ = 0;
    const std::uint64_t now = self->plugin_.api->now_ms(self->plugin_.host);
    bool stalled = false;
    for (const Session *s : self->active_) {
        if (s->watched_sockets() == 0 && s->stalled_since_ms != 0 && now >= s->stalled_since_ms + kStallMs) {
            stalled = true;
            break;
        }
    }
    if (stalled) {
        int running = 0;
        const CURLMcode rc = curl_multi_socket_all(self->multi_, &running);
        if (rc != CURLM_OK) self->plugin_.log(nullptr, NTX_LOG_WARN, curl_multi_strerror(rc));
        self->finish_transfers();
        // Whatever still watches nothing had its pass: its clock starts again, so a transfer that
        // waits on a timer alone costs one pass per kStallMs, never a busy loop.
        for (Session *s : self->active_) {
            if (s->watched_sockets() == 0) s->stalled_since_ms = now ? now : 1;
        }
    }
    self->check_stalled();
}

// ---- host -> curl ---------------------------------------------------------------------------------

void CurlLoop::fd_ready(void *userdata, int fd, std::uint32_t events) noexcept {
    auto *self = static_cast<CurlLoop *>(userdata);
    if (!self) return;
    int mask = 0;
    if (events & NTX_FD_READ) mask |= CURL_CSELECT_IN;
    if (events & NTX_FD_WRITE) mask |= CURL_CSELECT_OUT;
    self->drive(fd, mask);
}

void CurlLoop::timer_fired(void *userdata, ntx_timer_t timer) noexcept {
    auto *self = static_cast<CurlLoop *>(userdata);
    if (!self || timer != self->timer_) return;
    self->timer_ = 0;
    self->drive(CURL_SOCKET_TIMEOUT, 0);
}

void CurlLoop::drive(curl_socket_t fd, int mask) noexcept {
    int running = 0;
    const CURLMcode rc = curl_multi_socket_action(multi_, fd, mask, &running);
    if (rc != CURLM_OK) plugin_.log(nullptr, NTX_LOG_WARN, curl_multi_strerror(rc));
    finish_transfers();
    check_stalled();
}

// Transfers end here, after curl_multi_socket_action returned: a session removes its easy handle
// and reports the outcome to the host outside any curl callback.
void CurlLoop::finish_transfers() noexcept {
    int left = 0;
    while (CURLMsg *msg = curl_multi_info_read(multi_, &left)) {
        if (msg->msg != CURLMSG_DONE) continue;
        CURL *easy = msg->easy_handle;
        const CURLcode result = msg->data.result;  // msg dies with the handle's removal
        char *priv = nullptr;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
        if (auto *session = reinterpret_cast<Session *>(priv)) {
            session->on_done(result);
        } else {
            remove(easy);
        }
    }
}

}  // namespace ntx::ftp
