// A plugin that breaks the ABI's contract on purpose, compiled by the tests that use it
// (tests/e2e/hostile.py builds it with the system's c++ against libntx/include): each capability is
// one way a careless or hostile plugin hurts its host.
//   ok            completes at once
//   segv          writes through a null pointer       (param after_ms: only once the plugin ran that long)
//   abort         abort()
//   throw         a C++ exception out through the C ABI
//   from-thread   completes from a thread of its own (off-loop); the action then times out
//   post          (ABI 1.3) hands the completion from its own thread to the loop with host->post
//   block         sleeps `ms` inside run_action, then completes
//   twice         completes twice
//   late          ignores on_error and completes from a timer afterwards (after cancel)
//   stale         completes the user's previous action's handle, never the current one
//   bad-fields    completes with a result whose field_count is absurd and fields NULL
//   fields        (well-behaved) completes with every param as a result field
// HOSTILE_CAPS=N in the environment: the table declares N capabilities (absurd table sizes).
#include <ntx/plugin_abi.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

struct State {
    ntx_host_t* host;
    const ntx_host_api_t* api;
    std::chrono::steady_clock::time_point started;
};

struct User {
    ntx_action_t* previous = nullptr;
};

struct Late {
    State* st;
    ntx_action_t* action;
};

std::vector<std::string> g_names;
std::vector<const char*> g_caps;
std::atomic<int> g_off_loop_status{1};

bool is(ntx_str_t s, const char* lit) { return s.len == std::strlen(lit) && std::memcmp(s.ptr, lit, s.len) == 0; }

std::string param(const ntx_action_ctx_t* ctx, const char* key) {
    for (size_t i = 0; i < ctx->param_count; ++i)
        if (is(ctx->params[i].key, key)) return std::string(ctx->params[i].value.ptr, ctx->params[i].value.len);
    return {};
}

void log(State* st, ntx_action_t* a, const std::string& text) {
    st->api->log(st->host, a, NTX_LOG_WARN, {text.data(), text.size()});
}

ntx_status_t init(ntx_host_t* host, const ntx_init_ctx_t* ctx, void** plugin_state) {
    *plugin_state = new State{host, ctx->host_api, std::chrono::steady_clock::now()};
    return NTX_OK;
}

#if NTX_ABI_MINOR >= 3
void on_posted(void* userdata) {
    auto* late = static_cast<Late*>(userdata);
    late->st->api->action_complete(late->st->host, late->action, nullptr);
    delete late;
}
#endif

ntx_status_t run_action(void* plugin_state, ntx_action_t* action, const ntx_action_ctx_t* ctx) {
    auto* st = static_cast<State*>(plugin_state);
    User*& user = *reinterpret_cast<User**>(ctx->user_data);
    if (!user) user = new User;
    const ntx_action_t* previous = user->previous;
    user->previous = action;
    if (is(ctx->call, "ok")) return st->api->action_complete(st->host, action, nullptr);
    if (is(ctx->call, "segv")) {
        std::string after = param(ctx, "after_ms");
        if (!after.empty() && std::chrono::steady_clock::now() - st->started < std::chrono::milliseconds(std::atoll(after.c_str())))
            return st->api->action_complete(st->host, action, nullptr);
        *static_cast<volatile int*>(nullptr) = 1;
    }
    if (is(ctx->call, "abort")) std::abort();
    if (is(ctx->call, "throw")) throw std::runtime_error("hostile: an exception through the C ABI");
    if (is(ctx->call, "from-thread")) {
        std::thread([st, action] {
            g_off_loop_status = st->api->action_complete(st->host, action, nullptr);
            std::string line = "off-loop action_complete returned " + std::to_string(g_off_loop_status.load());
            st->api->log(st->host, nullptr, NTX_LOG_WARN, {line.data(), line.size()});
        }).join();
        return NTX_OK;
    }
#if NTX_ABI_MINOR >= 3
    if (is(ctx->call, "post")) {
        auto* late = new Late{st, action};
        ntx_loop_t* loop = ctx->loop;
        std::thread([st, loop, late] {
            if (st->api->post(st->host, loop, on_posted, late) != NTX_OK) delete late;
        }).detach();
        return NTX_OK;
    }
#endif
    if (is(ctx->call, "block")) {
        ::usleep(static_cast<useconds_t>(std::atoll(param(ctx, "ms").c_str()) * 1000));
        return st->api->action_complete(st->host, action, nullptr);
    }
    if (is(ctx->call, "twice")) {
        st->api->action_complete(st->host, action, nullptr);
        st->api->action_complete(st->host, action, nullptr);
        return NTX_OK;
    }
    if (is(ctx->call, "late")) return NTX_OK;  // on_error arranges the late completion
    if (is(ctx->call, "stale")) {
        // The user's first action completes; every later one completes its predecessor's handle only.
        if (!previous) return st->api->action_complete(st->host, action, nullptr);
        ntx_status_t rc = st->api->action_complete(st->host, const_cast<ntx_action_t*>(previous), nullptr);
        log(st, action, "stale action_complete returned " + std::to_string(rc));
        return NTX_OK;
    }
    if (is(ctx->call, "fields")) {  // well-behaved: every param back as a result field (what save-as keeps)
        ntx_result_t r{};
        r.size = sizeof r;
        r.fields = ctx->params;
        r.field_count = ctx->param_count;
        return st->api->action_complete(st->host, action, &r);
    }
    if (is(ctx->call, "bad-fields")) {
        ntx_result_t r{};
        r.size = sizeof r;
        r.fields = nullptr;
        r.field_count = 1u << 30;
        return st->api->action_complete(st->host, action, &r);
    }
    return NTX_E_UNSUPPORTED;
}

void on_error(void* plugin_state, ntx_action_t* action, void**, ntx_status_t, ntx_str_t) {
    auto* st = static_cast<State*>(plugin_state);
    // The host ended the action first (only `late`, `stale` and `from-thread` get here): complete it
    // anyway, after the cancel.
    st->api->action_complete(st->host, action, nullptr);
}

void user_release(void*, uint64_t, void* user_data) { delete static_cast<User*>(user_data); }

void release(void* plugin_state) { delete static_cast<State*>(plugin_state); }

}  // namespace

extern "C" NTX_PLUGIN_EXPORT ntx_status_t ntx_plugin_entry(const ntx_host_api_t* host_api, ntx_plugin_api_t* api) {
    if (host_api->abi_major != NTX_ABI_MAJOR) return NTX_E_ABI;
    g_names = {"ok", "segv", "abort", "throw", "from-thread", "post", "block", "twice", "late", "stale", "bad-fields", "fields"};
    if (const char* n = std::getenv("HOSTILE_CAPS"))
        for (long i = static_cast<long>(g_names.size()); i < std::atol(n); ++i) g_names.push_back("cap" + std::to_string(i));
    g_caps.clear();
    for (const auto& s : g_names) g_caps.push_back(s.c_str());
    api->abi_major = NTX_ABI_MAJOR;
    api->abi_minor = NTX_ABI_MINOR;
    api->name = "hostile";
    api->version = "1.0.0";
    api->capabilities = g_caps.data();
    api->capability_count = g_caps.size();
    api->init = init;
    api->run_action = run_action;
    api->on_error = on_error;
    api->user_release = user_release;
    api->release = release;
    return NTX_OK;
}
