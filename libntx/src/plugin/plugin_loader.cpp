#include "plugin/plugin_loader.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <fmt/format.h>

#include "wasm/wasm_loader_api.h"

namespace ntx::plugin {
namespace fs = std::filesystem;

bool LoadedPlugin::has_capability(std::string_view call) const {
    return std::find(capabilities.begin(), capabilities.end(), call) != capabilities.end();
}

std::string_view shipped_transport(std::string_view plugin_name) {
    if (plugin_name == "http" || plugin_name == "ftp") return "tcp";  // https is http over TLS over tcp
    return {};
}

namespace {

// Directory of the shared object holding this code (libntx), to find installed plugins next to it.
fs::path library_dir() {
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&library_dir), &info) && info.dli_fname) {
        std::error_code ec;
        fs::path p = fs::canonical(info.dli_fname, ec);
        if (!ec) return p.parent_path();
    }
    return {};
}

}  // namespace

PluginLoader::PluginLoader(const std::vector<std::string>& extra_paths) {
    for (auto& p : extra_paths) search_.emplace_back(p);
    if (const char* env = std::getenv("NTX_PLUGIN_PATH")) {
        std::string_view s(env);
        while (!s.empty()) {
            auto colon = s.find(':');
            auto part = s.substr(0, colon);
            if (!part.empty()) search_.emplace_back(std::string(part));
            if (colon == std::string_view::npos) break;
            s.remove_prefix(colon + 1);
        }
    }
    // The shipped plugins, next to libntx: <prefix>/lib/ntx/plugins when installed, and the build tree
    // is laid out the same way (<build>/lib/ntx/plugins), so no build path is compiled in.
    fs::path lib = library_dir();
    if (!lib.empty()) search_.push_back(lib / "ntx" / "plugins");
}

namespace {

// The checks every plugin table passes, whether a .so's entry or an in-process one filled it.
bool check_table(LoadedPlugin& plugin, ntx_status_t rc, const ntx_host_api_t* host_api, std::string& error) {
    const ntx_plugin_api_t& api = plugin.api;
    // A plugin may refuse before it fills its ABI version: only a filled-in major can mismatch.
    if (api.abi_major != 0 && api.abi_major != NTX_ABI_MAJOR) {
        error = fmt::format("'{}' was built for plugin ABI {}.{}, this host speaks ABI {}.{} (major versions must match)",
                            plugin.path.string(), api.abi_major, api.abi_minor, NTX_ABI_MAJOR, NTX_ABI_MINOR);
        return false;
    }
    if (api.abi_major == NTX_ABI_MAJOR && api.abi_minor > NTX_ABI_MINOR) {
        error = fmt::format("'{}' needs plugin ABI {}.{}, newer than this host's {}.{}; upgrade ntx",
                            plugin.path.string(), api.abi_major, api.abi_minor, NTX_ABI_MAJOR, NTX_ABI_MINOR);
        return false;
    }
    if (rc != NTX_OK) {
        error = fmt::format("'{}' refused to load: {} ({})", plugin.path.string(), host_api->strerror(rc), rc);
        return false;
    }
    if (api.abi_major == 0) {
        error = fmt::format("'{}' did not fill in its plugin table (abi_major is 0)", plugin.path.string());
        return false;
    }
    if (!api.name || !api.version || !api.init || !api.run_action || !api.on_error || !api.release) {
        error = fmt::format("'{}' left required members of its plugin table empty (name, version, init, run_action, "
                            "on_error, release)",
                            plugin.path.string());
        return false;
    }
    // Sizes a sane table cannot have are refused before anything is read past them (a plugin table
    // declaring 100,000 capabilities, a name that never ends).
    constexpr size_t kMaxCapabilities = 4096, kMaxName = 256;
    if (::strnlen(api.name, kMaxName + 1) > kMaxName || ::strnlen(api.version, kMaxName + 1) > kMaxName) {
        error = fmt::format("'{}' declares a name or version longer than {} characters", plugin.path.string(), kMaxName);
        return false;
    }
    if (api.capability_count > kMaxCapabilities || (api.capability_count && !api.capabilities)) {
        error = fmt::format("'{}' declares {} capabilities{} (at most {})", plugin.path.string(), api.capability_count,
                            api.capabilities ? "" : " but no array of them", kMaxCapabilities);
        return false;
    }
    for (size_t i = 0; i < api.capability_count; ++i) {
        const char* cap = api.capabilities[i];
        if (!cap || !*cap || ::strnlen(cap, kMaxName + 1) > kMaxName) {
            error = fmt::format("'{}': capability {} is empty, NULL or longer than {} characters", plugin.path.string(), i,
                                kMaxName);
            return false;
        }
        plugin.capabilities.emplace_back(cap);
    }
    return true;
}

}  // namespace

fs::path PluginLoader::resolve(const std::string& entry, const fs::path& res_dir, std::string& error) const {
    std::error_code ec;
    bool is_path = entry.find('/') != std::string::npos || (entry.size() > 3 && entry.ends_with(".so")) ||
                   (entry.size() > 5 && entry.ends_with(".wasm"));
    if (is_path) {
        fs::path p = fs::path(entry).is_absolute() ? fs::path(entry) : res_dir / entry;
        if (fs::is_regular_file(p, ec)) return p.lexically_normal();
        error = fmt::format("plugin file '{}' not found", p.string());
        return {};
    }
    // By name: ntx_NAME.so, then ntx_NAME.wasm (a wasm module dropped on the path), directory by
    // directory: the first directory that holds either wins.
    std::string file = "ntx_" + entry + ".so", wasm_file = "ntx_" + entry + ".wasm";
    std::string tried;
    for (const auto& dir : search_) {
        for (const auto& f : {file, wasm_file}) {
            fs::path p = dir / f;
            if (fs::is_regular_file(p, ec)) return p;
        }
        tried += (tried.empty() ? "" : ", ") + dir.string();
    }
    file += " or " + wasm_file;
    if (entry == "resource-manager" || entry == "resource_manager") {
        // The seeds' resource-manager is part of ntx itself.
        error = "the resource manager is built in: declare it with `kind: builtin` (no entry)";
        return {};
    }
    error = fmt::format("no plugin named '{}' ({} not found in: {}); add a directory with --plugin-path or NTX_PLUGIN_PATH",
                        entry, file, tried.empty() ? "(empty search path)" : tried);
    return {};
}

namespace {

// The wasm loader, opened once on first use (never closed): libntx carries no interpreter itself.
void* wasm_loader_handle(std::string& error) {
    static void* handle = nullptr;
    static std::string why;
    static std::once_flag once;
    std::call_once(once, [] {
        const fs::path lib = library_dir();
        fs::path file = lib / NTX_WASM_LOADER_FILE;
        handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
        // A program linked with the engine's objects instead of libntx (the unit tests, benchmarks) lives
        // in a folder beside lib/ (bin/, tests/), in the build tree as in a prefix: ../lib.
        if (!handle && !lib.empty())
            handle = dlopen((lib.parent_path() / "lib" / NTX_WASM_LOADER_FILE).c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
        if (!handle) {
            const char* e = dlerror();
            why = fmt::format("the wasm loader is not part of this build ({})", e ? e : file.string());
        }
    });
    if (!handle) error = why;
    return handle;
}

ntx_wasm_loader_open_fn wasm_loader(std::string& error) {
    return reinterpret_cast<ntx_wasm_loader_open_fn>(PluginLoader::wasm_loader_symbol(NTX_WASM_LOADER_SYMBOL, error));
}

}  // namespace

void* PluginLoader::wasm_loader_symbol(const char* name, std::string& error) {
    void* handle = wasm_loader_handle(error);
    if (!handle) return nullptr;
    void* symbol = dlsym(handle, name);
    if (!symbol) error = fmt::format("the wasm loader ({}) does not export {}", NTX_WASM_LOADER_FILE, name);
    return symbol;
}

std::shared_ptr<LoadedPlugin> PluginLoader::load_wasm(const fs::path& path, const ntx_host_api_t* host_api,
                                                      std::string& error, ntx_plugin_api_t* seen) {
    ntx_wasm_loader_open_fn open = wasm_loader(error);
    if (!open) {
        error = fmt::format("'{}': {}", path.string(), error);
        return nullptr;
    }
    auto plugin = std::make_shared<LoadedPlugin>();
    plugin->path = path;
    plugin->api.size = sizeof(ntx_plugin_api_t);
    const char* backend = nullptr;
    char why[1024] = {0};
    ntx_status_t rc = open(path.c_str(), host_api, &plugin->api, &backend, why, sizeof why);
    if (seen) *seen = plugin->api;
    if (rc != NTX_OK) {
        error = why[0] ? why : fmt::format("'{}' was refused by the wasm loader ({})", path.string(), rc);
        return nullptr;
    }
    plugin->backend = fmt::format("wasm ({})", backend ? backend : "?");
    if (!check_table(*plugin, rc, host_api, error)) return nullptr;
    return plugin;
}

std::shared_ptr<LoadedPlugin> PluginLoader::load(const fs::path& path, const ntx_host_api_t* host_api,
                                                 std::string& error, ntx_plugin_api_t* seen) {
    if (path.extension() == ".wasm") return load_wasm(path, host_api, error, seen);
    // RTLD_NODELETE: the code stays mapped even if a handle is closed, so a late callback can't jump
    // into unmapped memory.
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!handle) {
        const char* why = dlerror();
        error = fmt::format("'{}' is not a loadable plugin: {}", path.string(), why ? why : "dlopen failed");
        return nullptr;
    }
    auto entry = reinterpret_cast<ntx_plugin_entry_fn>(dlsym(handle, NTX_PLUGIN_ENTRY_SYMBOL));
    if (!entry) {
        error = fmt::format("'{}' is not an ntx plugin: it does not export '{}'", path.string(), NTX_PLUGIN_ENTRY_SYMBOL);
        dlclose(handle);
        return nullptr;
    }
    auto plugin = std::make_shared<LoadedPlugin>();
    plugin->path = path;
    plugin->handle = handle;
    if (dlsym(handle, "ntx_wasm_backend")) plugin->backend = "wasm (wasm2c, ahead of time)";  // ntx wasm compile's
    plugin->api.size = sizeof(ntx_plugin_api_t);
    ntx_status_t rc = entry(host_api, &plugin->api);
    if (seen) *seen = plugin->api;
    if (!check_table(*plugin, rc, host_api, error)) return nullptr;
    return plugin;
}

std::shared_ptr<LoadedPlugin> PluginLoader::load_in_process(const std::string& name, const ProtocolEntry& entry,
                                                            void* initial_state, const ntx_host_api_t* host_api,
                                                            std::string& error) {
    auto plugin = std::make_shared<LoadedPlugin>();
    plugin->path = "<in-process " + name + ">";
    plugin->initial_state = initial_state;
    plugin->api.size = sizeof(ntx_plugin_api_t);
    ntx_status_t rc = NTX_E_INTERNAL;
    try {
        rc = entry(host_api, &plugin->api);
    } catch (const std::exception& e) {
        error = fmt::format("'{}' threw from its entry function: {}", plugin->path.string(), e.what());
        return nullptr;
    } catch (...) {
        error = fmt::format("'{}' threw from its entry function", plugin->path.string());
        return nullptr;
    }
    if (!check_table(*plugin, rc, host_api, error)) return nullptr;
    return plugin;
}

}  // namespace ntx::plugin
