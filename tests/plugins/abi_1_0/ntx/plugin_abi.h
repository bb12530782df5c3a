/*
 * ntx plugin ABI, version 1.
 *
 * The one header a protocol plugin includes. Plain C99, standard headers only, so a plugin can be
 * written in C, C++, Rust, or compiled to wasm and loaded through a loader that implements this
 * contract.
 *
 * NAMES
 *   ntx_*_t          types
 *   ntx_plugin_*     what the plugin implements (filled into ntx_plugin_api_t)
 *   ntx_host_*       what the host lends (ntx_host_api_t)
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
 *   must be called on that loop's thread. init and release run on the host's main thread with no loop
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
 *   plugin must not pass it to the host again. Every action ends in exactly one outcome.
 */
#ifndef NTX_PLUGIN_ABI_H
#define NTX_PLUGIN_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NTX_ABI_MAJOR 1
#define NTX_ABI_MINOR 0

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
#define NTX_E_INVALID -1      /* bad argument or parameter */
#define NTX_E_NOMEM -2        /* allocation failed */
#define NTX_E_UNSUPPORTED -3  /* call/capability/feature not supported */
#define NTX_E_ABI -4          /* ABI major/minor mismatch */
#define NTX_E_VERSION -5      /* semver-incompatible plugin version */
#define NTX_E_RESOLVE -6      /* host name could not be resolved */
#define NTX_E_CONNECT -7      /* connection refused or failed */
#define NTX_E_IO -8           /* read/write failed, connection reset */
#define NTX_E_CLOSED -9       /* peer closed the connection */
#define NTX_E_TIMEOUT -10     /* a deadline passed */
#define NTX_E_CANCELLED -11   /* ended by the host (user stopped, run closing) */
#define NTX_E_PROTOCOL -12    /* the peer spoke the protocol wrongly (unparsable response...) */
#define NTX_E_LIMIT -13       /* a configured limit was exceeded (header/body size...) */
#define NTX_E_DENIED -14      /* refused by policy (address not allowed...) */
#define NTX_E_STATE -15       /* call not valid in the current state (dead handle...) */
#define NTX_E_STATUS -16      /* the server answered, with a failure status (HTTP 5xx...) */
#define NTX_E_INTERNAL -17    /* a bug or an exception inside the plugin */

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
typedef struct ntx_init_ctx_t {
    uint32_t size;
    ntx_str_t component;   /* the component's name in the script */
    ntx_str_t res_dir;     /* absolute path of the resource directory */
    ntx_str_t config_json; /* this component's section of res_dir/resource/config.yaml, as JSON ("{}" if none) */
    uint32_t loop_count;   /* number of loops; loop indices are 0..loop_count-1 */
    const ntx_host_api_t *host_api; /* the same table the entry received */
} ntx_init_ctx_t;

/* ---- what the host hands to run_action ------------------------------------------------------------ */
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
} ntx_action_ctx_t;

/* The script reads this action's result (save-as): report its fields. Without it a plugin may pass
 * a result without fields (bytes counts only) and skip building them. */
#define NTX_ACTION_WANTS_RESULT 1u

/* ---- what a plugin reports when an action ends ---------------------------------------------------- */
typedef struct ntx_result_t {
    uint32_t size;
    /* Fields of the result, readable in the script through save-as (e.g. status, body, headers.x).
     * The host copies them during action_complete / action_fail. */
    const ntx_kv_t *fields;
    size_t field_count;
    uint64_t bytes_sent;
    uint64_t bytes_received;
} ntx_result_t;

/* ---- progress -------------------------------------------------------------------------------------- */
typedef enum ntx_scope_t {
    NTX_SCOPE_PROGRAM = 0,
    NTX_SCOPE_SCENARIO = 1,
    NTX_SCOPE_WORKFLOW = 2,
    NTX_SCOPE_TASK = 3,
    NTX_SCOPE_ACTION = 4
} ntx_scope_t;

typedef struct ntx_progress_t {
    uint32_t size;
    int32_t scope;        /* ntx_scope_t */
    double progress;      /* 0..1, or negative when unknown */
    const ntx_kv_t *fields;
    size_t field_count;
} ntx_progress_t;

/* ---- dynamic tasks --------------------------------------------------------------------------------- */
typedef struct ntx_task_request_t {
    uint32_t size;
    ntx_str_t template_action; /* name of an action in the script to run as the new task */
    const ntx_kv_t *params;    /* overrides of the template's `with` (may be NULL) */
    size_t param_count;
} ntx_task_request_t;

/* ---- sockets --------------------------------------------------------------------------------------- */
typedef enum ntx_transport_t {
    NTX_TRANSPORT_TCP = 0,
    NTX_TRANSPORT_UDP = 1
} ntx_transport_t;

typedef enum ntx_socket_event_kind_t {
    NTX_SOCKET_CONNECTED = 1, /* the connection is up; send may be called */
    NTX_SOCKET_DATA = 2,      /* `data` holds received bytes (borrowed for the callback) */
    NTX_SOCKET_SENT = 3,      /* everything queued by send has been written */
    NTX_SOCKET_CLOSED = 4,    /* the peer closed; the socket is dead after the callback */
    NTX_SOCKET_ERROR = 5      /* `status` says why; the socket is dead after the callback */
} ntx_socket_event_kind_t;

typedef struct ntx_socket_event_t {
    uint32_t size;
    int32_t kind;         /* ntx_socket_event_kind_t */
    ntx_socket_t socket;
    ntx_status_t status;  /* for NTX_SOCKET_ERROR */
    ntx_bytes_t data;     /* for NTX_SOCKET_DATA */
} ntx_socket_event_t;

typedef void (*ntx_socket_cb)(void *userdata, const ntx_socket_event_t *event);

typedef struct ntx_socket_opts_t {
    uint32_t size;
    int32_t transport;     /* ntx_transport_t */
    ntx_str_t host;        /* numeric address or name; resolved by the host */
    uint16_t port;
    uint32_t connect_timeout_ms; /* 0 = the host's default */
    ntx_socket_cb on_event;
    void *userdata;        /* OWNERSHIP: plugin */
} ntx_socket_opts_t;

/* Rate limits enforced by the host on one socket: at most `bytes` per `per_ms` milliseconds in each
 * direction (0 = unlimited). Sends are queued and written as the budget allows; reads pause. */
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

/* ---- the table the host lends -------------------------------------------------------------------------
 * OWNERSHIP: host; valid from the entry call until after release returns. */
struct ntx_host_api_t {
    uint32_t size;
    uint32_t abi_major;
    uint32_t abi_minor;

    /* Message with task/user/action tags taken from `action` (may be NULL). */
    void (*log)(ntx_host_t *host, const ntx_action_t *action, int32_t level, ntx_str_t message);

    /* Ends an action with success. `result` may be NULL. */
    ntx_status_t (*action_complete)(ntx_host_t *host, ntx_action_t *action, const ntx_result_t *result);
    /* Ends an action with an error `code` (< 0) and a short reason. `result` may be NULL. */
    ntx_status_t (*action_fail)(ntx_host_t *host, ntx_action_t *action, ntx_status_t code,
                                ntx_str_t reason, const ntx_result_t *result);

    /* Progress emission for the run's progress bus. */
    ntx_status_t (*progress)(ntx_host_t *host, const ntx_action_t *action, const ntx_progress_t *progress);

    /* Asks the scheduler for a new task for the action's user; validated against user and rate limits.
     * On success *task_id holds the new task's id. */
    ntx_status_t (*request_task)(ntx_host_t *host, ntx_action_t *action, const ntx_task_request_t *request,
                                 uint64_t *task_id);

    /* One-shot timer on `loop`; the callback runs once unless cancelled first. */
    ntx_status_t (*timer_schedule)(ntx_host_t *host, ntx_loop_t *loop, uint64_t delay_ms, ntx_timer_cb cb,
                                   void *userdata, ntx_timer_t *timer);
    /* Cancelling a timer that already fired or was cancelled is a no-op returning NTX_OK. */
    ntx_status_t (*timer_cancel)(ntx_host_t *host, ntx_loop_t *loop, ntx_timer_t timer);

    /* Opens a socket on `loop`; connecting is asynchronous (NTX_SOCKET_CONNECTED or NTX_SOCKET_ERROR
     * follows, never inside this call). The host reads continuously and delivers NTX_SOCKET_DATA. */
    ntx_status_t (*socket_open)(ntx_host_t *host, ntx_loop_t *loop, const ntx_socket_opts_t *opts,
                                ntx_socket_t *socket);
    /* Queues bytes (copied by the host) for sending. */
    ntx_status_t (*socket_send)(ntx_host_t *host, ntx_socket_t socket, ntx_bytes_t data);
    /* Closes the socket; no callback follows, the socket id is dead. */
    ntx_status_t (*socket_close)(ntx_host_t *host, ntx_socket_t socket);
    /* Sets the socket's rate limit (see ntx_rate_t). */
    ntx_status_t (*socket_set_rate)(ntx_host_t *host, ntx_socket_t socket, const ntx_rate_t *rate);

    /* Watches a descriptor the plugin (or a library it wraps) owns; `events` as NTX_FD_*.
     * Calling it again for the same fd replaces the events and callback. */
    ntx_status_t (*fd_watch)(ntx_host_t *host, ntx_loop_t *loop, int fd, uint32_t events, ntx_fd_cb cb,
                             void *userdata);
    ntx_status_t (*fd_unwatch)(ntx_host_t *host, ntx_loop_t *loop, int fd);

    /* Milliseconds on the host's monotonic clock. */
    uint64_t (*now_ms)(ntx_host_t *host);

    /* Static English text for a status code; never NULL. */
    const char *(*strerror)(ntx_status_t status);
};

/* ---- the table the plugin fills ---------------------------------------------------------------------
 * The host zeroes it and sets `size`; the plugin sets abi_major/abi_minor to the NTX_ABI_* it was
 * built with and fills the members that fit. Strings it points to must stay valid while the plugin
 * is loaded (string literals are the usual choice). */
typedef struct ntx_plugin_api_t {
    uint32_t size;
    uint32_t abi_major;
    uint32_t abi_minor;
    const char *name;                 /* NUL-terminated, e.g. "http" */
    const char *version;              /* semver, NUL-terminated, e.g. "0.2.1" */
    const char *const *capabilities;  /* the calls run_action accepts, e.g. {"get","post"} */
    size_t capability_count;

    /* Once per run, before any action. *plugin_state is the plugin's (NULL allowed). */
    ntx_status_t (*init)(ntx_host_t *host, const ntx_init_ctx_t *ctx, void **plugin_state);

    /* Starts an action (see ACTIONS ARE ASYNCHRONOUS). NTX_OK: the outcome comes later through the
     * host table. Negative: the action ended here as that error, and the host must not be told again. */
    ntx_status_t (*run_action)(void *plugin_state, ntx_action_t *action, const ntx_action_ctx_t *ctx);

    /* Required. The host ended `action` first (code NTX_E_TIMEOUT or NTX_E_CANCELLED). The plugin
     * stops the work (cancels timers, closes or parks sockets) and forgets the handle. `user_data` is
     * the same per-user slot run_action got (ntx_action_ctx_t.user_data), so the plugin finds its state. */
    void (*on_error)(void *plugin_state, ntx_action_t *action, void **user_data, ntx_status_t code,
                     ntx_str_t reason);

    /* Optional. A user ended; free what user_data points at. Not called for users whose slot stayed NULL. */
    void (*user_release)(void *plugin_state, uint64_t user_id, void *user_data);

    /* Once, after every loop stopped and every user was released. */
    void (*release)(void *plugin_state);
} ntx_plugin_api_t;

typedef ntx_status_t (*ntx_plugin_entry_fn)(const ntx_host_api_t *host_api, ntx_plugin_api_t *plugin_api);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* NTX_PLUGIN_ABI_H */
