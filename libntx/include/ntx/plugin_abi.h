/*
 * ntx plugin ABI, version 1.6.
 *
 * The one header a protocol plugin includes. Plain C99, standard headers only, so a plugin can be
 * written in C, C++, Rust, or compiled to wasm (ntx/wasm_guest.h, docs/plugins-wasm.md) and loaded
 * through the wasm loader, which adapts a module to this contract.
 *
 * NAMES
 *   ntx_*_t          types
 *   ntx_plugin_*_fn  the hooks the plugin implements, e.g. ntx_plugin_run_action_fn (the members of
 *                    ntx_plugin_api_t: run_action...), and ntx_plugin_entry_fn, its one exported symbol
 *   ntx_host_*_fn    the functions the host lends, e.g. ntx_host_action_complete_fn (the members of
 *                    ntx_host_api_t: action_complete...)
 *   ntx_*_cb         callbacks the plugin hands to the host (sockets, timers, fd-watch, problems)
 *   NTX_*            macros: status codes, bits, versions
 *
 * ENTRY
 *   A plugin exports exactly one symbol, NTX_PLUGIN_ENTRY_SYMBOL ("ntx_plugin_entry"), of type
 *   ntx_plugin_entry_fn. The host calls it once after dlopen(RTLD_NOW | RTLD_LOCAL), passing the host
 *   table and a zeroed plugin table whose `size` the host has set to the size it knows. The plugin
 *   fills the members that fit in that size and returns NTX_OK, or a negative ntx_status_t to refuse
 *   the load. No work belongs in static constructors. The host never dlclose()s a plugin that may
 *   still have live state.
 *
 * VERSIONING
 *   NTX_ABI_MAJOR changes only when an existing member changes meaning, type or position: the host
 *   refuses a plugin built for another major. NTX_ABI_MINOR grows when members are appended to a
 *   table or new status codes / enum values are added: the host refuses a plugin whose minor is newer
 *   than its own (the plugin may call members the host lacks). Every table and every struct passed by
 *   pointer begins with `uint32_t size` (its sizeof as the writer knew it). Members are only ever
 *   appended. A reader checks NTX_HAS_MEMBER(ptr, type, member) before touching a member that was
 *   added after 1.0. Status codes are append-only and never reused.
 *
 * HISTORY
 *   1.0  the first stable table.
 *   1.1  TLS over TCP in host sockets: NTX_TRANSPORT_TLS, ntx_socket_opts_t.tls_server_name /
 *        tls_flags / tls_ca_file, NTX_TLS_NO_VERIFY, NTX_E_TLS; ntx_socket_event_t.reason (why a
 *        socket failed); ntx_result_t.status (the response's status code, counted by class in the
 *        report). A 1.0 plugin runs unchanged on a 1.1 host: the host reads only the members that fit
 *        the `size` the plugin wrote, and a 1.0 plugin never sees a TLS socket.
 *   1.2  ntx_plugin_api_t.validate_action: the plugin checks each action's `with` params at planning
 *        (ntx_validate_ctx_t, ntx_problem_t, NTX_PARAM_TEMPLATED, NTX_PROBLEM_ACTION), so a bad param
 *        is a `file:line:col: error:` of `ntx validate` instead of an error of every run of the
 *        action. Optional: a 1.0 / 1.1 plugin's table is too small to hold it, and the host then
 *        checks nothing more than before.
 *   Since 1.2, source only (no table, member or value changed): each hook has a named type
 *        (ntx_plugin_*_fn, ntx_host_*_fn), the status codes are parenthesised, every struct passed by
 *        pointer says who owns it. A plugin built against the 1.0 header still loads (tests/plugins/abi_1_0).
 *   1.3  ntx_host_api_t.post (ntx_host_post_fn, ntx_post_cb): the one host function a plugin's own
 *        thread may call, to hand work to a loop; and the contract is enforced (see THREADING and
 *        ACTIONS): a loop-bound host function called off its loop returns NTX_E_STATE, and every
 *        violation is logged once per plugin and kind and counted in report.json's plugin_violations.
 *        A 1.2 plugin runs unchanged; it only sees the host refuse what the contract always forbade.
 *        NTX_E_NOFILE: a socket could not be opened because the process is out of descriptors
 *        (counted as `nofile`, not `io`); a plugin passes it on as it passes any socket error.
 *   1.4  NTX_E_TRAP: the sandbox a plugin runs in stopped it (a wasm guest trapped: out-of-bounds
 *        memory, unreachable, call stack exhausted, proc_exit); the host fails the guest's actions
 *        with it and re-creates the instance. Counted as `trap`, apart from `internal` (a plugin's
 *        own bug it caught and reported). Only the host sends it; a native plugin has no use for it.
 *   1.5  network policy (config.yaml `network.allow`): a host socket whose address the policy does not
 *        allow ends with NTX_SOCKET_ERROR and status NTX_E_DENIED before any packet is sent (counted
 *        as `denied`; the event's reason names the address and the policy); a plugin passes it on as
 *        it passes any socket error. ntx_host_api_t.connect_allowed (ntx_host_connect_allowed_fn):
 *        a plugin whose library opens its own sockets (curl through fd_watch) asks it before each
 *        connect and fails the action with NTX_E_DENIED when refused. A 1.4 plugin runs unchanged:
 *        its host sockets are checked all the same; only its own sockets are not.
 *        ntx_action_ctx_t.param_flags and NTX_PARAM_SHARED: a param whose bytes are one immutable
 *        buffer shared by every user for the whole run (a file_blob's contents): the plugin may keep
 *        the view instead of a copy, and socket_send queues those bytes without copying them. A 1.4
 *        plugin never reads the member: it copies as before, and nothing else changes.
 *   1.6  ALPN, protocols and foreign bytes (one block, appended):
 *        ntx_socket_opts_t.tls_alpn: the application protocols a TLS socket offers (RFC 7301 wire
 *        format); ntx_socket_event_t.alpn: the one the server selected, on NTX_SOCKET_CONNECTED (so
 *        an HTTP plugin speaks h2 over host-owned TLS); ntx_result_t.protocol: what the action spoke
 *        ("http/1.1", "h2", "h2c", "ftp"...), counted per action in report.json; ntx_result_t
 *        .foreign_bytes_sent / foreign_bytes_received: wire bytes moved on sockets the plugin (or a
 *        library it wraps, e.g. libcurl) owns, added to the run's socket totals. A 1.5 plugin runs
 *        unchanged: its structs are too small to hold the new members, the host offers no ALPN for
 *        it, and the larger event it receives only has members appended.
 *
 * OWNERSHIP (applies everywhere unless a member says otherwise)
 *   - ntx_str_t / ntx_bytes_t are borrowed views, valid only for the duration of the call that
 *     passes them. Whoever allocates frees: the host copies what it keeps, and so must the plugin.
 *   - Handles (ntx_host_t, ntx_loop_t, ntx_action_t) are opaque and owned by the host.
 *   - Pointers a plugin hands to the host as `void *userdata` stay owned by the plugin; the host only
 *     passes them back.
 *
 * THREADING
 *   The host runs one event loop per core (a "loop"). Every user is pinned to one loop. run_action,
 *   on_error and user_release for a user, and every callback of a socket, timer or fd-watch, run on
 *   the loop that owns them. Host functions that take an ntx_loop_t, an ntx_action_t or a socket
 *   must be called on that loop's thread: called from another thread they return NTX_E_STATE and do
 *   nothing (1.3: enforced, and counted as a violation). A thread of the plugin's own hands work to a
 *   loop with host->post (1.3), the only host function it may call besides log, now_ms and strerror.
 *   A plugin call that keeps its loop busy for long (over 100 ms) is reported by the host's watchdog.
 *   init and release run on the host's main thread with no loop
 *   running: there, only log, now_ms and strerror may be called (every socket, timer and watch was
 *   closed before release). Different loops call the same plugin concurrently: plugin-global state
 *   must be read-only after init or protected by the plugin. Keep the host table from init's
 *   ctx->host_api rather than in a global: several hosts may load the same plugin in one process.
 *
 * ACTIONS ARE ASYNCHRONOUS
 *   run_action starts the work and returns at once; it never blocks. Exactly one of
 *   host->action_complete or host->action_fail later ends the action (or a negative return from
 *   run_action, which ends it as that error; log the reason first if it helps). action_complete and
 *   action_fail may be called from inside run_action too. The host never calls back into the plugin
 *   from inside action_complete / action_fail: the user's next step starts on a later turn of the
 *   loop. If the host ends an action first (timeout, user stopped), it calls the plugin's on_error
 *   with the reason and the user's slot; after on_error returns the action handle is dead and the
 *   plugin must not pass it to the host again. Every action ends in exactly one outcome. A handle
 *   carries a generation: ending an action twice, after the host ended it, or with a handle of an
 *   earlier action returns NTX_E_STATE and changes nothing (1.3: counted as a violation). An action
 *   whose end reaches the host after its deadline (its loop was blocked) counts as a timeout.
 *
 * CRASHES
 *   A plugin that kills the process (SIGSEGV, abort, an exception out through a hook) ends the run
 *   with exit code 3, a message naming the plugin and the hook, and, under `ntx run`, a report.json
 *   holding what was counted until the last live snapshot (docs/plugins.md, "When a plugin crashes").
 */
#ifndef NTX_PLUGIN_ABI_H
#define NTX_PLUGIN_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NTX_ABI_MAJOR 1
#define NTX_ABI_MINOR 6

#define NTX_PLUGIN_ENTRY_SYMBOL "ntx_plugin_entry"

/* True when the struct at `ptr` (whose first member is `uint32_t size`) is large enough to hold `member`. */
#define NTX_HAS_MEMBER(ptr, type, member) \
    ((ptr)->size >= offsetof(type, member) + sizeof(((type *)0)->member))

#if defined(_WIN32)
#define NTX_PLUGIN_EXPORT __declspec(dllexport)
#else
#define NTX_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/* ---- status codes: 0 ok, negative errors; append-only, never reused ---------------------------- */
typedef int32_t ntx_status_t;

#define NTX_OK 0
#define NTX_E_INVALID (-1)      /* bad argument or parameter */
#define NTX_E_NOMEM (-2)        /* allocation failed */
#define NTX_E_UNSUPPORTED (-3)  /* call/capability/feature not supported */
#define NTX_E_ABI (-4)          /* ABI major/minor mismatch */
#define NTX_E_VERSION (-5)      /* semver-incompatible plugin version */
#define NTX_E_RESOLVE (-6)      /* host name could not be resolved */
#define NTX_E_CONNECT (-7)      /* connection refused or failed */
#define NTX_E_IO (-8)           /* read/write failed, connection reset */
#define NTX_E_CLOSED (-9)       /* peer closed the connection */
#define NTX_E_TIMEOUT (-10)     /* a deadline passed */
#define NTX_E_CANCELLED (-11)   /* ended by the host (user stopped, run closing) */
#define NTX_E_PROTOCOL (-12)    /* the peer spoke the protocol wrongly (unparsable response...) */
#define NTX_E_LIMIT (-13)       /* a configured limit was exceeded (header/body size...) */
#define NTX_E_DENIED (-14)      /* refused by policy (address not allowed...) */
#define NTX_E_STATE (-15)       /* call not valid in the current state (dead handle...) */
#define NTX_E_STATUS (-16)      /* the server answered, with a failure status (HTTP 5xx...) */
#define NTX_E_INTERNAL (-17)    /* a bug or an exception inside the plugin */
#define NTX_E_TLS (-18)         /* 1.1: TLS handshake failed, certificate not trusted, name mismatch, TLS alert */
#define NTX_E_NOFILE (-19)      /* 1.3: the process ran out of file descriptors (EMFILE/ENFILE): a host limit, not the peer */
#define NTX_E_TRAP (-20)        /* 1.4: the plugin's sandbox stopped it (a wasm trap); the host re-created the instance */

/* ---- basic views -------------------------------------------------------------------------------- */
/* OWNERSHIP: borrowed; valid for the call that passes it. Not NUL-terminated unless stated. */
typedef struct ntx_str_t {
    const char *ptr;
    size_t len;
} ntx_str_t;

/* OWNERSHIP: borrowed; valid for the call that passes it. */
typedef struct ntx_bytes_t {
    const uint8_t *ptr;
    size_t len;
} ntx_bytes_t;

/* OWNERSHIP: borrowed, key and value alike. */
typedef struct ntx_kv_t {
    ntx_str_t key;
    ntx_str_t value;
} ntx_kv_t;

/* ---- opaque handles (OWNERSHIP: host) ------------------------------------------------------------ */
typedef struct ntx_host ntx_host_t;     /* the host's context for one loaded plugin */
typedef struct ntx_loop ntx_loop_t;     /* one event loop (one core) */
typedef struct ntx_action ntx_action_t; /* one in-flight action; dead once ended */
typedef uint64_t ntx_socket_t;          /* 0 is never a valid socket */
typedef uint64_t ntx_timer_t;           /* 0 is never a valid timer */

/* ---- logging ------------------------------------------------------------------------------------ */
typedef enum ntx_log_level_t {
    NTX_LOG_TRACE = 0,
    NTX_LOG_DEBUG = 1,
    NTX_LOG_INFO = 2,
    NTX_LOG_WARN = 3,
    NTX_LOG_ERROR = 4
} ntx_log_level_t;

typedef struct ntx_host_api_t ntx_host_api_t;

/* ---- what the host hands to init ------------------------------------------------------------------ */
/* OWNERSHIP: host; borrowed for the init call, every view in it too (copy config_json to keep it). */
typedef struct ntx_init_ctx_t {
    uint32_t size;
    ntx_str_t component;   /* the component's name in the script */
    ntx_str_t res_dir;     /* absolute path of the resource directory */
    ntx_str_t config_json; /* this component's section of res_dir/resource/config.yaml, as JSON ("{}" if none) */
    uint32_t loop_count;   /* number of loops; loop indices are 0..loop_count-1 */
    const ntx_host_api_t *host_api; /* the same table the entry received */
} ntx_init_ctx_t;

/* ---- what the host hands to run_action ------------------------------------------------------------ */
/* OWNERSHIP: host; borrowed for the run_action call (views and params alike), except the user_data
 * slot, which stays valid for the user's life. */
typedef struct ntx_action_ctx_t {
    uint32_t size;
    uint64_t task_id;
    uint64_t user_id;
    uint32_t action_id;      /* index of the action in the script's actions (stable for the run) */
    ntx_str_t action_name;   /* the script's name for it, e.g. "probe-get" */
    ntx_str_t call;          /* the capability called, e.g. "get" */
    const ntx_kv_t *params;  /* the rendered `with` map; nested maps are flattened as "a.b" keys */
    size_t param_count;
    uint32_t timeout_ms;     /* the host's deadline for this action (0 = none); the host enforces it */
    ntx_loop_t *loop;        /* the loop this user runs on */
    uint32_t loop_index;
    /* Per user and component: a slot the plugin may point at its own per-user state (connections...).
     * The host stores it across actions of the user and hands it to user_release when the user ends.
     * OWNERSHIP: the pointee is the plugin's. */
    void **user_data;
    uint32_t flags;          /* NTX_ACTION_* bits */
    /* 1.5: NTX_PARAM_* bits, one word per param (param_flags[i] for params[i]), or NULL when no param
     * has any. Check NTX_HAS_MEMBER(ctx, ntx_action_ctx_t, param_flags): a host older than 1.5 lacks it. */
    const uint32_t *param_flags;
} ntx_action_ctx_t;

/* 1.5, ntx_action_ctx_t.param_flags: this param's value is one immutable buffer shared by every user
 * (a file_blob's contents, `{{blob.NAME}}` as the whole value): its bytes stay valid and unchanged
 * until the plugin's release returns, so the plugin may keep the view across actions and users
 * instead of copying it. socket_send of those bytes (or any slice of them) queues them without a
 * copy. A value with anything around the blob (`"x{{blob.NAME}}"`) is rendered per user as before. */
#define NTX_PARAM_SHARED 2u

/* The script reads this action's result (save-as): report its fields. Without it a plugin may pass
 * a result without fields (bytes counts only) and skip building them. */
#define NTX_ACTION_WANTS_RESULT 1u

/* ---- what a plugin reports when an action ends ---------------------------------------------------- */
/* OWNERSHIP: plugin; borrowed by the host for the action_complete / action_fail call, which copies it. */
typedef struct ntx_result_t {
    uint32_t size;
    /* Fields of the result, readable in the script through save-as (e.g. status, body, headers.x).
     * The host copies them during action_complete / action_fail. */
    const ntx_kv_t *fields;
    size_t field_count;
    uint64_t bytes_sent;
    uint64_t bytes_received;
    /* 1.1: the protocol's status code of the response this action ended with (HTTP 204, FTP 226), or
     * 0 when there was none (no response, or a protocol without status codes). The host counts the
     * action's outcomes by status class (status / 100: 1xx..5xx) in the report. */
    uint32_t status;
    /* 1.6: the application protocol this action spoke, lower case as ALPN names it where it can
     * ("http/1.1", "h2", "h2c", "ftp"); empty when not said. The host counts ended actions per
     * protocol (report.json's actions[].protocols). OWNERSHIP: borrowed for the call, copied. */
    ntx_str_t protocol;
    /* 1.6: wire bytes this action moved on sockets the host does not own (the plugin's, or those
     * of a library it drives through fd_watch, such as libcurl's): the host adds them to the run's
     * socket totals (report.json's totals.socket_bytes_*), which otherwise count host sockets only.
     * Never count a host socket's bytes here (the host counts those itself). */
    uint64_t foreign_bytes_sent;
    uint64_t foreign_bytes_received;
} ntx_result_t;

/* ---- progress -------------------------------------------------------------------------------------- */
typedef enum ntx_scope_t {
    NTX_SCOPE_PROGRAM = 0,
    NTX_SCOPE_SCENARIO = 1,
    NTX_SCOPE_WORKFLOW = 2,
    NTX_SCOPE_TASK = 3,
    NTX_SCOPE_ACTION = 4
} ntx_scope_t;

/* OWNERSHIP: plugin; borrowed by the host for the progress call, which copies it. */
typedef struct ntx_progress_t {
    uint32_t size;
    int32_t scope;        /* ntx_scope_t */
    double progress;      /* 0..1, or negative when unknown */
    const ntx_kv_t *fields;
    size_t field_count;
} ntx_progress_t;

/* ---- dynamic tasks --------------------------------------------------------------------------------- */
/* A new task for the requesting action's scenario: one action, run by a new (dynamic) user on the
 * same loop, after the current plugin call returns. It reads the requester's resource fields and a
 * copy of its saved variables. Two forms:
 *   template: `template_action` names an action of the script; `params` override (or add to) its `with`.
 *   ad hoc (ABI 1.1): `template_action` empty and `call` one of the requesting plugin's capabilities;
 *            `params` are the whole `with`.
 * Values are copied by the host during the call. */
/* OWNERSHIP: plugin; borrowed by the host for the request_task call. */
typedef struct ntx_task_request_t {
    uint32_t size;
    ntx_str_t template_action; /* name of an action in the script to run as the new task */
    const ntx_kv_t *params;    /* overrides of the template's `with` (may be NULL) */
    size_t param_count;
    /* ABI 1.1 */
    ntx_str_t call;            /* ad hoc: a capability of the requesting plugin */
} ntx_task_request_t;

/* ---- sockets --------------------------------------------------------------------------------------- */
typedef enum ntx_transport_t {
    NTX_TRANSPORT_TCP = 0,
    NTX_TRANSPORT_UDP = 1,
    /* 1.1: TLS over TCP. The host runs the handshake (SNI, certificate and name verification, see
     * ntx_socket_opts_t's tls_* members) before NTX_SOCKET_CONNECTED; send and NTX_SOCKET_DATA carry
     * plaintext; byte counts and rate limits apply to the bytes on the wire. A failed handshake, an
     * untrusted certificate or a name mismatch is NTX_SOCKET_ERROR with NTX_E_TLS. */
    NTX_TRANSPORT_TLS = 2
} ntx_transport_t;

typedef enum ntx_socket_event_kind_t {
    NTX_SOCKET_CONNECTED = 1, /* the connection is up; send may be called */
    NTX_SOCKET_DATA = 2,      /* `data` holds received bytes (borrowed for the callback) */
    NTX_SOCKET_SENT = 3,      /* everything queued by send has been written */
    NTX_SOCKET_CLOSED = 4,    /* the peer closed; the socket is dead after the callback */
    NTX_SOCKET_ERROR = 5      /* `status` says why; the socket is dead after the callback */
} ntx_socket_event_kind_t;

/* OWNERSHIP: host; borrowed for the on_event callback (data and reason included). */
typedef struct ntx_socket_event_t {
    uint32_t size;
    int32_t kind;         /* ntx_socket_event_kind_t */
    ntx_socket_t socket;
    ntx_status_t status;  /* for NTX_SOCKET_ERROR */
    ntx_bytes_t data;     /* for NTX_SOCKET_DATA */
    /* 1.1: for NTX_SOCKET_ERROR, a short English reason (e.g. "certificate verify failed: self-signed
     * certificate"); may be empty. OWNERSHIP: borrowed for the callback. */
    ntx_str_t reason;
    /* 1.6: for NTX_SOCKET_CONNECTED of a TLS socket opened with tls_alpn, the protocol the server
     * selected (e.g. "h2", "http/1.1"), one of those offered; empty when the server selected none
     * (it ignores ALPN) or no ALPN was offered. OWNERSHIP: borrowed for the callback. */
    ntx_str_t alpn;
} ntx_socket_event_t;

typedef void (*ntx_socket_cb)(void *userdata, const ntx_socket_event_t *event);

/* OWNERSHIP: plugin; borrowed by the host for the socket_open call, which copies what it keeps (userdata
 * is handed back as it is). */
typedef struct ntx_socket_opts_t {
    uint32_t size;
    int32_t transport;     /* ntx_transport_t */
    ntx_str_t host;        /* numeric address or name; resolved by the host */
    uint16_t port;
    uint32_t connect_timeout_ms; /* 0 = the host's default */
    ntx_socket_cb on_event;
    void *userdata;        /* OWNERSHIP: plugin */
    /* 1.1, read only for NTX_TRANSPORT_TLS (a 1.0-sized struct gets the defaults):
     * tls_server_name  the name sent as SNI and checked against the certificate (DNS name, or IP
     *                  address, which is matched against the IP SANs and sent without SNI); empty = host.
     * tls_flags        NTX_TLS_* bits; 0 = verify the certificate chain and the name (the default).
     * tls_ca_file      a PEM file of trusted CAs (NUL-free path); empty = the system's trust store.
     * OWNERSHIP: borrowed; the host copies what it keeps during socket_open. The host prepares one TLS
     * context per loop and per (verification, CA file), not per connection, and resumes the latest
     * session of the same target (server name, host, port) when it can. */
    ntx_str_t tls_server_name;
    uint32_t tls_flags;
    ntx_str_t tls_ca_file;
    /* 1.6, read only for NTX_TRANSPORT_TLS: the application protocols to offer by ALPN (RFC 7301),
     * most preferred first, in the extension's wire format: each name preceded by its length in one
     * byte, e.g. "\x02h2\x08http/1.1" (len 12). Empty = no ALPN extension (as before 1.6). A
     * malformed list (a zero length, a name running past the end) is refused with NTX_E_INVALID. The
     * selection arrives with NTX_SOCKET_CONNECTED (ntx_socket_event_t.alpn). A server that speaks
     * none of them either selects nothing (CONNECTED with alpn empty) or ends the handshake with the
     * no_application_protocol alert, which the host reports as NTX_SOCKET_ERROR with NTX_E_PROTOCOL.
     * OWNERSHIP: borrowed; the host copies it during socket_open. */
    ntx_str_t tls_alpn;
} ntx_socket_opts_t;

/* 1.1: tls_flags bits. NO_VERIFY accepts any certificate and any name (test servers only). */
#define NTX_TLS_NO_VERIFY 1u

/* Rate limits enforced by the host on one socket: at most `bytes` per `per_ms` milliseconds in each
 * direction (0 = unlimited). Sends are queued and written as the budget allows; reads pause. */
/* OWNERSHIP: plugin; borrowed by the host for the socket_set_rate call, which copies it. */
typedef struct ntx_rate_t {
    uint32_t size;
    uint64_t send_bytes;
    uint64_t recv_bytes;
    uint32_t per_ms;
} ntx_rate_t;

/* ---- timers and fd-watch --------------------------------------------------------------------------- */
typedef void (*ntx_timer_cb)(void *userdata, ntx_timer_t timer);

#define NTX_FD_READ 1u
#define NTX_FD_WRITE 2u
/* `events` is the subset of NTX_FD_READ|NTX_FD_WRITE that is ready. A watch stays armed until
 * fd_unwatch (level-triggered, like poll). */
typedef void (*ntx_fd_cb)(void *userdata, int fd, uint32_t events);

/* The functions the host lends, one type each (what each does: at its member below). */
typedef void (*ntx_host_log_fn)(ntx_host_t *host, const ntx_action_t *action, int32_t level, ntx_str_t message);
typedef ntx_status_t (*ntx_host_action_complete_fn)(ntx_host_t *host, ntx_action_t *action, const ntx_result_t *result);
typedef ntx_status_t (*ntx_host_action_fail_fn)(ntx_host_t *host, ntx_action_t *action, ntx_status_t code,
                                                ntx_str_t reason, const ntx_result_t *result);
typedef ntx_status_t (*ntx_host_progress_fn)(ntx_host_t *host, const ntx_action_t *action,
                                             const ntx_progress_t *progress);
typedef ntx_status_t (*ntx_host_request_task_fn)(ntx_host_t *host, ntx_action_t *action,
                                                 const ntx_task_request_t *request, uint64_t *task_id);
typedef ntx_status_t (*ntx_host_timer_schedule_fn)(ntx_host_t *host, ntx_loop_t *loop, uint64_t delay_ms,
                                                   ntx_timer_cb cb, void *userdata, ntx_timer_t *timer);
typedef ntx_status_t (*ntx_host_timer_cancel_fn)(ntx_host_t *host, ntx_loop_t *loop, ntx_timer_t timer);
typedef ntx_status_t (*ntx_host_socket_open_fn)(ntx_host_t *host, ntx_loop_t *loop, const ntx_socket_opts_t *opts,
                                                ntx_socket_t *socket);
typedef ntx_status_t (*ntx_host_socket_send_fn)(ntx_host_t *host, ntx_socket_t socket, ntx_bytes_t data);
typedef ntx_status_t (*ntx_host_socket_close_fn)(ntx_host_t *host, ntx_socket_t socket);
typedef ntx_status_t (*ntx_host_socket_set_rate_fn)(ntx_host_t *host, ntx_socket_t socket, const ntx_rate_t *rate);
typedef ntx_status_t (*ntx_host_fd_watch_fn)(ntx_host_t *host, ntx_loop_t *loop, int fd, uint32_t events, ntx_fd_cb cb,
                                             void *userdata);
typedef ntx_status_t (*ntx_host_fd_unwatch_fn)(ntx_host_t *host, ntx_loop_t *loop, int fd);
typedef uint64_t (*ntx_host_now_ms_fn)(ntx_host_t *host);
typedef const char *(*ntx_host_strerror_fn)(ntx_status_t status);
/* 1.3: what post runs on the loop's thread. */
typedef void (*ntx_post_cb)(void *userdata);
typedef ntx_status_t (*ntx_host_post_fn)(ntx_host_t *host, ntx_loop_t *loop, ntx_post_cb cb, void *userdata);
/* 1.5: whether the run's network policy allows a connect (see ntx_host_api_t.connect_allowed). */
typedef ntx_status_t (*ntx_host_connect_allowed_fn)(ntx_host_t *host, ntx_str_t name, ntx_str_t address, uint16_t port);

/* ---- the table the host lends -------------------------------------------------------------------------
 * OWNERSHIP: host; valid from the entry call until after release returns. */
struct ntx_host_api_t {
    uint32_t size;
    uint32_t abi_major;
    uint32_t abi_minor;

    /* Message with task/user/action tags taken from `action` (may be NULL). */
    ntx_host_log_fn log;

    /* Ends an action with success. `result` may be NULL. */
    ntx_host_action_complete_fn action_complete;
    /* Ends an action with an error `code` (< 0) and a short reason. `result` may be NULL. */
    ntx_host_action_fail_fn action_fail;

    /* Progress emission for the run's progress bus. */
    ntx_host_progress_fn progress;

    /* Asks the scheduler for a new task (see ntx_task_request_t). `action` must be live (called from
     * run_action or while the action runs, on its loop). Validated against config.yaml's dynamic-tasks
     * limits (max-concurrent, rate). NTX_OK: *task_id holds the new task's id and the task starts
     * on the loop's next turn. NTX_E_LIMIT: refused by a limit (counted); NTX_E_INVALID: no such
     * action or capability; NTX_E_STATE: `action` is not live; NTX_E_CANCELLED: the run is ending. */
    ntx_host_request_task_fn request_task;

    /* One-shot timer on `loop`; the callback runs once unless cancelled first. */
    ntx_host_timer_schedule_fn timer_schedule;
    /* Cancelling a timer that already fired or was cancelled is a no-op returning NTX_OK. */
    ntx_host_timer_cancel_fn timer_cancel;

    /* Opens a socket on `loop`; connecting is asynchronous (NTX_SOCKET_CONNECTED or NTX_SOCKET_ERROR
     * follows, never inside this call; for NTX_TRANSPORT_TLS, CONNECTED comes after the handshake and
     * the certificate checks, and connect_timeout_ms covers both). The host reads continuously and
     * delivers NTX_SOCKET_DATA. Bytes sent before CONNECTED are queued. */
    ntx_host_socket_open_fn socket_open;
    /* Queues bytes (copied by the host) for sending. */
    ntx_host_socket_send_fn socket_send;
    /* Closes the socket; no callback follows, the socket id is dead. */
    ntx_host_socket_close_fn socket_close;
    /* Sets the socket's rate limit (see ntx_rate_t). */
    ntx_host_socket_set_rate_fn socket_set_rate;

    /* Watches a descriptor the plugin (or a library it wraps) owns; `events` as NTX_FD_*.
     * Calling it again for the same fd replaces the events and callback. */
    ntx_host_fd_watch_fn fd_watch;
    ntx_host_fd_unwatch_fn fd_unwatch;

    /* Milliseconds on the host's monotonic clock. */
    ntx_host_now_ms_fn now_ms;

    /* Static English text for a status code; never NULL. */
    ntx_host_strerror_fn strerror;

    /* 1.3: hands cb(userdata) to `loop`'s thread. Thread-safe: any thread may call it (a thread the
     * plugin or a library it wraps runs), and it never blocks on the loop. NTX_OK: cb runs once, on
     * the loop's thread, on a later turn, where the loop-bound host functions may be called (e.g.
     * action_complete for an action of a user of that loop, if it is still live). NTX_E_STATE:
     * `loop` is not one of the run's loops (or no loop runs: init, release); NTX_E_CANCELLED: the run
     * is closing; NTX_E_INVALID: cb is NULL. In each error case cb is never called. A post accepted
     * while the loop stops may be dropped without running: what userdata owns, the plugin frees in
     * release if cb never ran. OWNERSHIP: userdata stays the plugin's. A host older than 1.3 lacks it:
     * check NTX_HAS_MEMBER(host_api, ntx_host_api_t, post). */
    ntx_host_post_fn post;

    /* 1.5: whether config.yaml's `network.allow` lets the plugin connect to `address` (an IPv4 or IPv6
     * literal, e.g. "127.0.0.1", "::1") on `port`, reached by the host `name` the script gave (may be
     * empty, or the address itself). NTX_OK: allowed (always, when the run has no network.allow);
     * NTX_E_DENIED: refused: open nothing, and fail the action with NTX_E_DENIED; NTX_E_INVALID:
     * port 0, or an address that is not a literal and no name entry allows `name`. Host sockets are
     * checked by the host itself: only a plugin that opens its own sockets (a library that does its
     * own I/O, watched with fd_watch) needs this, before each connect. Thread-safe (the policy is
     * read-only); callable from init on. OWNERSHIP: name and address are borrowed for the call. A
     * host older than 1.5 lacks it: check NTX_HAS_MEMBER(host_api, ntx_host_api_t, connect_allowed). */
    ntx_host_connect_allowed_fn connect_allowed;
};

/* ---- 1.2: checking an action's params at planning (validate_action) ---------------------------------- */

/* ntx_validate_ctx_t.param_flags bits. TEMPLATED: the value holds a `{{...}}` template, rendered only
 * at run time; `value` is then the template's source (e.g. "http://{{resource.host}}/cfg"), so its
 * literal parts can still be checked, but what only the rendering decides must not be rejected. */
#define NTX_PARAM_TEMPLATED 1u

/* ntx_problem_t.param_index for a problem of the action as a whole (a missing param, two params that
 * exclude each other): the host points at the action's call. */
#define NTX_PROBLEM_ACTION (-1)

/* One problem found by validate_action. OWNERSHIP: borrowed for the report call; the host copies it. */
typedef struct ntx_problem_t {
    uint32_t size;
    int32_t param_index;   /* index into ntx_validate_ctx_t.params, or NTX_PROBLEM_ACTION */
    ntx_str_t message;     /* one line of English, without the plugin's prefix or the location */
    ntx_str_t hint;        /* may be empty, e.g. "did you mean 'headers.Accept'?" */
} ntx_problem_t;

typedef void (*ntx_problem_cb)(void *report_ctx, const ntx_problem_t *problem);

/* What the host hands validate_action: one action of the script, as written.
 * OWNERSHIP: borrowed for the call, every view and array alike. */
typedef struct ntx_validate_ctx_t {
    uint32_t size;
    ntx_str_t component;     /* the component's name in the script */
    ntx_str_t action_name;   /* the script's name for the action */
    ntx_str_t call;          /* the capability called; always one the plugin declares */
    const ntx_kv_t *params;  /* the action's `with`, flattened as for run_action ("headers.Accept") */
    size_t param_count;
    const uint32_t *param_flags; /* param_count NTX_PARAM_* words, parallel to params */
    ntx_problem_cb report;   /* the host's: call once per problem, only during validate_action */
    void *report_ctx;        /* pass back to report as it is */
} ntx_validate_ctx_t;

/* The hooks the plugin implements, one type each (what each does: at its member below). */
typedef ntx_status_t (*ntx_plugin_init_fn)(ntx_host_t *host, const ntx_init_ctx_t *ctx, void **plugin_state);
typedef ntx_status_t (*ntx_plugin_run_action_fn)(void *plugin_state, ntx_action_t *action, const ntx_action_ctx_t *ctx);
typedef void (*ntx_plugin_on_error_fn)(void *plugin_state, ntx_action_t *action, void **user_data, ntx_status_t code,
                                       ntx_str_t reason);
typedef void (*ntx_plugin_user_release_fn)(void *plugin_state, uint64_t user_id, void *user_data);
typedef void (*ntx_plugin_release_fn)(void *plugin_state);
typedef ntx_status_t (*ntx_plugin_validate_action_fn)(const ntx_validate_ctx_t *ctx);

/* ---- the table the plugin fills ---------------------------------------------------------------------
 * The host zeroes it and sets `size`; the plugin sets abi_major/abi_minor to the NTX_ABI_* it was
 * built with and fills the members that fit. Strings it points to must stay valid while the plugin
 * is loaded (string literals are the usual choice).
 * OWNERSHIP: host (the table); plugin (the strings and the capabilities array it points to). */
typedef struct ntx_plugin_api_t {
    uint32_t size;
    uint32_t abi_major;
    uint32_t abi_minor;
    const char *name;                 /* NUL-terminated, e.g. "http" */
    const char *version;              /* semver, NUL-terminated, e.g. "0.2.1" */
    const char *const *capabilities;  /* the calls run_action accepts, e.g. {"get","post"} */
    size_t capability_count;

    /* Once per run, before any action. *plugin_state is the plugin's (NULL allowed). */
    ntx_plugin_init_fn init;

    /* Starts an action (see ACTIONS ARE ASYNCHRONOUS). NTX_OK: the outcome comes later through the
     * host table. Negative: the action ended here as that error, and the host must not be told again. */
    ntx_plugin_run_action_fn run_action;

    /* Required. The host ended `action` first (code NTX_E_TIMEOUT or NTX_E_CANCELLED). The plugin
     * stops the work (cancels timers, closes or parks sockets) and forgets the handle. `user_data` is
     * the same per-user slot run_action got (ntx_action_ctx_t.user_data), so the plugin finds its state. */
    ntx_plugin_on_error_fn on_error;

    /* Optional. A user ended; free what user_data points at. Not called for users whose slot stayed NULL. */
    ntx_plugin_user_release_fn user_release;

    /* Once, after every loop stopped and every user was released. */
    ntx_plugin_release_fn release;

    /* 1.2, optional (NULL: the host checks nothing of the params). Checks one action's params before
     * anything runs, so that `ntx validate` reports a bad param where the script writes it. The host
     * calls it at planning, on its main thread, once per action of the script (never per request),
     * after the entry and before init, and also when init never follows (`ntx validate`). It is a
     * pure function of `ctx`: no plugin state exists, and it must not call the host table (not even
     * log) nor keep anything after it returns; calling it twice with the same ctx reports the same
     * problems. It reports every problem it finds, each through ctx->report (message and optional
     * hint; the host adds the file:line:col of the param's value, or of the action's call), then
     * returns NTX_OK when it reported nothing, NTX_E_INVALID when it reported at least one problem.
     * Another status (NTX_E_NOMEM, NTX_E_INTERNAL...) says it could not check: the host reports it
     * as a planning error naming the plugin. Each is an error (exit 2): a run does not start. A
     * templated value (NTX_PARAM_TEMPLATED) is checked only as far as its literal parts decide. */
    ntx_plugin_validate_action_fn validate_action;
} ntx_plugin_api_t;

typedef ntx_status_t (*ntx_plugin_entry_fn)(const ntx_host_api_t *host_api, ntx_plugin_api_t *plugin_api);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* NTX_PLUGIN_ABI_H */
