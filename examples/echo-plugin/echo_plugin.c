/*
 * echo: a line-based TCP echo protocol, the template plugin to copy.
 *
 *   connect  with {host, port[, tls, alpn]}
 *                                      open this user's connection; ok once it is up. tls: "verify"
 *                                      or "no-verify" makes it a TLS connection (the host runs the
 *                                      handshake); alpn (ABI 1.6): protocols to offer by ALPN, comma
 *                                      separated ("h2,http/1.1"); the result's `alpn` field says
 *                                      which one the server selected
 *   send     with {line[, host, port]} send `line` + "\n", ok when the same line comes back
 *                                      (connects first if the user has no connection: to host/port,
 *                                      else to where the user's last connection went)
 *   close    (no parameters)          close this user's connection; ok at once
 *   checksum with {line}              ok with `checksum` = the Adler-32 of `line`, computed on the
 *                                      plugin's worker thread and handed back with post (ABI 1.3):
 *                                      the pattern for work that must not run on a loop
 *
 * One connection per user, kept across the user's actions in the per-user slot (ctx->user_data) and
 * freed in user_release. Everything runs on the user's loop thread; the only state shared by loops is
 * `echo_plugin`, which is read-only after init. The host owns the socket: the plugin reacts to its
 * events (connected, data, closed, error) and ends each action exactly once.
 *
 * Build it against the installed SDK (see CMakeLists.txt next to this file) and read
 * docs/plugins.md, which walks through this file.
 */
#include <ntx/plugin_abi.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ECHO_DEFAULT_MAX_LINE 4096

struct echo_job;

/* Plugin-wide state: written in init, read-only afterwards (loops read it concurrently), except the
 * worker's queue, which its mutex guards. */
typedef struct echo_plugin {
    ntx_host_t *host;
    const ntx_host_api_t *api; /* from init's ctx->host_api, not a global: two hosts, two tables */
    size_t max_line;           /* resource/config.yaml: echo: {max-line: N} */
    /* The worker thread of `checksum` (ABI 1.3 post), started in init, joined in release. */
    pthread_t worker;
    int worker_started;
    pthread_mutex_t lock;      /* guards queue, jobs and stopping */
    pthread_cond_t wake;
    struct echo_job *queue;    /* jobs waiting for the worker */
    struct echo_job *jobs;     /* every job not yet done on its loop: release frees what is left */
    int stopping;
} echo_plugin;

/* What a user's action is waiting for. */
typedef enum echo_wait { WAIT_NONE, WAIT_CONNECTED, WAIT_ECHO, WAIT_JOB } echo_wait;

/* Per-user state, hung on the user's slot. */
typedef struct echo_conn {
    echo_plugin *plugin;
    int refs;             /* the user's slot, and each checksum job in flight (touched on the loop only) */
    ntx_socket_t socket;  /* 0: no connection */
    int connected;        /* NTX_SOCKET_CONNECTED arrived */
    ntx_action_t *action; /* the action in flight, NULL between actions */
    echo_wait wait;
    char *line;           /* the line sent (with its "\n"), compared with the echo */
    size_t line_len;
    char *in;             /* bytes received and not yet matched */
    size_t in_len, in_cap;
    uint64_t bytes_sent, bytes_received; /* for the current action's result */
    char peer_host[256];  /* where the last connection went: `send` reconnects there after the server */
    uint16_t peer_port;   /* closed an idle connection (params are borrowed: we keep a copy) */
    int tls;              /* 0: TCP; 1: TLS verifying the certificate; 2: TLS without verification */
    char alpn_offer[128]; /* ABI 1.6: the ALPN list offered, in wire format (length-prefixed names) */
    size_t alpn_offer_len;
    char alpn[64];        /* the protocol the server selected (NTX_SOCKET_CONNECTED's alpn), or "" */
    size_t alpn_len;
} echo_conn;

/* A checksum computed off the loop. Owned by the worker and then by the posted callback; the user's
 * state only knows which action waits for it. */
typedef struct echo_job {
    struct echo_job *next_queued, *next;
    echo_conn *conn;      /* holds a reference: the user may be released meanwhile */
    ntx_action_t *action; /* the action it ends, if that action is still the one in flight */
    ntx_loop_t *loop;
    char *text;
    size_t len;
    uint32_t sum;
} echo_job;

static const char *const echo_capabilities[] = {"connect", "send", "close", "checksum"};

/* ---- small helpers -------------------------------------------------------------------------------- */

static ntx_str_t str_of(const char *s) {
    ntx_str_t v;
    v.ptr = s;
    v.len = strlen(s);
    return v;
}

static int str_is(ntx_str_t s, const char *lit) { return s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0; }

/* The rendered `with` value for `key`, or NULL. Views are borrowed: valid during run_action only. */
static const ntx_str_t *param(const ntx_action_ctx_t *ctx, const char *key) {
    size_t i;
    for (i = 0; ctx->params && i < ctx->param_count; ++i)
        if (str_is(ctx->params[i].key, key)) return &ctx->params[i].value;
    return NULL;
}

/* ---- ending an action: exactly once, then forget the handle ----------------------------------------- */

static void end_action(echo_conn *c, ntx_status_t code, const char *reason) {
    const echo_plugin *p = c->plugin;
    ntx_action_t *action = c->action;
    ntx_result_t result;
    ntx_kv_t fields[2];
    if (!action) return;
    /* Forget the handle before calling the host: once ended it is dead. */
    c->action = NULL;
    c->wait = WAIT_NONE;
    memset(&result, 0, sizeof result);
    result.size = sizeof result;
    /* `reply` is what save-as reads: the echoed line (equal to the line sent) without its "\n". The
     * host copies fields during the call, so pointing at our own buffer is fine. */
    fields[0].key = str_of("reply");
    fields[0].value.ptr = c->line;
    fields[0].value.len = c->line_len ? c->line_len - 1 : 0;
    /* `alpn`: what the server selected on this TLS connection (ABI 1.6), when it selected one. */
    fields[1].key = str_of("alpn");
    fields[1].value.ptr = c->alpn;
    fields[1].value.len = c->alpn_len;
    result.fields = (code == NTX_OK && c->line) ? &fields[0] : &fields[1];
    result.field_count = code != NTX_OK ? 0 : (size_t)(c->line ? 1 : 0) + (c->alpn_len ? 1 : 0);
    result.bytes_sent = c->bytes_sent;
    result.bytes_received = c->bytes_received;
    if (code == NTX_OK)
        p->api->action_complete(p->host, action, &result);
    else
        p->api->action_fail(p->host, action, code, str_of(reason), &result);
}

static void conn_unref(echo_conn *c) {
    if (--c->refs > 0) return;
    free(c->line);
    free(c->in);
    free(c);
}

static void drop_connection(echo_conn *c) {
    if (c->socket) c->plugin->api->socket_close(c->plugin->host, c->socket); /* no callback follows */
    c->socket = 0;
    c->connected = 0;
    c->in_len = 0;
}

/* ---- socket events (on the user's loop) ------------------------------------------------------------ */

static void send_line(echo_conn *c) {
    ntx_bytes_t data;
    ntx_status_t rc;
    data.ptr = (const uint8_t *)c->line;
    data.len = c->line_len;
    rc = c->plugin->api->socket_send(c->plugin->host, c->socket, data); /* the host copies the bytes */
    if (rc != NTX_OK) {
        drop_connection(c);
        end_action(c, rc, "send failed");
        return;
    }
    c->bytes_sent += data.len;
    c->wait = WAIT_ECHO;
}

static void on_data(echo_conn *c, ntx_bytes_t data) {
    const echo_plugin *p = c->plugin;
    char *nl;
    c->bytes_received += data.len;
    if (c->wait != WAIT_ECHO) {
        /* Bytes nobody asked for: this connection no longer speaks our protocol. */
        p->api->log(p->host, NULL, NTX_LOG_DEBUG, str_of("echo: unexpected bytes, closing"));
        drop_connection(c);
        return;
    }
    if (c->in_len + data.len > p->max_line + 1) {
        drop_connection(c);
        end_action(c, NTX_E_LIMIT, "reply longer than max-line");
        return;
    }
    if (c->in_len + data.len > c->in_cap) {
        size_t cap = c->in_len + data.len;
        char *grown = (char *)realloc(c->in, cap);
        if (!grown) {
            drop_connection(c);
            end_action(c, NTX_E_NOMEM, "out of memory");
            return;
        }
        c->in = grown;
        c->in_cap = cap;
    }
    /* `data` is borrowed for this callback only: copy what we keep. */
    memcpy(c->in + c->in_len, data.ptr, data.len);
    c->in_len += data.len;
    nl = (char *)memchr(c->in, '\n', c->in_len);
    if (!nl) return; /* the echo arrives in pieces: wait for the rest */
    if ((size_t)(nl - c->in) + 1 != c->in_len) {
        drop_connection(c); /* more than one line back: the peer is out of step */
        end_action(c, NTX_E_PROTOCOL, "more than the echoed line came back");
        return;
    }
    if (c->in_len != c->line_len || memcmp(c->in, c->line, c->line_len) != 0) {
        end_action(c, NTX_E_PROTOCOL, "the echo differs from the line sent");
        c->in_len = 0;
        return;
    }
    end_action(c, NTX_OK, "");
    c->in_len = 0;
}

static void on_socket(void *userdata, const ntx_socket_event_t *ev) {
    echo_conn *c = (echo_conn *)userdata;
    switch (ev->kind) {
    case NTX_SOCKET_CONNECTED:
        c->connected = 1;
        /* ABI 1.6: a TLS socket says which ALPN protocol the server selected (empty: none). A host
         * older than 1.6 hands a smaller event: check before reading. */
        c->alpn_len = 0;
        if (NTX_HAS_MEMBER(ev, ntx_socket_event_t, alpn) && ev->alpn.ptr && ev->alpn.len < sizeof c->alpn) {
            memcpy(c->alpn, ev->alpn.ptr, ev->alpn.len);
            c->alpn_len = ev->alpn.len;
        }
        if (c->wait == WAIT_CONNECTED) end_action(c, NTX_OK, "");
        else if (c->wait == WAIT_ECHO && c->line) send_line(c);
        break;
    case NTX_SOCKET_DATA:
        on_data(c, ev->data);
        break;
    case NTX_SOCKET_CLOSED: /* final: the socket is dead after this callback, never close it */
        c->socket = 0;
        c->connected = 0;
        end_action(c, NTX_E_CLOSED, "the server closed the connection");
        break;
    case NTX_SOCKET_ERROR: /* final too; ev->status says why (NTX_E_CONNECT, NTX_E_IO, ...) */
        c->socket = 0;
        c->connected = 0;
        /* ABI 1.5: NTX_E_DENIED when config.yaml's network.allow leaves the address out; no packet
         * went out. Pass the status on as it is: the report counts it as `denied`, not as the peer's
         * failure (ntx-conformance checks it). */
        end_action(c, ev->status, ev->status == NTX_E_DENIED ? "denied by the run's network policy" : "socket error");
        break;
    default: /* NTX_SOCKET_SENT, and kinds a newer host may add */
        break;
    }
}

/* Opens the user's connection to the action's host/port, or (with neither given) to the last peer. */
static ntx_status_t open_connection(echo_conn *c, ntx_loop_t *loop, const ntx_action_ctx_t *ctx) {
    const ntx_str_t *host = param(ctx, "host");
    const ntx_str_t *port = param(ctx, "port");
    const ntx_str_t *tls = param(ctx, "tls");
    const ntx_str_t *alpn = param(ctx, "alpn");
    ntx_socket_opts_t opts;
    if (tls || alpn) {
        /* "h2,http/1.1" -> "\x02h2\x08http/1.1": each name after its length (RFC 7301's wire format). */
        size_t i, start = 0, out = 0;
        if (tls && !str_is(*tls, "verify") && !str_is(*tls, "no-verify")) return NTX_E_INVALID;
        c->tls = tls && str_is(*tls, "no-verify") ? 2 : 1;
        for (i = 0; alpn && i <= alpn->len; ++i) {
            if (i < alpn->len && alpn->ptr[i] != ',') continue;
            if (i == start || i - start > 255 || out + 1 + (i - start) > sizeof c->alpn_offer) return NTX_E_INVALID;
            c->alpn_offer[out++] = (char)(i - start);
            memcpy(c->alpn_offer + out, alpn->ptr + start, i - start);
            out += i - start;
            start = i + 1;
        }
        c->alpn_offer_len = out;
    } else if (host || port) {
        c->tls = 0;
        c->alpn_offer_len = 0;
    }
    if (host || port) {
        char digits[8];
        long port_number;
        char *end;
        if (!host || !host->len || host->len >= sizeof c->peer_host || !port || !port->len || port->len >= sizeof digits)
            return NTX_E_INVALID;
        memcpy(digits, port->ptr, port->len);
        digits[port->len] = '\0';
        port_number = strtol(digits, &end, 10);
        if (*end != '\0' || port_number < 1 || port_number > 65535) return NTX_E_INVALID;
        memcpy(c->peer_host, host->ptr, host->len);
        c->peer_host[host->len] = '\0';
        c->peer_port = (uint16_t)port_number;
    }
    if (!c->peer_port) return NTX_E_INVALID; /* neither given now nor ever before */
    memset(&opts, 0, sizeof opts);
    opts.size = sizeof opts;
    opts.transport = c->tls ? NTX_TRANSPORT_TLS : NTX_TRANSPORT_TCP;
    opts.host = str_of(c->peer_host); /* the host copies it during socket_open */
    if (c->tls) {
        opts.tls_flags = c->tls == 2 ? NTX_TLS_NO_VERIFY : 0u; /* no-verify: test servers only */
        opts.tls_alpn.ptr = c->alpn_offer;                    /* ABI 1.6; empty: no ALPN */
        opts.tls_alpn.len = c->alpn_offer_len;
    }
    opts.port = c->peer_port;
    opts.on_event = on_socket;
    opts.userdata = c;
    c->connected = 0;
    c->in_len = 0;
    return c->plugin->api->socket_open(c->plugin->host, loop, &opts, &c->socket);
}

/* ---- checksum: work on the plugin's own thread, handed back with post (ABI 1.3) --------------------- */

static void unlink_job(echo_plugin *p, echo_job *job) {
    echo_job **at;
    for (at = &p->jobs; *at; at = &(*at)->next)
        if (*at == job) {
            *at = job->next;
            return;
        }
}

static void free_job(echo_job *job) {
    conn_unref(job->conn);
    free(job->text);
    free(job);
}

/* On the loop's thread (post's callback): the only place a job meets the user's state again. */
static void job_done(void *userdata) {
    echo_job *job = (echo_job *)userdata;
    echo_conn *c = job->conn;
    echo_plugin *p = c->plugin;
    pthread_mutex_lock(&p->lock);
    unlink_job(p, job);
    pthread_mutex_unlock(&p->lock);
    /* Still the action in flight? (on_error may have ended it; a later action may be running.) */
    if (c->action == job->action && c->wait == WAIT_JOB) {
        char digits[16];
        ntx_kv_t field;
        ntx_result_t result;
        ntx_action_t *action = c->action;
        c->action = NULL;
        c->wait = WAIT_NONE;
        snprintf(digits, sizeof digits, "%lu", (unsigned long)job->sum);
        field.key = str_of("checksum");
        field.value = str_of(digits);
        memset(&result, 0, sizeof result);
        result.size = sizeof result;
        result.fields = &field;
        result.field_count = 1;
        p->api->action_complete(p->host, action, &result);
    }
    free_job(job);
}

/* The worker thread: never calls the host except post. */
static void *worker_main(void *arg) {
    echo_plugin *p = (echo_plugin *)arg;
    for (;;) {
        echo_job *job;
        size_t i;
        uint32_t a = 1, b = 0;
        pthread_mutex_lock(&p->lock);
        while (!p->queue && !p->stopping) pthread_cond_wait(&p->wake, &p->lock);
        job = p->queue;
        if (job) p->queue = job->next_queued;
        pthread_mutex_unlock(&p->lock);
        if (!job) return NULL; /* stopping */
        for (i = 0; i < job->len; ++i) { /* Adler-32: the stand-in for real work */
            a = (a + (unsigned char)job->text[i]) % 65521u;
            b = (b + a) % 65521u;
        }
        job->sum = (b << 16) | a;
        /* Refused (the run is closing) or dropped by a stopping loop: the job stays listed in p->jobs and
         * release frees it. */
        (void)p->api->post(p->host, job->loop, job_done, job);
    }
}

static ntx_status_t start_checksum(echo_conn *c, ntx_action_t *action, const ntx_action_ctx_t *ctx) {
    echo_plugin *p = c->plugin;
    const ntx_str_t *line = param(ctx, "line");
    echo_job *job;
    if (!line) return NTX_E_INVALID;
    if (!p->worker_started) return NTX_E_UNSUPPORTED; /* a host older than ABI 1.3 has no post */
    job = (echo_job *)calloc(1, sizeof *job);
    if (!job || !(job->text = (char *)malloc(line->len + 1))) {
        free(job);
        return NTX_E_NOMEM;
    }
    memcpy(job->text, line->ptr, line->len);
    job->len = line->len;
    job->conn = c;
    ++c->refs;
    job->action = action;
    job->loop = ctx->loop;
    c->action = action;
    c->wait = WAIT_JOB;
    pthread_mutex_lock(&p->lock);
    job->next_queued = p->queue; /* order does not matter for this call */
    p->queue = job;
    job->next = p->jobs;
    p->jobs = job;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
    return NTX_OK;
}

/* ---- the plugin's hooks ---------------------------------------------------------------------------- */

static ntx_status_t echo_init(ntx_host_t *host, const ntx_init_ctx_t *ctx, void **plugin_state) {
    echo_plugin *p;
    const char *key = "\"max-line\":";
    size_t i, n = strlen(key);
    if (!ctx || !plugin_state || !NTX_HAS_MEMBER(ctx, ntx_init_ctx_t, host_api) || !ctx->host_api) return NTX_E_ABI;
    p = (echo_plugin *)calloc(1, sizeof *p);
    if (!p) return NTX_E_NOMEM;
    p->host = host;
    p->api = ctx->host_api;
    p->max_line = ECHO_DEFAULT_MAX_LINE;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    /* config_json is this component's section of resource/config.yaml, e.g. {"max-line":64}. A real
     * plugin would use a JSON parser; this one looks for one integer. */
    for (i = 0; ctx->config_json.ptr && ctx->config_json.len > n && i < ctx->config_json.len - n; ++i) {
        if (memcmp(ctx->config_json.ptr + i, key, n) == 0) {
            char digits[16];
            size_t len = 0;
            const char *v = ctx->config_json.ptr + i + n;
            while (len < sizeof digits - 1 && v + len < ctx->config_json.ptr + ctx->config_json.len &&
                   v[len] >= '0' && v[len] <= '9') {
                digits[len] = v[len];
                ++len;
            }
            digits[len] = '\0';
            if (len == 0 || atol(digits) < 1) {
                p->api->log(host, NULL, NTX_LOG_ERROR, str_of("echo: max-line must be a positive integer"));
                free(p);
                return NTX_E_INVALID; /* a refused init aborts the run before any user starts */
            }
            p->max_line = (size_t)atol(digits);
        }
    }
    /* init may start threads (the entry may not); only with a host that lends post to hand results back. */
    if (NTX_HAS_MEMBER(p->api, ntx_host_api_t, post) && p->api->post)
        p->worker_started = pthread_create(&p->worker, NULL, worker_main, p) == 0;
    *plugin_state = p;
    return NTX_OK;
}

static ntx_status_t echo_run_action(void *plugin_state, ntx_action_t *action, const ntx_action_ctx_t *ctx) {
    const echo_plugin *p = (const echo_plugin *)plugin_state;
    echo_conn *c;
    ntx_status_t rc;
    if (!p || !action || !ctx || !ctx->user_data) return NTX_E_INVALID;
    c = (echo_conn *)*ctx->user_data;
    if (!c) { /* the user's first action of this component: create its state */
        c = (echo_conn *)calloc(1, sizeof *c);
        if (!c) return NTX_E_NOMEM;
        c->plugin = (echo_plugin *)p;
        c->refs = 1; /* the slot's */
        *ctx->user_data = c; /* the host hands it back to on_error and user_release */
    }
    if (c->action) return NTX_E_STATE; /* the host runs one action per user at a time; never happens */
    c->bytes_sent = c->bytes_received = 0;

    if (str_is(ctx->call, "close")) {
        drop_connection(c);
        /* Ending inside run_action is allowed. Returning NTX_OK afterwards: the outcome is already told. */
        return p->api->action_complete(p->host, action, NULL) == NTX_OK ? NTX_OK : NTX_E_STATE;
    }

    if (str_is(ctx->call, "checksum")) return start_checksum(c, action, ctx);

    if (str_is(ctx->call, "connect")) {
        if (c->socket) return p->api->action_complete(p->host, action, NULL) == NTX_OK ? NTX_OK : NTX_E_STATE;
        rc = open_connection(c, ctx->loop, ctx);
        if (rc != NTX_OK) return rc; /* a negative return ends the action as that error */
        c->action = action;
        c->wait = WAIT_CONNECTED;
        return NTX_OK; /* NTX_SOCKET_CONNECTED or NTX_SOCKET_ERROR follows, never inside socket_open */
    }

    if (str_is(ctx->call, "send")) {
        const ntx_str_t *line = param(ctx, "line");
        char *copy;
        if (!line || (line->len && memchr(line->ptr, '\n', line->len)) || line->len > p->max_line) {
            p->api->log(p->host, action, NTX_LOG_WARN, str_of("echo send: `line` is missing, too long or has a newline"));
            return NTX_E_INVALID;
        }
        /* The rendered params die with this call: keep our own copy of the line. */
        copy = (char *)realloc(c->line, line->len + 1);
        if (!copy) return NTX_E_NOMEM;
        memcpy(copy, line->ptr, line->len);
        copy[line->len] = '\n';
        c->line = copy;
        c->line_len = line->len + 1;
        if (!c->socket) {
            rc = open_connection(c, ctx->loop, ctx);
            if (rc != NTX_OK) return rc;
        }
        c->action = action;
        c->wait = WAIT_ECHO;
        c->in_len = 0;
        if (c->connected) send_line(c); /* else on_socket sends it once NTX_SOCKET_CONNECTED arrives */
        return NTX_OK;
    }
    return NTX_E_UNSUPPORTED; /* the loader already refused scripts calling anything else */
}

static void echo_on_error(void *plugin_state, ntx_action_t *action, void **user_data, ntx_status_t code,
                          ntx_str_t reason) {
    echo_conn *c = user_data ? (echo_conn *)*user_data : NULL;
    (void)plugin_state;
    (void)code; /* NTX_E_TIMEOUT or NTX_E_CANCELLED: the host has counted it already */
    (void)reason;
    if (!c || c->action != action) return;
    /* The host ended the action: forget the handle and never report it. An echo still on its way would
     * be read as the next line's, so the connection goes too. */
    c->action = NULL;
    c->wait = WAIT_NONE;
    drop_connection(c);
}

static void echo_user_release(void *plugin_state, uint64_t user_id, void *user_data) {
    echo_conn *c = (echo_conn *)user_data;
    (void)plugin_state;
    (void)user_id;
    drop_connection(c);
    c->action = NULL;
    conn_unref(c); /* a checksum job still in flight keeps it until its callback (or release) */
}

static void echo_release(void *plugin_state) {
    echo_plugin *p = (echo_plugin *)plugin_state;
    if (p->worker_started) {
        pthread_mutex_lock(&p->lock);
        p->stopping = 1;
        pthread_cond_signal(&p->wake);
        pthread_mutex_unlock(&p->lock);
        pthread_join(p->worker, NULL);
    }
    /* No loop runs any more: the jobs whose callback never ran (post refused or dropped) end here. */
    while (p->jobs) {
        echo_job *job = p->jobs;
        p->jobs = job->next;
        free_job(job);
    }
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/* ABI 1.2: checks an action's params at planning, so that a typo is a `file:line:col: error:` of
 * `ntx validate` instead of an `invalid` error of every run. Called before init, with no state: it
 * reads only ctx (no host calls) and reports each problem through ctx->report. A templated value
 * (NTX_PARAM_TEMPLATED) is known only at run time: its value is not checked here. */
static void report(const ntx_validate_ctx_t *ctx, int32_t index, const char *message, const char *hint) {
    ntx_problem_t problem;
    problem.size = sizeof problem;
    problem.param_index = index;
    problem.message = str_of(message);
    problem.hint = str_of(hint);
    ctx->report(ctx->report_ctx, &problem);
}

static ntx_status_t echo_validate_action(const ntx_validate_ctx_t *ctx) {
    const int is_close = str_is(ctx->call, "close"), is_send = str_is(ctx->call, "send");
    const int is_checksum = str_is(ctx->call, "checksum");
    const char *takes = is_close      ? "close takes no params"
                        : is_send     ? "send takes line, host, port"
                        : is_checksum ? "checksum takes line"
                                      : "connect takes host, port, tls, alpn";
    int problems = 0, have_line = 0;
    size_t i;
    for (i = 0; ctx->params && i < ctx->param_count; ++i) {
        const ntx_kv_t *kv = &ctx->params[i];
        const int templated = ctx->param_flags && (ctx->param_flags[i] & NTX_PARAM_TEMPLATED);
        have_line |= str_is(kv->key, "line");
        if (is_checksum ? !str_is(kv->key, "line")
                        : (is_close || !(str_is(kv->key, "host") || str_is(kv->key, "port") ||
                                         (is_send && str_is(kv->key, "line")) ||
                                         (!is_send && (str_is(kv->key, "tls") || str_is(kv->key, "alpn")))))) {
            report(ctx, (int32_t)i, "unknown param", takes);
            ++problems;
        } else if (str_is(kv->key, "port") && !templated) {
            char digits[8] = {0};
            char *end = NULL;
            long n = 0;
            if (kv->value.len && kv->value.len < sizeof digits) {
                memcpy(digits, kv->value.ptr, kv->value.len);
                n = strtol(digits, &end, 10);
            }
            if (!end || *end != '\0' || n < 1 || n > 65535) {
                report(ctx, (int32_t)i, "port must be a number in 1..65535", "");
                ++problems;
            }
        }
    }
    if ((is_send || is_checksum) && !have_line) {
        report(ctx, NTX_PROBLEM_ACTION, is_send ? "send needs a line" : "checksum needs a line", "");
        ++problems;
    }
    return problems ? NTX_E_INVALID : NTX_OK;
}

/* The one exported symbol. No work here: fill the table, or refuse the host. */
NTX_PLUGIN_EXPORT ntx_status_t ntx_plugin_entry(const ntx_host_api_t *host_api, ntx_plugin_api_t *plugin_api) {
    if (!host_api || !plugin_api) return NTX_E_INVALID;
    /* Another major changed the meaning of what we call; a table smaller than 1.0's is not a 1.x host. */
    if (host_api->abi_major != NTX_ABI_MAJOR || !NTX_HAS_MEMBER(host_api, ntx_host_api_t, strerror)) return NTX_E_ABI;
    /* Write only what fits the host's table: every 1.x host's table holds all of 1.0's members. */
    if (!NTX_HAS_MEMBER(plugin_api, ntx_plugin_api_t, release)) return NTX_E_ABI;
    plugin_api->abi_major = NTX_ABI_MAJOR;
    plugin_api->abi_minor = NTX_ABI_MINOR;
    plugin_api->name = "echo";
    plugin_api->version = "1.0.0";
    plugin_api->capabilities = echo_capabilities;
    plugin_api->capability_count = sizeof echo_capabilities / sizeof echo_capabilities[0];
    plugin_api->init = echo_init;
    plugin_api->run_action = echo_run_action;
    plugin_api->on_error = echo_on_error;
    plugin_api->user_release = echo_user_release;
    plugin_api->release = echo_release;
    /* 1.2 and optional: written only when the host's table has room for it. */
    if (NTX_HAS_MEMBER(plugin_api, ntx_plugin_api_t, validate_action)) plugin_api->validate_action = echo_validate_action;
    return NTX_OK;
}
