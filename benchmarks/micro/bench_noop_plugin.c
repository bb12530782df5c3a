/*
 * ntx_bench_noop.so: the smallest protocol, for micro_dispatch.cpp. `noop` completes its action inside
 * run_action with a counts-only result, so a benchmark loop measures the engine's per-action path
 * across the C ABI (render, dispatch, run_action, action_complete, counting, the continuation) and
 * nothing of a protocol's own.
 */
#include <ntx/plugin_abi.h>
#include <string.h>

typedef struct noop_state {
    ntx_host_t *host;
    const ntx_host_api_t *api;
} noop_state;

static noop_state g_state; /* one host in the benchmark process */
static const char *const noop_capabilities[] = {"noop"};

static ntx_status_t noop_init(ntx_host_t *host, const ntx_init_ctx_t *ctx, void **plugin_state) {
    if (!ctx || !plugin_state) return NTX_E_INVALID;
    g_state.host = host;
    g_state.api = ctx->host_api;
    *plugin_state = &g_state;
    return NTX_OK;
}

static ntx_status_t noop_run_action(void *plugin_state, ntx_action_t *action, const ntx_action_ctx_t *ctx) {
    noop_state *s = (noop_state *)plugin_state;
    ntx_result_t result;
    memset(&result, 0, sizeof result);
    result.size = sizeof result;
    result.bytes_sent = ctx->param_count; /* something the host adds up */
    result.status = 200;
    return s->api->action_complete(s->host, action, &result);
}

static void noop_on_error(void *plugin_state, ntx_action_t *action, void **user_data, ntx_status_t code, ntx_str_t reason) {
    (void)plugin_state, (void)action, (void)user_data, (void)code, (void)reason;
}

static void noop_user_release(void *plugin_state, uint64_t user_id, void *user_data) {
    (void)plugin_state, (void)user_id, (void)user_data;
}

static void noop_release(void *plugin_state) { (void)plugin_state; }

NTX_PLUGIN_EXPORT ntx_status_t ntx_plugin_entry(const ntx_host_api_t *host_api, ntx_plugin_api_t *p) {
    (void)host_api;
    if (!p || !NTX_HAS_MEMBER(p, ntx_plugin_api_t, release)) return NTX_E_ABI;
    p->abi_major = NTX_ABI_MAJOR;
    p->abi_minor = NTX_ABI_MINOR;
    p->name = "noop";
    p->version = "1.0.0";
    p->capabilities = noop_capabilities;
    p->capability_count = 1;
    p->init = noop_init;
    p->run_action = noop_run_action;
    p->on_error = noop_on_error;
    p->user_release = noop_user_release;
    p->release = noop_release;
    return NTX_OK;
}
