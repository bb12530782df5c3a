// The DSL compiler's driver: the passes (dsl/passes.hpp) in the order their names need, over one
// Compilation.
#include <algorithm>

#include "dsl/passes.hpp"

namespace ntx::dsl {

namespace passes {
namespace {

// The seeds' layout puts a resource.yaml beside script.yaml. ntx reads it only as a resource's manifest
// (or file); one that no resource names would be ignored, so it is an error that says how to use it.
void check_root_resource_yaml(Compilation& cx) {
    const std::filesystem::path path = (cx.res_dir / "resource.yaml").lexically_normal();
    if (!cx.reader.exists(path)) return;
    for (const auto& p : cx.script.pools)
        if (p.manifest == path) return;
    for (const auto& b : cx.script.blobs)
        if (b.file == path) return;
    for (const auto& k : cx.script.kv_stores)
        if (k.source != "inline" && (cx.res_dir / k.source).lexically_normal() == path) return;
    cx.out.push_back({display(cx, path), 1, 1,
                      "resource.yaml is not named by any resource of script.yaml, and ntx does not read it on its own",
                      "name it as a pair_pool's or kv_store's manifest, e.g. config: {manifest: ./resource.yaml, "
                      "parser: {format: yaml}}; or remove or rename it"});
}

// globals: {region: eu, api: {host: 127.0.0.1, port: 8080}}: the seeds' static global variables, read
// by every user as {{global.region}}, {{global.api.host}} (a constant, folded into no per-request work).
void parse_globals(Compilation& cx, FileCtx& f, const YAML::Node& n) {
    if (!expect_map(f, n, "globals")) return;
    for (auto it = n.begin(); it != n.end(); ++it) {
        auto name = scalar(f, it->first, "a global's name");
        if (!name) continue;
        if (name->empty() || name->find('.') != std::string::npos) {
            f.error(it->first, fmt::format("global '{}': a name without '.'", *name));
            continue;
        }
        auto var = std::find(cx.script.variables.begin(), cx.script.variables.end(), *name);
        if (var != cx.script.variables.end())
            f.error(it->first, fmt::format("global '{}' is also a variable an action saves (save-as)", *name),
                    "rename one: {{global." + *name + "}} would read either");
        Fields fields;
        const YAML::Node v = it->second;
        if (v.IsScalar()) {
            fields.emplace_back("body", v.Scalar());
        } else if (v.IsMap()) {
            for (auto kv = v.begin(); kv != v.end(); ++kv) {
                if (!kv->second.IsScalar()) {
                    f.error(kv->second, fmt::format("global '{}': the value of '{}' must be a scalar", *name, kv->first.Scalar()));
                    continue;
                }
                fields.emplace_back(kv->first.Scalar(), kv->second.Scalar());
            }
        } else {
            f.error(v, fmt::format("global '{}' must be a scalar or a map of scalars, found {}", *name, type_name(v)));
            continue;
        }
        cx.globals.emplace(*name, std::move(fields));
    }
}

Script compile(Compilation& cx) {
    cx.script.res_dir = cx.res_dir;
    parse_config(cx);
    apply_feature_overrides(cx);  // before any condition reads feature("name")
    std::filesystem::path script_path = cx.res_dir / "script.yaml";
    const bool from_text = cx.texts && cx.texts->script_yaml;
    FileCtx f{from_text ? cx.texts->script_name : display(cx, script_path), cx.out};
    auto root = load_yaml(cx, f, script_path, from_text ? &*cx.texts->script_yaml : nullptr);
    if (!root) return std::move(cx.script);
    if (!expect_map(f, *root, "script.yaml")) return std::move(cx.script);
    check_keys(f, *root, "script.yaml",
               {"version", "components", "resources", "workflows", "actions", "load", "monitoring", "thresholds",
                "workbook", "progress", "globals"});
    const YAML::Node& r = *root;
    if (r["version"]) {
        if (auto v = scalar(f, r["version"], "version")) cx.script.version = *v;
    }
    if (r["components"]) parse_components(cx, f, r["components"]);
    parse_component_configs(cx);
    if (r["resources"]) parse_resources(cx, f, r["resources"]);
    check_root_resource_yaml(cx);
    // Variables are named by save-as across all actions (and inline steps) before templates compile.
    collect_variables(cx, f, r);
    if (r["globals"]) parse_globals(cx, f, r["globals"]);
    // The workbook's fields before any template reads {{workbook.*}}.
    if (r["workbook"]) parse_workbook(cx, f, r["workbook"]);
    // save-as scope workbook: the variable is also the entry's field registers.<name> ({{workbook.<name>}}).
    cx.script.variable_workbook_field.assign(cx.script.variables.size(), UINT32_MAX);
    for (uint32_t i = 0; i < cx.script.variables.size(); ++i)
        if (cx.script.variable_scopes[i] == VarScope::workbook)
            cx.script.variable_workbook_field[i] = cx.script.workbook.add_register(cx.script.variables[i]);
    if (r["progress"]) parse_progress(cx, f, r["progress"]);
    if (r["monitoring"]) parse_monitoring(cx, f, r["monitoring"]);  // before handlers name monitoring.retry
    if (r["actions"]) parse_actions(cx, f, r["actions"]);
    if (r["workflows"]) parse_workflows(cx, f, r["workflows"]);
    else f.error(r, "script.yaml has no 'workflows'");
    if (r["load"]) parse_load(cx, f, r["load"]);
    else f.error(r, "script.yaml has no 'load' section (load.scenarios says what to run)");
    // After actions and scenarios: thresholds name them.
    if (r["thresholds"]) cx.script.thresholds = compile_thresholds(r["thresholds"], f.file, cx.script, cx.out);
    check_variable_graph(cx);
    check_resource_reads(cx);
    apply_overrides(cx, f, r);  // last: scenario selection drops what the checks above still read
    cx.script.workbook.mask_fields(cx.script.config.log_mask);  // log.mask covers the ledger's outputs too
    cx.script.constants.resize(cx.script.variables.size());
    return std::move(cx.script);
}

}  // namespace
}  // namespace passes

Script load_res_dir(const std::filesystem::path& res_dir, const SourceReader& reader, std::vector<Diagnostic>& diagnostics,
                    const SourceTexts* texts, const Overrides* overrides) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::path abs = fs::absolute(res_dir, ec).lexically_normal();
    if (!reader.is_directory(abs)) {
        diagnostics.push_back({res_dir.string(), 0, 0, "not a directory (expected a res_dir with script.yaml)", {}});
        return {};
    }
    if (!(texts && texts->script_yaml) && !reader.exists(abs / "script.yaml")) {
        diagnostics.push_back({(res_dir / "script.yaml").string(), 0, 0, "missing: a res_dir needs a script.yaml", {}});
        return {};
    }
    const size_t first = diagnostics.size();
    passes::Compilation cx{abs, reader, diagnostics, texts, {}, {}, {}, {}, {}, {}, {}, nullptr, {}};
    const Overrides none;
    cx.overrides = overrides ? overrides : &none;
    Script script = passes::compile(cx);
    sort_diagnostics(diagnostics, first);
    return script;
}

}  // namespace ntx::dsl
