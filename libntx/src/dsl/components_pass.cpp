// components of script.yaml and their sections of resource/config.yaml.
#include <algorithm>

#include "dsl/passes.hpp"

namespace ntx::dsl::passes {

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
        if (c["version"]) {
            spec.version_loc = f.loc(c["version"]);
            if (auto v = scalar(f, c["version"], "version")) spec.version = *v;
        } else if (!spec.builtin) {
            f.error(c, fmt::format("component '{}' has no 'version' (the semver the script needs)", spec.name));
        }
        if (c["entry"]) {
            spec.entry_loc = f.loc(c["entry"]);
            if (auto v = scalar(f, c["entry"], "entry")) spec.entry = *v;
            if (spec.kind == "wasm" && !spec.entry.ends_with(".wasm"))
                f.error(c["entry"], fmt::format("component '{}': a wasm component's entry is its .wasm file", spec.name),
                        "a path relative to the res_dir, e.g. entry: plugins/echo.wasm");
        } else if (!spec.builtin) {
            f.error(c, fmt::format("component '{}' has no 'entry' (a plugin path or bare name)", spec.name));
        }
        if (c["metadata"]) {
            const auto& m = c["metadata"];
            if (expect_map(f, m, "metadata") && m["capabilities"])
                spec.declared_capabilities = string_list(f, m["capabilities"], "metadata.capabilities");
        }
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
