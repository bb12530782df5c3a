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
        } else if (spec.kind == "wasm" || spec.kind == "wasi-component") {
            f.error(c["kind"], fmt::format("component '{}': the wasm loader is not part of this build", spec.name));
        } else if (spec.kind == "service-adapter") {
            f.error(c["kind"], "kind 'service-adapter' is reserved and cannot be loaded");
        } else if (spec.kind != "native") {
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
