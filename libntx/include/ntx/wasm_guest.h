/*
 * ntx wasm guest contract, version 1.0 (mirrors plugin ABI 1.2).
 *
 * The header a protocol plugin compiled to WebAssembly (wasm32, a core module, not a component)
 * includes instead of filling an ntx_plugin_api_t. The data types, status codes and enums are
 * plugin_abi.h's own, laid out as wasm32 lays them out (pointers and size_t are 32 bits; the host
 * checks the same offsets as the _Static_asserts below). What changes is how functions cross:
 *
 *   the plugin's hooks  are EXPORTS of the module with fixed names (ntx_init, ntx_run_action...);
 *   the host's table    is IMPORTS from module "ntx" (ntx_log, ntx_action_complete...), declared
 *                       below with the same arguments as ntx_host_api_t's members, minus the
 *                       ntx_host_t* (a module is loaded by one host).
 *
 * BUILD (Debian's clang, wasi-libc):
 *   clang --target=wasm32-wasi --sysroot=/usr -O2 -mexec-model=reactor -o my_plugin.wasm my_plugin.c
 * One .c file defines NTX_WASM_GUEST_IMPLEMENTATION before including this header: it then provides
 * the exports the host needs besides your hooks (ntx_abi_version, the allocator pair, the socket and
 * timer dispatchers). See docs/plugins-wasm.md and examples/wasm-echo/.
 *
 * EXPORTS (the ones marked * are required; the host refuses a module missing one, naming it)
 *   * ntx_abi_version() -> i32                 NTX_WASM_ABI_VERSION the module was built with
 *   * ntx_describe() -> const ntx_wasm_plugin_t *   name, version, capabilities (read once at load)
 *   * ntx_alloc(size) -> void *, ntx_free(p)    how the host places strings and structs in memory
 *   * ntx_init(const ntx_init_ctx_t *) -> ntx_status_t     once per instance, before any action;
 *                                              ctx->host_api is NULL (call the imports instead)
 *   * ntx_run_action(ntx_action_t *, const ntx_action_ctx_t *) -> ntx_status_t
 *   * ntx_on_error(ntx_action_t *, void **user_data, ntx_status_t code, const char *reason, size_t len)
 *   * ntx_release()
 *     ntx_user_release(uint64_t user_id, void *user_data)
 *     ntx_validate_action(const ntx_validate_ctx_t *) -> ntx_status_t   (report through
 *                                              ntx_report_problem(ctx->report_ctx, problem))
 *     ntx_on_socket(cb, userdata, event) / ntx_on_timer(cb, userdata, timer): dispatchers, required
 *                                              only by a module that imports socket_open / timer_schedule
 *
 * INSTANCES
 *   The host creates one instance of the module per loop, and calls ntx_init in each: module-global
 *   state is per loop, so a guest needs no locks. ntx_action_t and ntx_loop_t pointers are opaque
 *   handles (never addresses in your memory). A trap (unreachable, out-of-bounds access, stack
 *   exhaustion, proc_exit, a pointer outside the memory passed to an import) or a call that runs past
 *   its instruction budget ends that loop's instance: the actions it held fail (NTX_E_TRAP for a
 *   trap, NTX_E_LIMIT for the budget), its sockets close, its timers are cancelled, every user's
 *   slot is forgotten, and a fresh instance (ntx_init again) serves the next action.
 *
 * WASI
 *   The host implements a minimal wasi_snapshot_preview1 so that wasi-libc links: fd_write to
 *   fd 1/2 logs, clock_time_get, random_get, empty args/environ, proc_exit (a trap); the rest
 *   return ENOSYS (52). Files, sockets and threads are not there: use the ntx imports.
 */
#ifndef NTX_WASM_GUEST_H
#define NTX_WASM_GUEST_H

#include <ntx/plugin_abi.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NTX_WASM_ABI_MAJOR 1
#define NTX_WASM_ABI_MINOR 0
#define NTX_WASM_ABI_VERSION ((NTX_WASM_ABI_MAJOR << 16) | NTX_WASM_ABI_MINOR)

/* What ntx_describe returns: the static part of ntx_plugin_api_t. OWNERSHIP: the module's, valid
 * for the instance's life (static data is the usual choice). */
typedef struct ntx_wasm_plugin_t {
    uint32_t size;                   /* sizeof(ntx_wasm_plugin_t) */
    uint32_t abi_major;              /* NTX_ABI_MAJOR / NTX_ABI_MINOR of plugin_abi.h, as for a .so */
    uint32_t abi_minor;
    const char *name;                /* NUL-terminated */
    const char *version;             /* semver, NUL-terminated */
    const char *const *capabilities;
    uint32_t capability_count;
} ntx_wasm_plugin_t;

#if defined(__wasm__)
#define NTX_WASM_EXPORT(name) __attribute__((export_name(#name))) __attribute__((used))
#define NTX_WASM_IMPORT(name) __attribute__((import_module("ntx"), import_name(#name)))
#else
#define NTX_WASM_EXPORT(name)
#define NTX_WASM_IMPORT(name)
#endif

/* ---- imports: the host table ---------------------------------------------------------------------- */
NTX_WASM_IMPORT(log) void ntx_log(const ntx_action_t *action, int32_t level, const char *msg, size_t len);
NTX_WASM_IMPORT(now_ms) uint64_t ntx_now_ms(void);
NTX_WASM_IMPORT(action_complete) ntx_status_t ntx_action_complete(ntx_action_t *action, const ntx_result_t *result);
NTX_WASM_IMPORT(action_fail)
ntx_status_t ntx_action_fail(ntx_action_t *action, ntx_status_t code, const char *reason, size_t len,
                             const ntx_result_t *result);
NTX_WASM_IMPORT(progress) ntx_status_t ntx_progress(const ntx_action_t *action, const ntx_progress_t *progress);
NTX_WASM_IMPORT(request_task)
ntx_status_t ntx_request_task(ntx_action_t *action, const ntx_task_request_t *request, uint64_t *task_id);
/* `cb` is a function of this module (a table index in wasm32), called back through ntx_on_timer. */
NTX_WASM_IMPORT(timer_schedule)
ntx_status_t ntx_timer_schedule(ntx_loop_t *loop, uint64_t delay_ms, ntx_timer_cb cb, void *userdata, ntx_timer_t *timer);
NTX_WASM_IMPORT(timer_cancel) ntx_status_t ntx_timer_cancel(ntx_loop_t *loop, ntx_timer_t timer);
/* opts->on_event is called back through ntx_on_socket. */
NTX_WASM_IMPORT(socket_open)
ntx_status_t ntx_socket_open(ntx_loop_t *loop, const ntx_socket_opts_t *opts, ntx_socket_t *socket);
NTX_WASM_IMPORT(socket_send) ntx_status_t ntx_socket_send(ntx_socket_t socket, const uint8_t *data, size_t len);
NTX_WASM_IMPORT(socket_close) ntx_status_t ntx_socket_close(ntx_socket_t socket);
NTX_WASM_IMPORT(socket_set_rate) ntx_status_t ntx_socket_set_rate(ntx_socket_t socket, const ntx_rate_t *rate);
/* validate_action's ctx->report, as an import: pass ctx->report_ctx back as it is. */
NTX_WASM_IMPORT(report_problem) void ntx_report_problem(void *report_ctx, const ntx_problem_t *problem);

/* ---- the layout the host reads (wasm32) --------------------------------------------------------------- */
#if defined(__wasm32__)
/* C99 has no _Static_assert: an array of negative size stops the build on a mismatch. */
#define NTX_WASM_CAT_(a, b) a##b
#define NTX_WASM_CAT(a, b) NTX_WASM_CAT_(a, b)
#define NTX_WASM_LAYOUT(type, member, offset) \
    typedef char NTX_WASM_CAT(ntx_wasm_layout_, __LINE__)[offsetof(type, member) == (offset) ? 1 : -1]
NTX_WASM_LAYOUT(ntx_str_t, len, 4);
NTX_WASM_LAYOUT(ntx_kv_t, value, 8);
NTX_WASM_LAYOUT(ntx_init_ctx_t, component, 4);
NTX_WASM_LAYOUT(ntx_init_ctx_t, res_dir, 12);
NTX_WASM_LAYOUT(ntx_init_ctx_t, config_json, 20);
NTX_WASM_LAYOUT(ntx_init_ctx_t, loop_count, 28);
NTX_WASM_LAYOUT(ntx_init_ctx_t, host_api, 32);
NTX_WASM_LAYOUT(ntx_action_ctx_t, task_id, 8);
NTX_WASM_LAYOUT(ntx_action_ctx_t, user_id, 16);
NTX_WASM_LAYOUT(ntx_action_ctx_t, action_id, 24);
NTX_WASM_LAYOUT(ntx_action_ctx_t, action_name, 28);
NTX_WASM_LAYOUT(ntx_action_ctx_t, call, 36);
NTX_WASM_LAYOUT(ntx_action_ctx_t, params, 44);
NTX_WASM_LAYOUT(ntx_action_ctx_t, param_count, 48);
NTX_WASM_LAYOUT(ntx_action_ctx_t, timeout_ms, 52);
NTX_WASM_LAYOUT(ntx_action_ctx_t, loop, 56);
NTX_WASM_LAYOUT(ntx_action_ctx_t, loop_index, 60);
NTX_WASM_LAYOUT(ntx_action_ctx_t, user_data, 64);
NTX_WASM_LAYOUT(ntx_action_ctx_t, flags, 68);
NTX_WASM_LAYOUT(ntx_result_t, fields, 4);
NTX_WASM_LAYOUT(ntx_result_t, field_count, 8);
NTX_WASM_LAYOUT(ntx_result_t, bytes_sent, 16);
NTX_WASM_LAYOUT(ntx_result_t, bytes_received, 24);
NTX_WASM_LAYOUT(ntx_result_t, status, 32);
NTX_WASM_LAYOUT(ntx_progress_t, progress, 8);
NTX_WASM_LAYOUT(ntx_progress_t, fields, 16);
NTX_WASM_LAYOUT(ntx_progress_t, field_count, 20);
NTX_WASM_LAYOUT(ntx_task_request_t, template_action, 4);
NTX_WASM_LAYOUT(ntx_task_request_t, params, 12);
NTX_WASM_LAYOUT(ntx_task_request_t, param_count, 16);
NTX_WASM_LAYOUT(ntx_task_request_t, call, 20);
NTX_WASM_LAYOUT(ntx_socket_event_t, kind, 4);
NTX_WASM_LAYOUT(ntx_socket_event_t, socket, 8);
NTX_WASM_LAYOUT(ntx_socket_event_t, status, 16);
NTX_WASM_LAYOUT(ntx_socket_event_t, data, 20);
NTX_WASM_LAYOUT(ntx_socket_event_t, reason, 28);
NTX_WASM_LAYOUT(ntx_socket_opts_t, transport, 4);
NTX_WASM_LAYOUT(ntx_socket_opts_t, host, 8);
NTX_WASM_LAYOUT(ntx_socket_opts_t, port, 16);
NTX_WASM_LAYOUT(ntx_socket_opts_t, connect_timeout_ms, 20);
NTX_WASM_LAYOUT(ntx_socket_opts_t, on_event, 24);
NTX_WASM_LAYOUT(ntx_socket_opts_t, userdata, 28);
NTX_WASM_LAYOUT(ntx_socket_opts_t, tls_server_name, 32);
NTX_WASM_LAYOUT(ntx_socket_opts_t, tls_flags, 40);
NTX_WASM_LAYOUT(ntx_socket_opts_t, tls_ca_file, 44);
NTX_WASM_LAYOUT(ntx_rate_t, send_bytes, 8);
NTX_WASM_LAYOUT(ntx_rate_t, recv_bytes, 16);
NTX_WASM_LAYOUT(ntx_rate_t, per_ms, 24);
NTX_WASM_LAYOUT(ntx_problem_t, param_index, 4);
NTX_WASM_LAYOUT(ntx_problem_t, message, 8);
NTX_WASM_LAYOUT(ntx_problem_t, hint, 16);
NTX_WASM_LAYOUT(ntx_validate_ctx_t, component, 4);
NTX_WASM_LAYOUT(ntx_validate_ctx_t, action_name, 12);
NTX_WASM_LAYOUT(ntx_validate_ctx_t, call, 20);
NTX_WASM_LAYOUT(ntx_validate_ctx_t, params, 28);
NTX_WASM_LAYOUT(ntx_validate_ctx_t, param_count, 32);
NTX_WASM_LAYOUT(ntx_validate_ctx_t, param_flags, 36);
NTX_WASM_LAYOUT(ntx_validate_ctx_t, report_ctx, 44);
NTX_WASM_LAYOUT(ntx_wasm_plugin_t, name, 12);
NTX_WASM_LAYOUT(ntx_wasm_plugin_t, capabilities, 20);
NTX_WASM_LAYOUT(ntx_wasm_plugin_t, capability_count, 24);
#undef NTX_WASM_LAYOUT
#endif

/* ---- the exports every module needs besides its hooks ------------------------------------------------ */
#ifdef NTX_WASM_GUEST_IMPLEMENTATION
#include <stdlib.h>

NTX_WASM_EXPORT(ntx_abi_version) int32_t ntx_wasm_abi_version_(void) { return NTX_WASM_ABI_VERSION; }
NTX_WASM_EXPORT(ntx_alloc) void *ntx_wasm_alloc_(size_t size) { return malloc(size ? size : 1); }
NTX_WASM_EXPORT(ntx_free) void ntx_wasm_free_(void *p) { free(p); }
NTX_WASM_EXPORT(ntx_on_socket)
void ntx_wasm_on_socket_(ntx_socket_cb cb, void *userdata, const ntx_socket_event_t *event) {
    if (cb) cb(userdata, event);
}
NTX_WASM_EXPORT(ntx_on_timer) void ntx_wasm_on_timer_(ntx_timer_cb cb, void *userdata, ntx_timer_t timer) {
    if (cb) cb(userdata, timer);
}
#endif

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* NTX_WASM_GUEST_H */
