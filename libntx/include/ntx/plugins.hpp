// The plugins ntx can find, seen through the host's own loader: what `ntx plugins list|info` prints and
// what the conformance kit (ntx-conformance) loads. The same search path and the same checks as a run.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ntx/export.hpp"
#include "ntx/plugin_abi.h"

NTX_BEGIN_NAMESPACE

struct PluginInfo {
    std::string path;          // the file
    bool loaded = false;       // the loader accepted it; otherwise `error` says why
    std::string error;         // the loader's message, as a run would print it
    bool shadowed = false;     // a file of the same name earlier on the search path wins for `entry: <name>`
    // What the plugin's table declared (filled as far as the plugin got, also when it was refused).
    std::string name;
    std::string version;
    bool version_is_semver = false;  // by the rule the host checks scripts' `components[].version` with
    uint32_t abi_major = 0;
    uint32_t abi_minor = 0;
    std::vector<std::string> capabilities;
    std::string backend;       // "native" (a .so), or "wasm (wabt interpreter)" for a .wasm file
};

// The directories searched for `entry: <name>`, in order: `extra_paths` (--plugin-path), then
// $NTX_PLUGIN_PATH, then the shipped plugins (lib/ntx/plugins next to libntx, installed or in the build tree).
NTX_API std::vector<std::string> plugin_search_path(const std::vector<std::string>& extra_paths);

// Every ntx_*.so file in the search path's directories, in search order, each loaded and checked.
// A file the loader refuses is listed with its error; it never stops the listing.
NTX_API std::vector<PluginInfo> list_plugins(const std::vector<std::string>& extra_paths);

// One plugin: a path (contains '/' or ends in .so) or a bare name resolved as a script's `entry` is.
// An unresolvable name gives loaded = false and the resolver's error, with an empty path.
NTX_API PluginInfo inspect_plugin(const std::string& path_or_name, const std::vector<std::string>& extra_paths);

// The host's loader itself, for tools that drive a plugin through their own host table: dlopen
// (RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE), the entry symbol, the entry call with `host_api` and a zeroed
// full-size table, then the ABI checks of a run. `host_api` must outlive the plugin.
// Returns NTX_OK, or a negative status with `error` set (`*plugin_api` then holds what the plugin filled).
NTX_API ntx_status_t load_plugin(const std::string& path, const ntx_host_api_t* host_api, ntx_plugin_api_t* plugin_api,
                                 std::string& error);

// `ntx wasm compile`: checks the module at `wasm` as the wasm loader does, translates it with wasm2c
// and compiles it with the system's C compiler ($CC, else cc) into `out`, an ordinary native plugin.
// False with `error` set when the module is refused, a tool is missing or fails, or the wasm loader is
// not part of this build.
NTX_API bool compile_wasm_plugin(const std::string& wasm, const std::string& out, std::string& error);

// True when `version` is a semantic version (MAJOR.MINOR.PATCH[-pre][+build]) by the host's rule.
NTX_API bool is_semver(const std::string& version);

NTX_END_NAMESPACE
