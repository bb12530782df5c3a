/* The one entry of libntx_wasm.so, the wasm loader libntx dlopens only when a plugin is a .wasm file
 * (so that libntx itself carries no interpreter). Internal to ntx: not installed as SDK. */
#ifndef NTX_WASM_LOADER_API_H
#define NTX_WASM_LOADER_API_H

#include <ntx/plugin_abi.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NTX_WASM_LOADER_FILE "libntx_wasm.so"
#define NTX_WASM_LOADER_SYMBOL "ntx_wasm_loader_open"

/* Loads and checks the module at `path` and fills `plugin_api` (whose `size` the caller set) as a
 * native plugin's entry would. On failure returns a negative status and writes one line to `error`.
 * `backend` receives a static description of the backend ("wabt interpreter"). The module stays
 * loaded for the life of the process. */
typedef ntx_status_t (*ntx_wasm_loader_open_fn)(const char *path, const ntx_host_api_t *host_api,
                                                ntx_plugin_api_t *plugin_api, const char **backend, char *error,
                                                size_t error_len);

#ifdef __cplusplus
}
#endif

#endif
