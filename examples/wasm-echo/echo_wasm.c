/*
 * echo, compiled to WebAssembly: examples/echo-plugin/echo_plugin.c with the host table's calls made
 * through the imports of ntx/wasm_guest.h and the plugin table's hooks exported under their names.
 *
 *   connect  with {host, port}         open this user's connection; ok once it is up
 *   send     with {line[, host, port]} send `line` + "\n", ok when the same line comes back
 *   close    (no parameters)           close this user's connection; ok at once
 *
 * Build (see CMakeLists.txt; Debian: clang lld wasi-libc libclang-rt-14-dev-wasm32):
 *   clang --target=wasm32-wasi --sysroot=/usr -O2 -mexec-model=reactor -I<ntx>/include \
 *         -o ntx_echo.wasm echo_wasm.c
 * The host runs one instance per loop: the module's globals are per loop, and need no locks.
 */
#define NTX_WASM_GUEST_IMPLEMENTATION /* this file provides ntx_abi_version, ntx_alloc... */
#include <ntx/wasm_guest.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ECHO_DEFAULT_MAX_LINE 4096

/* Plugin-wide state: written in init, read-only afterwards (loops read it concurrently). */
typedef struct echo_plugin {
    size_t max_line; /* resource/config.yaml: echo: {max-line: N} */
} echo_plugin;

static echo_plugin the_plugin; /* this instance's (one per loop) */

static void log_msg(const ntx_action_t *action, int32_t level, const char *msg) { ntx_log(action, level, msg, strlen(msg)); }

/* What a user's action is waiting for. */
typedef enum echo_wait { WAIT_NONE, WAIT_CONNECTED, WAIT_ECHO } echo_wait;

/* Per-user state, hung on the user's slot. */
typedef struct echo_conn {
    const echo_plugin *plugin;
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
    char ca_file[512];    /* connect's ca-file: TLS to the peer, trusting this PEM file ("" = plain TCP) */
} echo_conn;

static const char *const echo_capabilities[] = {"connect", "send", "close"};

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
    ntx_kv_t field;
    if (!action) return;
    /* Forget the handle before calling the host: once ended it is dead. */
    c->action = NULL;
    c->wait = WAIT_NONE;
    memset(&result, 0, sizeof result);
    result.size = sizeof result;
    /* `reply` is what save-as reads: the echoed line (equal to the line sent) without its "\n". The
     * host copies fields during the call, so pointing at our own buffer is fine. */
    field.key = str_of("reply");
    field.value.ptr = c->line;
    field.value.len = c->line_len ? c->line_len - 1 : 0;
    result.fields = &field;
    result.field_count = (code == NTX_OK && c->line) ? 1 : 0;
    result.bytes_sent = c->bytes_sent;
    result.bytes_received = c->bytes_received;
    (void)p;
    if (code == NTX_OK)
        ntx_action_complete(action, &result);
    else
        ntx_action_fail(action, code, reason, strlen(reason), &result);
}

static void drop_connection(echo_conn *c) {
    if (c->socket) ntx_socket_close(c->socket); /* no callback follows */
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
    rc = ntx_socket_send(c->socket, data.ptr, data.len); /* the host copies the bytes */
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
        (void)p;
        log_msg(NULL, NTX_LOG_DEBUG, "echo: unexpected bytes, closing");
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
        end_action(c, ev->status, "socket error");
        break;
    default: /* NTX_SOCKET_SENT, and kinds a newer host may add */
        break;
    }
}

/* Opens the user's connection to the action's host/port, or (with neither given) to the last peer. */
static ntx_status_t open_connection(echo_conn *c, ntx_loop_t *loop, const ntx_action_ctx_t *ctx) {
    const ntx_str_t *host = param(ctx, "host");
    const ntx_str_t *port = param(ctx, "port");
    const ntx_str_t *ca_file = param(ctx, "ca-file");
    ntx_socket_opts_t opts;
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
    if (ca_file) { /* connect with a ca-file: TLS from now on (send's reconnects too) */
        if (!ca_file->len || ca_file->len >= sizeof c->ca_file) return NTX_E_INVALID;
        memcpy(c->ca_file, ca_file->ptr, ca_file->len);
        c->ca_file[ca_file->len] = '\0';
    }
    memset(&opts, 0, sizeof opts);
    opts.size = sizeof opts;
    opts.transport = c->ca_file[0] ? NTX_TRANSPORT_TLS : NTX_TRANSPORT_TCP;
    /* The host verifies the chain against the CA file and the name against `host` (an IP address is
     * matched against the certificate's IP SANs); the handshake runs in the host, not in the guest. */
    if (c->ca_file[0]) opts.tls_ca_file = str_of(c->ca_file);
    opts.host = str_of(c->peer_host); /* the host copies it during socket_open */
    opts.port = c->peer_port;
    opts.on_event = on_socket;
    opts.userdata = c;
    c->connected = 0;
    c->in_len = 0;
    return ntx_socket_open(loop, &opts, &c->socket);
}

/* ---- the plugin's hooks ---------------------------------------------------------------------------- */

NTX_WASM_EXPORT(ntx_init) ntx_status_t echo_init(const ntx_init_ctx_t *ctx) {
    echo_plugin *p = &the_plugin;
    const char *key = "\"max-line\":";
    size_t i, n = strlen(key);
    if (!ctx) return NTX_E_ABI;
    p->max_line = ECHO_DEFAULT_MAX_LINE;
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
                log_msg(NULL, NTX_LOG_ERROR, "echo: max-line must be a positive integer");
                return NTX_E_INVALID; /* a refused init aborts the run before any user starts */
            }
            p->max_line = (size_t)atol(digits);
        }
    }
    return NTX_OK;
}

NTX_WASM_EXPORT(ntx_run_action) ntx_status_t echo_run_action(ntx_action_t *action, const ntx_action_ctx_t *ctx) {
    const echo_plugin *p = &the_plugin;
    echo_conn *c;
    ntx_status_t rc;
    if (!p || !action || !ctx || !ctx->user_data) return NTX_E_INVALID;
    c = (echo_conn *)*ctx->user_data;
    if (!c) { /* the user's first action of this component: create its state */
        c = (echo_conn *)calloc(1, sizeof *c);
        if (!c) return NTX_E_NOMEM;
        c->plugin = p;
        *ctx->user_data = c; /* the host hands it back to on_error and user_release */
    }
    if (c->action) return NTX_E_STATE; /* the host runs one action per user at a time; never happens */
    c->bytes_sent = c->bytes_received = 0;

    if (str_is(ctx->call, "close")) {
        drop_connection(c);
        /* Ending inside run_action is allowed. Returning NTX_OK afterwards: the outcome is already told. */
        return ntx_action_complete(action, NULL) == NTX_OK ? NTX_OK : NTX_E_STATE;
    }

    if (str_is(ctx->call, "connect")) {
        if (c->socket) return ntx_action_complete(action, NULL) == NTX_OK ? NTX_OK : NTX_E_STATE;
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
            log_msg(action, NTX_LOG_WARN, "echo send: `line` is missing, too long or has a newline");
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

NTX_WASM_EXPORT(ntx_on_error)
void echo_on_error(ntx_action_t *action, void **user_data, ntx_status_t code, const char *reason, size_t reason_len) {
    echo_conn *c = user_data ? (echo_conn *)*user_data : NULL;
    (void)reason_len;
    (void)code; /* NTX_E_TIMEOUT or NTX_E_CANCELLED: the host has counted it already */
    (void)reason;
    if (!c || c->action != action) return;
    /* The host ended the action: forget the handle and never report it. An echo still on its way would
     * be read as the next line's, so the connection goes too. */
    c->action = NULL;
    c->wait = WAIT_NONE;
    drop_connection(c);
}

NTX_WASM_EXPORT(ntx_user_release) void echo_user_release(uint64_t user_id, void *user_data) {
    echo_conn *c = (echo_conn *)user_data;
    (void)user_id;
    drop_connection(c);
    free(c->line);
    free(c->in);
    free(c);
}

NTX_WASM_EXPORT(ntx_release) void echo_release(void) {}

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
    ntx_report_problem(ctx->report_ctx, &problem);
}

NTX_WASM_EXPORT(ntx_validate_action) ntx_status_t echo_validate_action(const ntx_validate_ctx_t *ctx) {
    const int is_close = str_is(ctx->call, "close"), is_send = str_is(ctx->call, "send");
    const char *takes = is_close ? "close takes no params" : is_send ? "send takes line, host, port" : "connect takes host, port, ca-file";
    int problems = 0, have_line = 0;
    size_t i;
    for (i = 0; ctx->params && i < ctx->param_count; ++i) {
        const ntx_kv_t *kv = &ctx->params[i];
        const int templated = ctx->param_flags && (ctx->param_flags[i] & NTX_PARAM_TEMPLATED);
        have_line |= str_is(kv->key, "line");
        if (is_close || !(str_is(kv->key, "host") || str_is(kv->key, "port") || (is_send && str_is(kv->key, "line")) ||
                          (!is_send && str_is(kv->key, "ca-file")))) {
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
    if (is_send && !have_line) {
        report(ctx, NTX_PROBLEM_ACTION, "send needs a line", "");
        ++problems;
    }
    return problems ? NTX_E_INVALID : NTX_OK;
}

/* What the host reads once at load: the static half of a native plugin's table. */
static const ntx_wasm_plugin_t echo_description = {
    sizeof(ntx_wasm_plugin_t), NTX_ABI_MAJOR, NTX_ABI_MINOR, "echo", "1.0.0",
    echo_capabilities, sizeof echo_capabilities / sizeof echo_capabilities[0]};

NTX_WASM_EXPORT(ntx_describe) const ntx_wasm_plugin_t *echo_describe(void) { return &echo_description; }
