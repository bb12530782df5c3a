/* The smallest useful plugin: `greet` completes at once with a greeting field. */
#include <ntx/plugin_abi.h>
#include <string.h>

static const ntx_host_api_t *host_api;
static const char *const caps[] = {"greet"};

static ntx_status_t hello_init(ntx_host_t *host, const ntx_init_ctx_t *ctx, void **state) {
    (void)ctx;
    *state = host;
    return NTX_OK;
}

static ntx_status_t hello_run(void *state, ntx_action_t *action, const ntx_action_ctx_t *ctx) {
    ntx_kv_t field;
    ntx_result_t result;
    (void)ctx;
    field.key.ptr = "greeting";
    field.key.len = 8;
    field.value.ptr = "hello";
    field.value.len = 5;
    memset(&result, 0, sizeof result);
    result.size = sizeof result;
    result.fields = &field;
    result.field_count = 1;
    return host_api->action_complete((ntx_host_t *)state, action, &result);
}

static void hello_on_error(void *state, ntx_action_t *action, void **user_data, ntx_status_t code, ntx_str_t reason) {
    /* greet ends inside run_action: the host never has one of ours to end first. */
    (void)state;
    (void)action;
    (void)user_data;
    (void)code;
    (void)reason;
}

static void hello_release(void *state) { (void)state; }

NTX_PLUGIN_EXPORT ntx_status_t ntx_plugin_entry(const ntx_host_api_t *host, ntx_plugin_api_t *plugin) {
    host_api = host;
    plugin->abi_major = NTX_ABI_MAJOR;
    plugin->abi_minor = NTX_ABI_MINOR;
    plugin->name = "hello";
    plugin->version = "1.0.0";
    plugin->capabilities = caps;
    plugin->capability_count = 1;
    plugin->init = hello_init;
    plugin->run_action = hello_run;
    plugin->on_error = hello_on_error;
    plugin->release = hello_release;
    return NTX_OK;
}
