// workbook: the schema's sections and aliases; update-workbook steps.
#include <algorithm>

#include "dsl/passes.hpp"

namespace ntx::dsl::passes {

// `workbook:`: the six sections, each with `defaults` (a map, nested keys flatten to dotted paths)
// and `fields` (a list of paths whose default is ""), and `expose` (alias: section path). The
// sections may also sit under a `sections:` key.
void parse_workbook(Compilation& cx, FileCtx& f, const YAML::Node& n) {
    if (!expect_map(f, n, "workbook")) return;
    std::vector<std::string_view> allowed;
    for (const char* sec : workbook::kSections) allowed.push_back(sec);
    allowed.push_back("expose");
    allowed.push_back("sections");
    check_keys(f, n, "workbook", allowed);
    auto& schema = cx.script.workbook;
    auto declare = [&](const YAML::Node& at, const std::string& section, const std::string& path, std::string value) {
        std::string full = section + "." + path;
        if (auto existing = schema.find(full)) {
            if (workbook::Schema::is_builtin(*existing))
                f.error(at, fmt::format("workbook field '{}' is kept by the scheduler; a script cannot declare it", full));
            else
                f.error(at, fmt::format("workbook field '{}' is declared twice", full));
            return;
        }
        schema.add_field(full, std::move(value));
    };
    auto parse_section = [&](const std::string& section, const YAML::Node& body) {
        if (body.IsNull()) return;
        if (!expect_map(f, body, fmt::format("workbook.{}", section))) return;
        check_keys(f, body, fmt::format("workbook.{}", section), {"defaults", "fields"});
        std::vector<std::string> with_default;
        if (body["defaults"] && expect_map(f, body["defaults"], fmt::format("workbook.{}.defaults", section))) {
            std::vector<std::pair<std::string, YAML::Node>> flat;
            flatten(body["defaults"], "", flat);
            for (auto& [path, value] : flat) {
                if (!value.IsScalar() && !value.IsNull()) {
                    f.error(value, fmt::format("workbook.{}.defaults.{} must be a scalar, found {}", section, path,
                                               type_name(value)));
                    continue;
                }
                declare(value, section, path, value.IsScalar() ? value.Scalar() : std::string());
                with_default.push_back(path);
            }
        }
        if (body["fields"] && expect_seq(f, body["fields"], fmt::format("workbook.{}.fields", section))) {
            for (const auto& item : body["fields"]) {
                auto path = scalar(f, item, "a workbook field");
                if (!path) continue;
                if (path->empty() || path->front() == '.' || path->back() == '.') {
                    f.error(item, fmt::format("'{}' is not a field path (names joined by dots)", *path));
                    continue;
                }
                // A field both in `fields` and `defaults` is one field (its default from `defaults`).
                if (std::find(with_default.begin(), with_default.end(), *path) != with_default.end()) continue;
                declare(item, section, *path, {});
            }
        }
    };
    // (A YAML::Node is a reference: built once here, never assigned to.)
    const YAML::Node sections = n["sections"] ? YAML::Node(n["sections"]) : n;
    if (n["sections"]) {
        if (expect_map(f, sections, "workbook.sections")) {
            std::vector<std::string_view> names(allowed.begin(), allowed.end() - 2);
            check_keys(f, sections, "workbook.sections", names);
        }
    }
    if (sections.IsMap())
        for (auto it = sections.begin(); it != sections.end(); ++it) {
            std::string key = it->first.Scalar();
            if (!workbook::is_section(key)) continue;
            if (n["sections"] && n[key]) f.error(it->first, fmt::format("workbook section '{}' is written twice", key));
            YAML::Node body = it->second;
            parse_section(key, body);
        }
    if (n["sections"])
        for (const char* sec : workbook::kSections)
            if (n[sec]) {
                YAML::Node body = n[sec];
                parse_section(sec, body);
            }
    if (n["expose"] && expect_map(f, n["expose"], "workbook.expose")) {
        const YAML::Node ex = n["expose"];
        for (auto it = ex.begin(); it != ex.end(); ++it) {
            std::string alias = it->first.Scalar();
            YAML::Node target_node = it->second;
            auto target = scalar(f, target_node, fmt::format("workbook.expose.{}", alias));
            if (!target) continue;
            std::optional<uint32_t> id;
            for (uint32_t i = 0; i < schema.size(); ++i)
                if (schema.field(i).path == *target) id = i;
            if (!id) {
                std::vector<std::string_view> paths;
                for (uint32_t i = 0; i < schema.size(); ++i) paths.push_back(schema.field(i).path);
                auto guess = closest_match(*target, paths);
                f.error(target_node, fmt::format("workbook.expose.{}: no workbook field '{}'", alias, *target),
                        guess.empty() ? "an alias names a section path, e.g. timeline.phase or telemetry.counters.success"
                                      : fmt::format("did you mean '{}'?", guess));
                continue;
            }
            if (!schema.add_alias(alias, *id))
                f.error(it->first, fmt::format("workbook.expose.{}: '{}' already names another workbook field", alias, alias));
        }
    }
}

// update-workbook: {path-or-alias: "template", ...}; nested maps flatten to dotted paths.
void parse_workbook_updates(Compilation& cx, FileCtx& f, const YAML::Node& n, Step& st, std::string_view where) {
    if (!expect_map(f, n, where)) return;
    if (n.size() == 0) f.error(n, fmt::format("{} names no field", where));
    std::vector<std::pair<std::string, YAML::Node>> flat;
    flatten(n, "", flat);
    const auto& schema = cx.script.workbook;
    for (auto& [path, value] : flat) {
        auto id = schema.find(path);
        if (!id) {
            auto guess = closest_match(path, schema.names());
            f.error(value, fmt::format("{}: the workbook has no field or alias '{}'", where, path),
                    guess.empty() ? "declare it under workbook.<section>.fields or .defaults"
                                  : fmt::format("did you mean '{}'?", guess));
            continue;
        }
        if (workbook::Schema::is_builtin(*id)) {
            f.error(value, fmt::format("{}: '{}' is kept by the scheduler; a script cannot write it", where, path),
                    "write a field of the script's own (workbook.<section>.fields)");
            continue;
        }
        if (!value.IsScalar()) {
            f.error(value, fmt::format("{}.{} must be a scalar (a template), found {}", where, path, type_name(value)));
            continue;
        }
        std::string err;
        size_t offset = 0;
        if (auto t = Template::compile(value.Scalar(), resolver(cx), err, offset)) st.updates.emplace_back(*id, std::move(*t));
        else f.error(value, err);
    }
}

}  // namespace ntx::dsl::passes
