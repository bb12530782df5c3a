/*
 * A plugin that breaks the ABI's rules on purpose, one capability per rule, so that the suite proves
 * ntx-conformance fails a plugin that breaks them:
 *   twice       ends its action twice (action_complete, then action_complete again)
 *   late        ignores on_error and completes from a timer afterwards (a dead handle)
 *   crash       reads params[0] without looking at param_count (NULL params: a crash)
 *   bad-code    fails its action with a positive code
 *   in-release  completes normally, then calls action_complete from release
 *   bad-alpn    (ABI 1.6) opens a TLS socket whose ALPN list runs past its end, and names its result's
 *               protocol with a NULL pointer and a length
 * and its entry fills the whole plugin table whatever size the host gave (a smaller table overflows).
 * Its validate_action (ABI 1.2) reports a problem of a `twice` action, then says NTX_OK: a status
 * that disagrees with its reports.
 */
#include <ntx/plugin_abi.h>
#include <stdlib.h>
#include <string.h>

typedef struct bad_state {
    ntx_host_t *host;
    const ntx_host_api_t *api;
    ntx_action_t *remembered; /* in-release: a handle kept past its action's end */
} bad_state;

typedef struct bad_late {
    bad_state *st;
    ntx_action_t *action;
} bad_late;

static const char *const bad_capabilities[] = {"twice", "late", "crash", "bad-code", "in-release", "bad-alpn"};

static int is(ntx_str_t s, const char *lit) { return s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0; }

static ntx_status_t bad_init(ntx_host_t *host, const ntx_init_ctx_t *ctx, void **plugin_state) {
    bad_state *st = (bad_state *)calloc(1, sizeof *st);
    if (!st) return NTX_E_NOMEM;
    st->host = host;
    st->api = ctx->host_api;
    *plugin_state = st;
    return NTX_OK;
}

static void on_late_timer(void *userdata, ntx_timer_t timer) {
    bad_late *late = (bad_late *)userdata;
    (void)timer;
    late->st->api->action_complete(late->st->host, late->action, NULL); /* after on_error: forbidden */
    free(late);
}

static void on_bad_socket(void *userdata, const ntx_socket_event_t *event) {
    (void)userdata;
    (void)event;
}

static ntx_status_t bad_run_action(void *plugin_state, ntx_action_t *action, const ntx_action_ctx_t *ctx) {
    bad_state *st = (bad_state *)plugin_state;
    if (is(ctx->call, "twice")) {
        st->api->action_complete(st->host, action, NULL);
        st->api->action_complete(st->host, action, NULL);
        return NTX_OK;
    }
    if (is(ctx->call, "late")) {
        ntx_timer_t timer;
        bad_late *late = (bad_late *)malloc(sizeof *late);
        if (!late) return NTX_E_NOMEM;
        late->st = st;
        late->action = action;
        return st->api->timer_schedule(st->host, ctx->loop, 20, on_late_timer, late, &timer);
    }
    if (is(ctx->call, "crash")) {
        volatile size_t len = ctx->params[0].value.len; /* no check of param_count: NULL params crash */
        (void)len;
        return st->api->action_complete(st->host, action, NULL);
    }
    if (is(ctx->call, "bad-code")) {
        ntx_str_t reason;
        reason.ptr = "positive";
        reason.len = 8;
        st->api->action_fail(st->host, action, 3, reason, NULL);
        return NTX_OK;
    }
    if (is(ctx->call, "in-release")) {
        st->remembered = action;
        return st->api->action_complete(st->host, action, NULL);
    }
    if (is(ctx->call, "bad-alpn")) {
        ntx_socket_opts_t opts;
        ntx_socket_t sock = 0;
        ntx_result_t result;
        memset(&opts, 0, sizeof opts);
        opts.size = sizeof opts;
        opts.transport = NTX_TRANSPORT_TLS;
        opts.host.ptr = "127.0.0.1";
        opts.host.len = 9;
        opts.port = 9;
        opts.on_event = on_bad_socket;
        opts.tls_alpn.ptr = "\x05h2"; /* says 5 bytes, holds 2 */
        opts.tls_alpn.len = 3;
        if (st->api->socket_open(st->host, ctx->loop, &opts, &sock) == NTX_OK && sock) st->api->socket_close(st->host, sock);
        memset(&result, 0, sizeof result);
        result.size = sizeof result;
        result.protocol.len = 2; /* and no pointer */
        return st->api->action_complete(st->host, action, &result);
    }
    return NTX_E_UNSUPPORTED;
}

static void bad_on_error(void *plugin_state, ntx_action_t *action, void **user_data, ntx_status_t code, ntx_str_t reason) {
    /* Stops nothing: a `late` timer completes the dead action anyway. */
    (void)plugin_state;
    (void)action;
    (void)user_data;
    (void)code;
    (void)reason;
}

static void bad_release(void *plugin_state) {
    bad_state *st = (bad_state *)plugin_state;
    if (st->remembered) st->api->action_complete(st->host, st->remembered, NULL); /* no loop, dead handle */
    free(st);
}

static ntx_status_t bad_validate_action(const ntx_validate_ctx_t *ctx) {
    if (ctx->call.len == 5 && memcmp(ctx->call.ptr, "twice", 5) == 0) {
        ntx_problem_t p = {sizeof p, NTX_PROBLEM_ACTION, {"something", 9}, {NULL, 0}};
        ctx->report(ctx->report_ctx, &p);
    }
    return NTX_OK;
}

NTX_PLUGIN_EXPORT ntx_status_t ntx_plugin_entry(const ntx_host_api_t *host_api, ntx_plugin_api_t *plugin_api) {
    if (host_api->abi_major != NTX_ABI_MAJOR) return NTX_E_ABI;
    /* Fills every member without looking at plugin_api->size. */
    plugin_api->abi_major = NTX_ABI_MAJOR;
    plugin_api->abi_minor = NTX_ABI_MINOR;
    plugin_api->name = "misbehaving";
    plugin_api->version = "0.0.1";
    plugin_api->capabilities = bad_capabilities;
    plugin_api->capability_count = sizeof bad_capabilities / sizeof bad_capabilities[0];
    plugin_api->init = bad_init;
    plugin_api->run_action = bad_run_action;
    plugin_api->on_error = bad_on_error;
    plugin_api->release = bad_release;
    plugin_api->validate_action = bad_validate_action;
    return NTX_OK;
}
