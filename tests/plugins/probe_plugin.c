/*
 * A plain C99 plugin used by the suite: it proves the C ABI compiles as C (-std=c99 -Wall -Werror)
 * and exercises the host's runtime table end to end.
 *   raw    send with.data over TCP to with.host:with.port, succeed when with.expect appears in the
 *          reply (or fail with NTX_E_PROTOCOL when the peer closes first)
 *   sleep  complete after with.ms milliseconds (a host timer); cancelled cleanly by on_error
 *   fail   fail at once with NTX_E_PROTOCOL
 *   late   like sleep, but ignores on_error and completes anyway: the host must refuse the stale
 *          completion (NTX_E_STATE) instead of counting it for the user's next action
 *   flaky  fail (NTX_E_IO) the first with.failures calls of each user, then succeed with the result
 *          field `calls` (this user's calls so far): retries and task restarts that eventually work
 *   spawn  request with.count dynamic tasks: of the script action with.template, or ad hoc of this
 *          plugin's with.call; each with.p.<key> becomes the task's <key>. Completes with the result
 *          fields `ids` (the task ids, comma-separated), `started` and `refused` (NTX_E_LIMIT answers)
 * Built several times with -D switches to make deliberately broken plugins for the loader tests.
 */
#include <ntx/plugin_abi.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef PROBE_ABI_MAJOR
#define PROBE_ABI_MAJOR NTX_ABI_MAJOR
#endif
#ifndef PROBE_ABI_MINOR
#define PROBE_ABI_MINOR NTX_ABI_MINOR
#endif
#ifndef PROBE_VERSION
#define PROBE_VERSION "1.2.0"
#endif

static const ntx_host_api_t *g_host_api;

typedef struct probe_call {
    ntx_host_t *host;
    ntx_action_t *action;
    ntx_loop_t *loop;
    ntx_socket_t socket;
    ntx_timer_t timer;
    void **slot; /* the user's slot, which points at this call while it runs */
    int late;    /* `late`: keeps running after on_error */
    struct probe_call *next_orphan; /* late calls the host ended, until their timer fires */
    char expect[128];
    char *reply;
    size_t reply_len;
    uint64_t sent;
} probe_call;

/* Loops call the plugin concurrently: the few fields shared across users sit under `lock`. */
typedef struct probe_state {
    ntx_host_t *host;
    pthread_mutex_t lock;
    ntx_loop_t *last_loop; /* a loop seen in run_action, named again in release: must be refused */
    int misbehaved;        /* a `late` call ran: release may break the rules too (probing the host) */
    int stale_refused;     /* late completions the host refused */
    probe_call *orphans;   /* late calls still pending; freed in release if the run ended first */
    struct {
        uint64_t user_id;
        unsigned calls;
    } flaky[4096]; /* `flaky` calls per user (a test-sized table) */
    size_t flaky_users;
} probe_state;

static probe_state *g_state;

static const char *const k_capabilities[] = {"raw", "sleep", "fail", "late", "flaky", "spawn"};

static ntx_str_t str_of(const char *s) {
    ntx_str_t v;
    v.ptr = s;
    v.len = strlen(s);
    return v;
}

static int param(const ntx_action_ctx_t *ctx, const char *key, char *out, size_t cap) {
    size_t i, klen = strlen(key);
    for (i = 0; i < ctx->param_count; ++i) {
        const ntx_kv_t *kv = &ctx->params[i];
        if (kv->key.len == klen && memcmp(kv->key.ptr, key, klen) == 0) {
            size_t n = kv->value.len < cap - 1 ? kv->value.len : cap - 1;
            memcpy(out, kv->value.ptr, n);
            out[n] = '\0';
            return 1;
        }
    }
    out[0] = '\0';
    return 0;
}

static void call_free(probe_call *call) {
    if (call->slot) *call->slot = NULL;
    free(call->reply);
    free(call);
}

static void finish(probe_call *call, ntx_status_t code, const char *reason) {
    ntx_result_t result;
    ntx_kv_t field;
    memset(&result, 0, sizeof result);
    result.size = sizeof result;
    field.key = str_of("reply");
    field.value.ptr = call->reply ? call->reply : "";
    field.value.len = call->reply_len;
    result.fields = &field;
    result.field_count = 1;
    result.bytes_sent = call->sent;
    result.bytes_received = call->reply_len;
    if (call->socket) {
        g_host_api->socket_close(call->host, call->socket);
        call->socket = 0;
    }
    if (code == NTX_OK) g_host_api->action_complete(call->host, call->action, &result);
    else g_host_api->action_fail(call->host, call->action, code, str_of(reason), &result);
    call_free(call);
}

static void on_socket(void *userdata, const ntx_socket_event_t *ev) {
    probe_call *call = (probe_call *)userdata;
    switch (ev->kind) {
    case NTX_SOCKET_DATA: {
        char *grown = (char *)realloc(call->reply, call->reply_len + ev->data.len + 1);
        if (!grown) {
            finish(call, NTX_E_NOMEM, "out of memory");
            return;
        }
        call->reply = grown;
        memcpy(call->reply + call->reply_len, ev->data.ptr, ev->data.len);
        call->reply_len += ev->data.len;
        call->reply[call->reply_len] = '\0';
        if (strstr(call->reply, call->expect)) finish(call, NTX_OK, "");
        break;
    }
    case NTX_SOCKET_CLOSED:
        call->socket = 0; /* dead after this callback */
        finish(call, NTX_E_PROTOCOL, "peer closed before the expected reply");
        break;
    case NTX_SOCKET_ERROR:
        call->socket = 0;
        finish(call, ev->status, "socket error");
        break;
    default:
        break;
    }
}

static void on_timer(void *userdata, ntx_timer_t timer) {
    probe_call *call = (probe_call *)userdata;
    (void)timer;
    call->timer = 0;
    if (call->late == 2) { /* the host ended it long ago: this completion is stale */
        ntx_status_t rc = g_host_api->action_complete(call->host, call->action, NULL);
        probe_call **p;
        pthread_mutex_lock(&g_state->lock);
        if (rc == NTX_E_STATE) g_state->stale_refused++;
        p = &g_state->orphans;
        while (*p && *p != call) p = &(*p)->next_orphan;
        if (*p) *p = call->next_orphan;
        pthread_mutex_unlock(&g_state->lock);
        call_free(call);
        return;
    }
    finish(call, NTX_OK, "");
}

static ntx_status_t probe_init(ntx_host_t *host, const ntx_init_ctx_t *ctx, void **plugin_state) {
    probe_state *st;
    /* `"fail-init": true` in the component's config makes init refuse, for the host's failure path. */
    const char *needle = "\"fail-init\":true";
    size_t i, n = strlen(needle);
    for (i = 0; ctx->config_json.len >= n && i <= ctx->config_json.len - n; ++i)
        if (memcmp(ctx->config_json.ptr + i, needle, n) == 0) return NTX_E_INVALID;
    st = (probe_state *)calloc(1, sizeof *st);
    if (!st) return NTX_E_NOMEM;
    st->host = host;
    pthread_mutex_init(&st->lock, NULL);
    g_state = st;
    *plugin_state = st;
    return NTX_OK;
}

static ntx_status_t probe_spawn(probe_state *st, ntx_action_t *action, const ntx_action_ctx_t *ctx) {
    char name[128], callname[64], buf[32], ids[1024], started_s[24], refused_s[24];
    ntx_kv_t params[8], fields[3];
    ntx_task_request_t req;
    ntx_result_t result;
    size_t i, n = 0, used = 0;
    unsigned k, count, started = 0, refused = 0;
    param(ctx, "template", name, sizeof name);
    param(ctx, "call", callname, sizeof callname);
    param(ctx, "count", buf, sizeof buf);
    count = (unsigned)strtoul(buf, NULL, 10);
    for (i = 0; i < ctx->param_count && n < 8; ++i)
        if (ctx->params[i].key.len > 2 && memcmp(ctx->params[i].key.ptr, "p.", 2) == 0) {
            params[n].key.ptr = ctx->params[i].key.ptr + 2;
            params[n].key.len = ctx->params[i].key.len - 2;
            params[n].value = ctx->params[i].value;
            ++n;
        }
    memset(&req, 0, sizeof req);
    req.size = sizeof req;
    req.template_action = str_of(name);
    req.call = str_of(callname);
    req.params = n ? params : NULL;
    req.param_count = n;
    ids[0] = '\0';
    for (k = 0; k < count; ++k) {
        uint64_t id = 0;
        ntx_status_t rc = g_host_api->request_task(st->host, action, &req, &id);
        if (rc == NTX_E_LIMIT) {
            ++refused;
        } else if (rc != NTX_OK) {
            return g_host_api->action_fail(st->host, action, rc, str_of("request_task refused the request"), NULL) == NTX_OK
                       ? NTX_OK
                       : NTX_E_STATE;
        } else {
            ++started;
            if (used + 24 < sizeof ids) used += (size_t)sprintf(ids + used, "%s%llu", used ? "," : "", (unsigned long long)id);
        }
    }
    sprintf(started_s, "%u", started);
    sprintf(refused_s, "%u", refused);
    fields[0].key = str_of("ids");
    fields[0].value = str_of(ids);
    fields[1].key = str_of("started");
    fields[1].value = str_of(started_s);
    fields[2].key = str_of("refused");
    fields[2].value = str_of(refused_s);
    memset(&result, 0, sizeof result);
    result.size = sizeof result;
    result.fields = fields;
    result.field_count = 3;
    return g_host_api->action_complete(st->host, action, &result) == NTX_OK ? NTX_OK : NTX_E_STATE;
}

static ntx_status_t probe_run_action(void *plugin_state, ntx_action_t *action, const ntx_action_ctx_t *ctx) {
    probe_state *st = (probe_state *)plugin_state;
    char buf[1024];
    probe_call *call;
    if (ctx->call.len == 4 && memcmp(ctx->call.ptr, "fail", 4) == 0) {
        return g_host_api->action_fail(st->host, action, NTX_E_PROTOCOL, str_of("asked to fail"), NULL) == NTX_OK
                   ? NTX_OK
                   : NTX_E_STATE;
    }
    if (ctx->call.len == 5 && memcmp(ctx->call.ptr, "flaky", 5) == 0) {
        size_t i;
        unsigned calls, failures;
        param(ctx, "failures", buf, sizeof buf);
        failures = (unsigned)strtoul(buf, NULL, 10);
        pthread_mutex_lock(&st->lock);
        for (i = 0; i < st->flaky_users && st->flaky[i].user_id != ctx->user_id; ++i) {
        }
        if (i == st->flaky_users && i < sizeof st->flaky / sizeof st->flaky[0]) {
            st->flaky[i].user_id = ctx->user_id;
            st->flaky[i].calls = 0;
            ++st->flaky_users;
        }
        calls = i < st->flaky_users ? ++st->flaky[i].calls : 1;
        pthread_mutex_unlock(&st->lock);
        if (calls <= failures)
            return g_host_api->action_fail(st->host, action, NTX_E_IO, str_of("flaky: failing on purpose"), NULL) == NTX_OK
                       ? NTX_OK
                       : NTX_E_STATE;
        {
            ntx_result_t result;
            ntx_kv_t field;
            char n[24];
            sprintf(n, "%u", calls);
            memset(&result, 0, sizeof result);
            result.size = sizeof result;
            field.key = str_of("calls");
            field.value = str_of(n);
            result.fields = &field;
            result.field_count = 1;
            return g_host_api->action_complete(st->host, action, &result) == NTX_OK ? NTX_OK : NTX_E_STATE;
        }
    }
    if (ctx->call.len == 5 && memcmp(ctx->call.ptr, "spawn", 5) == 0) return probe_spawn(st, action, ctx);
    call = (probe_call *)calloc(1, sizeof *call);
    if (!call) return NTX_E_NOMEM;
    call->host = st->host;
    call->action = action;
    call->loop = ctx->loop;
    pthread_mutex_lock(&st->lock);
    st->last_loop = ctx->loop;
    pthread_mutex_unlock(&st->lock);
    /* The host hands the slot back to on_error if it ends the action first. */
    *ctx->user_data = call;
    call->slot = ctx->user_data;
    call->late = ctx->call.len == 4 && memcmp(ctx->call.ptr, "late", 4) == 0;
    if (call->late) {
        pthread_mutex_lock(&st->lock);
        st->misbehaved = 1;
        pthread_mutex_unlock(&st->lock);
    }
    if (call->late || (ctx->call.len == 5 && memcmp(ctx->call.ptr, "sleep", 5) == 0)) {
        if (param(ctx, "progress", buf, sizeof buf)) {
            /* `progress: "0.5"`: one progress call to the host's bus before sleeping. */
            ntx_progress_t p;
            ntx_kv_t field;
            memset(&p, 0, sizeof p);
            p.size = sizeof p;
            p.scope = NTX_SCOPE_ACTION;
            p.progress = strtod(buf, NULL);
            field.key = str_of("stage");
            field.value = str_of("sleeping");
            p.fields = &field;
            p.field_count = 1;
            (void)g_host_api->progress(st->host, action, &p);
        }
        param(ctx, "ms", buf, sizeof buf);
        return g_host_api->timer_schedule(st->host, ctx->loop, (uint64_t)strtoull(buf, NULL, 10), on_timer, call,
                                          &call->timer);
    }
    {
        ntx_socket_opts_t opts;
        char host[256];
        ntx_status_t rc;
        memset(&opts, 0, sizeof opts);
        opts.size = sizeof opts;
        opts.transport = NTX_TRANSPORT_TCP;
        param(ctx, "host", host, sizeof host);
        opts.host = str_of(host);
        param(ctx, "port", buf, sizeof buf);
        opts.port = (uint16_t)atoi(buf);
        opts.on_event = on_socket;
        opts.userdata = call;
        param(ctx, "expect", call->expect, sizeof call->expect);
        rc = g_host_api->socket_open(st->host, ctx->loop, &opts, &call->socket);
        if (rc != NTX_OK) {
            call_free(call);
            return rc;
        }
        param(ctx, "data", buf, sizeof buf);
        {
            ntx_bytes_t data;
            data.ptr = (const uint8_t *)buf;
            data.len = strlen(buf);
            call->sent = data.len;
            return g_host_api->socket_send(st->host, call->socket, data);
        }
    }
}

static void probe_on_error(void *plugin_state, ntx_action_t *action, void **user_data, ntx_status_t code,
                           ntx_str_t reason) {
    probe_call *call = (probe_call *)*user_data;
    (void)plugin_state;
    (void)action;
    (void)code;
    (void)reason;
    if (!call) return;
    if (call->late) { /* misbehave on purpose: keep the timer, complete later anyway */
        call->late = 2;
        call->slot = NULL;
        *user_data = NULL;
        pthread_mutex_lock(&g_state->lock);
        call->next_orphan = g_state->orphans;
        g_state->orphans = call;
        pthread_mutex_unlock(&g_state->lock);
        return;
    }
    /* The host ended the action: stop the work, forget the handle, never report it. */
    if (call->timer) g_host_api->timer_cancel(call->host, call->loop, call->timer);
    if (call->socket) g_host_api->socket_close(call->host, call->socket);
    call_free(call);
}

static void probe_user_release(void *plugin_state, uint64_t user_id, void *user_data) {
    /* Only reached with a call still in the slot if the run ended mid-action without on_error. */
    probe_call *call = (probe_call *)user_data;
    (void)plugin_state;
    (void)user_id;
    if (call->socket) g_host_api->socket_close(call->host, call->socket);
    call->slot = NULL;
    call_free(call);
}

static void probe_release(void *plugin_state) {
    probe_state *st = (probe_state *)plugin_state;
    char line[96];
    /* The loops are gone by now: the host must refuse the loop instead of touching freed memory. Only
     * after `late` ran: a well-behaved run calls nothing but log here (ntx-conformance checks that). */
    if (st->misbehaved && st->last_loop && g_host_api->timer_cancel(st->host, st->last_loop, 1) != NTX_E_STATE)
        g_host_api->log(st->host, NULL, NTX_LOG_ERROR, str_of("release: a dead loop was accepted"));
    if (st->stale_refused) {
        sprintf(line, "stale completions refused: %d", st->stale_refused);
        g_host_api->log(st->host, NULL, NTX_LOG_WARN, str_of(line));
    }
    while (st->orphans) {
        probe_call *next = st->orphans->next_orphan;
        call_free(st->orphans);
        st->orphans = next;
    }
    g_state = NULL;
    pthread_mutex_destroy(&st->lock);
    free(plugin_state);
}

NTX_PLUGIN_EXPORT ntx_status_t ntx_plugin_entry(const ntx_host_api_t *host_api, ntx_plugin_api_t *plugin_api) {
    g_host_api = host_api;
    if (!NTX_HAS_MEMBER(plugin_api, ntx_plugin_api_t, abi_minor)) return NTX_E_ABI;
    plugin_api->abi_major = PROBE_ABI_MAJOR;
    plugin_api->abi_minor = PROBE_ABI_MINOR;
    if (host_api->abi_major != NTX_ABI_MAJOR) return NTX_E_ABI;
    /* Fill only what fits the host's table (every 1.x host's holds all of 1.0's members). */
    if (!NTX_HAS_MEMBER(plugin_api, ntx_plugin_api_t, release)) return NTX_E_ABI;
    plugin_api->name = "probe";
    plugin_api->version = PROBE_VERSION;
    plugin_api->capabilities = k_capabilities;
    plugin_api->capability_count = sizeof k_capabilities / sizeof k_capabilities[0];
    plugin_api->init = probe_init;
    plugin_api->run_action = probe_run_action;
    plugin_api->on_error = probe_on_error;
    plugin_api->user_release = probe_user_release;
    plugin_api->release = probe_release;
    return NTX_OK;
}
