// components of script.yaml and their sections of resource/config.yaml.
#include <algorithm>

#include "dsl/passes.hpp"

namespace ntx::dsl::passes {

bool shipped_protocol(std::string_view name) {
    static constexpr std::string_view shipped[] = {"http", "ftp"};
    return std::find(std::begin(shipped), std::end(shipped), name) != std::end(shipped);
}

void implicit_component(Compilation& cx, FileCtx& f, const std::string& name, const YAML::Node& at) {
    if (!shipped_protocol(name)) return;
    for (const auto& c : cx.script.components)
        if (c.name == name) return;
    ComponentSpec spec;
    spec.name = name;
    spec.kind = "native";
    spec.entry = name;
    spec.loc = spec.entry_loc = spec.version_loc = f.loc(at);
    cx.script.components.push_back(std::move(spec));
}

namespace {

// metadata.resources.provides: the resource types a component provides; only the built-in
// resource-manager provides any, and only the ones it ships.
void check_provides(FileCtx& f, const ComponentSpec& spec, const YAML::Node& r) {
    if (!expect_map(f, r, "metadata.resources")) return;
    check_keys(f, r, "metadata.resources", {"provides"});
    if (!r["provides"]) return;
    if (!spec.builtin) {
        f.error(r["provides"], fmt::format("component '{}' cannot provide resources: ntx's own resource-manager "
                                           "provides every resource type",
                                           spec.name),
                "declare the provider with kind: builtin");
        return;
    }
    if (!expect_seq(f, r["provides"], "metadata.resources.provides")) return;
    for (const auto& t : r["provides"]) {
        auto v = scalar(f, t, "metadata.resources.provides");
        if (v && *v != "pair_pool" && *v != "file_blob" && *v != "kv_store")
            f.error(t, fmt::format("the built-in resource-manager does not provide '{}'", *v), "pair_pool, file_blob or kv_store");
    }
}

}  // namespace

// A builtin component ships inside ntx: it has no entry, its version is ntx's own (checked where
// plugins' versions are, at loading), and its capabilities are the resource-manager's calls.
void check_builtin(FileCtx& f, const ComponentSpec& spec, const YAML::Node& c) {
    if (c["entry"])
        f.error(c["entry"], fmt::format("component '{}' is built into ntx: it has no entry to load", spec.name),
                "remove entry, or declare a plugin with kind: native or wasm");
    for (size_t i = 0; i < spec.declared_capabilities.size(); ++i) {
        const auto& cap = spec.declared_capabilities[i];
        if (builtin_call(cap)) continue;
        f.error(c["metadata"]["capabilities"][i],
                fmt::format("the built-in resource-manager has no capability '{}'", cap),
                "its calls: allocate_pair, release_pair, mount_file");
    }
}

bool builtin_call(std::string_view call) {
    return call == "allocate_pair" || call == "release_pair" || call == "mount_file";
}

void parse_components(Compilation& cx, FileCtx& f, const YAML::Node& n) {
    if (!expect_seq(f, n, "components")) return;
    for (const auto& c : n) {
        if (!expect_map(f, c, "a component")) continue;
        check_keys(f, c, "a component", {"name", "version", "kind", "entry", "metadata"});
        ComponentSpec spec;
        spec.loc = f.loc(c);
        if (!c["name"]) {
            f.error(c, "component has no 'name'");
            continue;
        }
        if (auto v = scalar(f, c["name"], "name")) spec.name = *v;
        for (const auto& other : cx.script.components)
            if (other.name == spec.name) f.error(c["name"], fmt::format("component '{}' is declared twice", spec.name));
        if (c["kind"]) {
            if (auto v = scalar(f, c["kind"], "kind")) spec.kind = *v;
        } else {
            spec.kind = "native";
        }
        if (spec.kind == "builtin") {
            spec.builtin = true;
        } else if (spec.kind == "wasi-component") {
            // A component-model binary (wasip2) has no runtime here; a core module behind ntx/wasm_guest.h does.
            f.error(c["kind"], fmt::format("component '{}': wasi components (wasip2) cannot run here", spec.name),
                    "build a core module (--target=wasm32-wasi, ntx/wasm_guest.h) and declare `kind: wasm`");
        } else if (spec.kind == "service-adapter") {
            f.error(c["kind"], "kind 'service-adapter' is reserved and cannot be loaded");
        } else if (spec.kind != "native" && spec.kind != "wasm") {  // wasm: a .wasm entry, through the wasm loader
            f.error(c["kind"], fmt::format("unknown component kind '{}'", spec.kind),
                    "one of native, wasm, wasi-component, builtin");
        }
        // No version: any version of the plugin will do (the loaded one is reported).
        spec.version_loc = f.loc(c);
        if (c["version"]) {
            spec.version_loc = f.loc(c["version"]);
            if (auto v = scalar(f, c["version"], "version")) spec.version = *v;
        }
        if (c["entry"]) {
            spec.entry_loc = f.loc(c["entry"]);
            if (auto v = scalar(f, c["entry"], "entry")) spec.entry = *v;
            if (spec.kind == "wasm" && !spec.entry.ends_with(".wasm"))
                f.error(c["entry"], fmt::format("component '{}': a wasm component's entry is its .wasm file", spec.name),
                        "a path relative to the res_dir, e.g. entry: plugins/echo.wasm");
        } else if (!spec.builtin && shipped_protocol(spec.name)) {
            spec.entry = spec.name;  // the shipped plugin of that name
            spec.entry_loc = spec.loc;
        } else if (!spec.builtin) {
            f.error(c, fmt::format("component '{}' has no 'entry' (a plugin path or bare name)", spec.name),
                    "only the shipped protocols (http, ftp) are found by their name alone");
        }
        if (c["metadata"]) {
            const auto& m = c["metadata"];
            if (expect_map(f, m, "metadata")) {
                if (m["capabilities"]) spec.declared_capabilities = string_list(f, m["capabilities"], "metadata.capabilities");
                if (m["transport"]) {
                    spec.transport_loc = f.loc(m["transport"]);
                    spec.transport = scalar(f, m["transport"], "metadata.transport").value_or("");
                    if (spec.builtin)
                        f.error(m["transport"], fmt::format("component '{}' is built in and opens no connection: it has "
                                                            "no transport", spec.name),
                                "remove metadata.transport");
                    else if (spec.transport != "tcp" && spec.transport != "tls" && spec.transport != "udp")
                        f.error(m["transport"], fmt::format("unknown transport '{}'", spec.transport), "tcp, tls or udp");
                }
                if (m["resources"]) check_provides(f, spec, m["resources"]);
            }
        }
        if (spec.builtin) check_builtin(f, spec, c);
        cx.script.components.push_back(std::move(spec));
    }
}

void parse_component_configs(Compilation& cx) {
    std::filesystem::path path = cx.res_dir / "resource" / "config.yaml";
    if (!cx.reader.exists(path)) return;
    FileCtx f{display(cx, path), cx.out};
    auto root = load_yaml(cx, f, path);
    if (!root || root->IsNull()) return;
    if (!expect_map(f, *root, "resource/config.yaml")) return;
    for (auto it = root->begin(); it != root->end(); ++it) {
        const std::string name = it->first.Scalar();
        implicit_component(cx, f, name, it->first);  // `http:` configures the shipped http without a block
        auto comp = std::find_if(cx.script.components.begin(), cx.script.components.end(),
                                 [&](const ComponentSpec& c) { return c.name == name; });
        if (comp == cx.script.components.end()) {
            std::vector<std::string_view> names;
            for (const auto& c : cx.script.components) names.push_back(c.name);
            auto guess = closest_match(name, names);
            f.error(it->first, fmt::format("'{}' is not a component of script.yaml", name),
                    guess.empty() ? "" : fmt::format("did you mean '{}'?", guess));
            continue;
        }
        comp->config_json = boost::json::serialize(yaml_to_json(it->second));
    }
}

}  // namespace ntx::dsl::passes
