// Finds and loads protocol plugins (.so) and checks them against the script: the entry symbol, the
// ABI major/minor, the semver version, and the capabilities the script calls.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "ntx/host.hpp"
#include "ntx/plugin_abi.h"

namespace ntx::plugin {

struct LoadedPlugin {
    std::filesystem::path path;  // the file, or "<in-process NAME>" for Host::register_protocol
    void* handle = nullptr;  // dlopen handle; never dlclose()d while the process may hold plugin state
    void* initial_state = nullptr;  // what init finds in *plugin_state (in-process protocols only)
    ntx_plugin_api_t api{};
    std::vector<std::string> capabilities;
    std::string backend = "native";  // or the wasm loader's backend for a .wasm file

    bool has_capability(std::string_view call) const;
};

// The transport of a protocol that ships with ntx, by the plugin's name ("http", "ftp": "tcp", which
// their TLS forms run over); empty for any other plugin (the ABI does not declare one).
std::string_view shipped_transport(std::string_view plugin_name);

class PluginLoader {
public:
    // Search order for a bare name: `extra_paths`, then $NTX_PLUGIN_PATH (colon-separated), then the
    // shipped plugins (lib/ntx/plugins next to libntx, installed or in the build tree).
    explicit PluginLoader(const std::vector<std::string>& extra_paths);

    // Resolves `entry` (a path relative to res_dir when it contains '/' or ends in .so or .wasm, else a bare
    // name found as ntx_<name>.so on the search path). Returns an empty path and sets `error` if not found.
    std::filesystem::path resolve(const std::string& entry, const std::filesystem::path& res_dir, std::string& error) const;

    // Loads and checks the ABI. A .wasm file goes through the wasm loader (libntx_wasm.so, next to libntx). `host_api` must outlive the plugin. Returns nullptr and sets `error` on failure.
    // `seen`, when given, receives the plugin's table as the entry filled it, refused or not.
    std::shared_ptr<LoadedPlugin> load(const std::filesystem::path& path, const ntx_host_api_t* host_api,
                                       std::string& error, ntx_plugin_api_t* seen = nullptr);

    // A protocol registered in-process (Host::register_protocol): `entry` is called as a plugin's
    // exported entry, and the table checked as load() checks it.
    static std::shared_ptr<LoadedPlugin> load_in_process(const std::string& name, const ProtocolEntry& entry,
                                                         void* initial_state, const ntx_host_api_t* host_api,
                                                         std::string& error);

    const std::vector<std::filesystem::path>& search_path() const { return search_; }

    // A symbol of the wasm loader (libntx_wasm.so next to libntx), opened on first use; nullptr and
    // `error` when the loader is not part of this build.
    static void* wasm_loader_symbol(const char* name, std::string& error);

private:
    std::shared_ptr<LoadedPlugin> load_wasm(const std::filesystem::path& path, const ntx_host_api_t* host_api,
                                            std::string& error, ntx_plugin_api_t* seen);

    std::vector<std::filesystem::path> search_;
};

}  // namespace ntx::plugin
