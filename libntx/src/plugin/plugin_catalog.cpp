// ntx/plugins.hpp: the search path's plugins through the run's own loader (ntx plugins list|info, and
// ntx-conformance).
#include "ntx/plugins.hpp"

#include <algorithm>
#include <filesystem>
#include <set>
#include <system_error>

#include "frame/protocol_frame.hpp"
#include "plugin/plugin_loader.hpp"
#include "plugin/semver.hpp"

NTX_BEGIN_NAMESPACE
namespace fs = std::filesystem;

namespace {

// Listing only calls entry points, which must do no work: the real host table is what they would see.
const ntx_host_api_t* listing_host_api() {
    static const ntx_host_api_t api = frame::make_host_api();
    return &api;
}

// What the plugin declared, copied while the (never unloaded) library's strings are at hand.
void copy_declaration(const ntx_plugin_api_t& api, PluginInfo& info) {
    info.abi_major = api.abi_major;
    info.abi_minor = api.abi_minor;
    if (api.name) info.name = api.name;
    if (api.version) info.version = api.version;
    info.version_is_semver = api.version && plugin::parse_semver(api.version).has_value();
    if (api.capabilities)
        for (size_t i = 0; i < api.capability_count; ++i)
            if (api.capabilities[i]) info.capabilities.emplace_back(api.capabilities[i]);
}

PluginInfo inspect_path(plugin::PluginLoader& loader, const fs::path& path) {
    PluginInfo info;
    info.path = path.string();
    ntx_plugin_api_t seen{};
    auto loaded = loader.load(path, listing_host_api(), info.error, &seen);
    info.loaded = loaded != nullptr;
    info.backend = loaded ? loaded->backend : path.extension() == ".wasm" ? "wasm" : "native";
    copy_declaration(seen, info);
    return info;
}

}  // namespace

std::vector<std::string> plugin_search_path(const std::vector<std::string>& extra_paths) {
    plugin::PluginLoader loader(extra_paths);
    std::vector<std::string> out;
    for (const auto& dir : loader.search_path()) out.push_back(dir.string());
    return out;
}

std::vector<PluginInfo> list_plugins(const std::vector<std::string>& extra_paths) {
    plugin::PluginLoader loader(extra_paths);
    std::vector<PluginInfo> out;
    std::set<std::string> names_seen;
    std::set<fs::path> dirs_seen;
    for (const auto& dir : loader.search_path()) {
        std::error_code ec;
        fs::path canonical = fs::weakly_canonical(dir, ec);
        if (!dirs_seen.insert(ec ? dir : canonical).second) continue;  // the same directory twice on the path
        std::vector<fs::path> files;
        for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
            const std::string file = it->path().filename().string();
            if (file.starts_with("ntx_") && (file.ends_with(".so") || file.ends_with(".wasm")) && it->is_regular_file(ec))
                files.push_back(it->path());
        }
        // ntx_NAME.so before ntx_NAME.wasm, as the loader resolves a name.
        std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) {
            return std::pair(a.stem().string(), a.extension() != ".so") < std::pair(b.stem().string(), b.extension() != ".so");
        });
        for (const auto& path : files) {
            PluginInfo info = inspect_path(loader, path);
            info.shadowed = !names_seen.insert(path.stem().string()).second;
            out.push_back(std::move(info));
        }
    }
    return out;
}

PluginInfo inspect_plugin(const std::string& path_or_name, const std::vector<std::string>& extra_paths) {
    plugin::PluginLoader loader(extra_paths);
    std::string error;
    // A path is taken relative to the working directory here (a script's entry is relative to its res_dir).
    fs::path path = loader.resolve(path_or_name, fs::current_path(), error);
    if (path.empty()) {
        PluginInfo info;
        info.error = error;
        return info;
    }
    return inspect_path(loader, path);
}

ntx_status_t load_plugin(const std::string& path, const ntx_host_api_t* host_api, ntx_plugin_api_t* plugin_api,
                         std::string& error) {
    if (!host_api || !plugin_api) {
        error = "load_plugin: host_api and plugin_api are required";
        return NTX_E_INVALID;
    }
    plugin::PluginLoader loader({});
    ntx_plugin_api_t seen{};
    auto loaded = loader.load(path, host_api, error, &seen);
    *plugin_api = seen;
    return loaded ? NTX_OK : seen.abi_major ? NTX_E_ABI : NTX_E_INVALID;
}

bool compile_wasm_plugin(const std::string& wasm, const std::string& out, std::string& error) {
    using compile_fn = int (*)(const char*, const char*, char*, size_t);
    auto compile = reinterpret_cast<compile_fn>(plugin::PluginLoader::wasm_loader_symbol("ntx_wasm_compile", error));
    if (!compile) return false;
    char why[4096] = {0};
    if (compile(wasm.c_str(), out.c_str(), why, sizeof why) == 0) return true;
    error = why;
    return false;
}

bool is_semver(const std::string& version) { return plugin::parse_semver(version).has_value(); }

NTX_END_NAMESPACE
