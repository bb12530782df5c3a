// script.yaml / config.yaml / resource/config.yaml -> Script, with every problem reported at its
// file:line:col. Unknown keys are errors (a typo must never be silently ignored); keys the DSL defines
// but this version does not implement yet are errors too, saying so.
#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <fmt/format.h>
#include <functional>
#include <map>
#include <set>
#include <tuple>

#include "dsl/script.hpp"
#include "dsl/units.hpp"
#include "dsl/yaml_source.hpp"
#include "report/thresholds.hpp"
#include "resource/manifest.hpp"

namespace ntx::dsl {
namespace fs = std::filesystem;

namespace {
std::string sha256_hex(const std::string& data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
    std::string hex;
    hex.reserve(len * 2);
    for (unsigned i = 0; i < len; ++i) hex += fmt::format("{:02x}", md[i]);
    return hex;
}
}  // namespace

std::string closest_match(std::string_view word, const std::vector<std::string_view>& candidates) {
    auto distance = [](std::string_view a, std::string_view b) {
        std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
        for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
        for (size_t i = 1; i <= a.size(); ++i) {
            cur[0] = i;
            for (size_t j = 1; j <= b.size(); ++j)
                cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1] ? 1u : 0u)});
            std::swap(prev, cur);
        }
        return prev[b.size()];
    };
    std::string best;
    size_t best_d = std::max<size_t>(2, word.size() / 3) + 1;
    for (auto c : candidates) {
        size_t d = distance(word, c);
        if (d < best_d) {
            best_d = d;
            best = std::string(c);
        }
    }
    return best;
}

namespace {

// Reports problems of one file.
struct FileCtx {
    std::string file;
    std::vector<Diagnostic>& out;

    SourceLoc loc(const YAML::Node& n) const {
        auto m = n.Mark();
        if (m.is_null()) return {file, 0, 0};
        return {file, m.line + 1, m.column + 1};
    }
    void error(const YAML::Mark& m, std::string message, std::string hint = {}) {
        Diagnostic d{file, m.is_null() ? 0 : m.line + 1, m.is_null() ? 0 : m.column + 1, std::move(message),
                     std::move(hint)};
        out.push_back(std::move(d));
    }
    void error(const YAML::Node& n, std::string message, std::string hint = {}) {
        error(n.Mark(), std::move(message), std::move(hint));
    }
};

const char* type_name(const YAML::Node& n) {
    switch (n.Type()) {
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Null: return "empty";
    default: return "undefined";
    }
}

// The index of the item called `name` in `items` (anything with a .name); otherwise reports
// "unknown <what> 'name'" at `node`, with a did-you-mean hint when a name is close.
template <class T>
std::optional<uint32_t> find_named(FileCtx& f, const YAML::Node& node, const std::vector<T>& items,
                                   const std::string& name, std::string_view what, std::string_view otherwise = {}) {
    for (size_t i = 0; i < items.size(); ++i)
        if (items[i].name == name) return static_cast<uint32_t>(i);
    std::vector<std::string_view> names;
    for (const auto& item : items) names.push_back(item.name);
    auto guess = closest_match(name, names);
    f.error(node, fmt::format("unknown {} '{}'", what, name),
            guess.empty() ? std::string(otherwise) : fmt::format("did you mean '{}'?", guess));
    return std::nullopt;
}

bool expect_map(FileCtx& f, const YAML::Node& n, std::string_view what) {
    if (n.IsMap()) return true;
    f.error(n, fmt::format("{} must be a map, found {}", what, type_name(n)));
    return false;
}

bool expect_seq(FileCtx& f, const YAML::Node& n, std::string_view what) {
    if (n.IsSequence()) return true;
    f.error(n, fmt::format("{} must be a list, found {}", what, type_name(n)));
    return false;
}

// Checks every key of `map` against `allowed`; `later` are DSL keys this version does not run yet.
void check_keys(FileCtx& f, const YAML::Node& map, std::string_view where, std::vector<std::string_view> allowed,
                std::vector<std::string_view> later = {}) {
    for (auto it = map.begin(); it != map.end(); ++it) {
        const YAML::Node key = it->first;
        std::string k = key.IsScalar() ? key.Scalar() : std::string();
        if (std::find(allowed.begin(), allowed.end(), k) != allowed.end()) continue;
        if (std::find(later.begin(), later.end(), k) != later.end()) {
            f.error(key, fmt::format("'{}' in {} is part of the ntx DSL but not supported by this version yet", k, where));
            continue;
        }
        std::vector<std::string_view> all = allowed;
        all.insert(all.end(), later.begin(), later.end());
        auto guess = closest_match(k, all);
        f.error(key, fmt::format("unknown key '{}' in {}", k, where),
                guess.empty() ? std::string() : fmt::format("did you mean '{}'?", guess));
    }
}

std::optional<std::string> scalar(FileCtx& f, const YAML::Node& n, std::string_view what) {
    if (n.IsScalar()) return n.Scalar();
    f.error(n, fmt::format("{} must be a scalar, found {}", what, type_name(n)));
    return std::nullopt;
}

std::optional<uint64_t> uint_value(FileCtx& f, const YAML::Node& n, std::string_view what) {
    auto s = scalar(f, n, what);
    if (!s) return std::nullopt;
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
    if (ec != std::errc() || p != s->data() + s->size()) {
        f.error(n, fmt::format("{} must be a non-negative integer, found '{}'", what, *s));
        return std::nullopt;
    }
    return v;
}

std::optional<uint64_t> duration(FileCtx& f, const YAML::Node& n, std::string_view what) {
    auto s = scalar(f, n, what);
    if (!s) return std::nullopt;
    auto v = parse_duration_ms(*s);
    if (!v) f.error(n, fmt::format("{} must be a duration such as 500ms, 5s or 2m, found '{}'", what, *s));
    return v;
}

std::optional<bool> bool_value(FileCtx& f, const YAML::Node& n, std::string_view what) {
    auto s = scalar(f, n, what);
    if (!s) return std::nullopt;
    if (*s == "true") return true;
    if (*s == "false") return false;
    f.error(n, fmt::format("{} must be true or false, found '{}'", what, *s));
    return std::nullopt;
}

std::optional<double> rate(FileCtx& f, const YAML::Node& n, std::string_view what) {
    auto s = scalar(f, n, what);
    if (!s) return std::nullopt;
    auto v = parse_rate_per_s(*s);
    if (!v) f.error(n, fmt::format("{} must be a rate such as 200/s or 10/m, found '{}'", what, *s));
    return v;
}

std::vector<std::string> string_list(FileCtx& f, const YAML::Node& n, std::string_view what) {
    std::vector<std::string> out;
    if (!expect_seq(f, n, what)) return out;
    for (const auto& item : n)
        if (auto s = scalar(f, item, what)) out.push_back(*s);
    return out;
}

boost::json::value yaml_to_json(const YAML::Node& n) {
    switch (n.Type()) {
    case YAML::NodeType::Map: {
        boost::json::object o;
        for (auto it = n.begin(); it != n.end(); ++it) o[it->first.Scalar()] = yaml_to_json(it->second);
        return o;
    }
    case YAML::NodeType::Sequence: {
        boost::json::array a;
        for (const auto& item : n) a.push_back(yaml_to_json(item));
        return a;
    }
    case YAML::NodeType::Scalar: {
        const std::string& s = n.Scalar();
        if (n.Tag() != "!") {  // plain scalars may be numbers or booleans
            if (s == "true") return true;
            if (s == "false") return false;
            int64_t i;
            auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
            if (ec == std::errc() && p == s.data() + s.size() && !s.empty()) return i;
        }
        return boost::json::string(s);
    }
    default: return nullptr;
    }
}

std::optional<YAML::Node> load_yaml(FileCtx& f, const fs::path& path, const std::string* text = nullptr) {
    return text ? parse_yaml(*text, f.file, f.out) : load_yaml_file(path, f.file, f.out);
}

// Flattens a `with` map into "a.b" keys.
void flatten(const YAML::Node& n, const std::string& prefix, std::vector<std::pair<std::string, YAML::Node>>& out) {
    if (n.IsMap()) {
        for (auto it = n.begin(); it != n.end(); ++it)
            flatten(it->second, prefix.empty() ? it->first.Scalar() : prefix + "." + it->first.Scalar(), out);
    } else {
        out.emplace_back(prefix, n);
    }
}

class Parser {
public:
    Parser(const fs::path& res_dir, std::vector<Diagnostic>& out, const SourceTexts* texts)
        : res_dir_(res_dir), out_(out), texts_(texts) {}

    Script run() {
        script_.res_dir = res_dir_;
        parse_config();
        fs::path script_path = res_dir_ / "script.yaml";
        const bool from_text = texts_ && texts_->script_yaml;
        FileCtx f{from_text ? texts_->script_name : display(script_path), out_};
        auto root = load_yaml(f, script_path, from_text ? &*texts_->script_yaml : nullptr);
        if (!root) return std::move(script_);
        if (!expect_map(f, *root, "script.yaml")) return std::move(script_);
        check_keys(f, *root, "script.yaml",
                   {"version", "components", "resources", "workflows", "actions", "load", "monitoring", "thresholds",
                    "workbook", "progress"});
        const YAML::Node& r = *root;
        if (r["version"]) {
            if (auto v = scalar(f, r["version"], "version")) script_.version = *v;
        }
        if (r["components"]) parse_components(f, r["components"]);
        parse_component_configs();
        if (r["resources"]) parse_resources(f, r["resources"]);
        // Variables are named by save-as across all actions (and inline steps) before templates compile.
        collect_variables(f, r);
        // The workbook's fields before any template reads {{workbook.*}}.
        if (r["workbook"]) parse_workbook(f, r["workbook"]);
        // save-as scope workbook: the variable is also the entry's field registers.<name> ({{workbook.<name>}}).
        script_.variable_workbook_field.assign(script_.variables.size(), UINT32_MAX);
        for (uint32_t i = 0; i < script_.variables.size(); ++i)
            if (script_.variable_scopes[i] == VarScope::workbook)
                script_.variable_workbook_field[i] = script_.workbook.add_register(script_.variables[i]);
        if (r["progress"]) parse_progress(f, r["progress"]);
        if (r["monitoring"]) parse_monitoring(f, r["monitoring"]);  // before handlers name monitoring.retry
        if (r["actions"]) parse_actions(f, r["actions"]);
        if (r["workflows"]) parse_workflows(f, r["workflows"]);
        else f.error(r, "script.yaml has no 'workflows'");
        if (r["load"]) parse_load(f, r["load"]);
        else f.error(r, "script.yaml has no 'load' section (load.scenarios says what to run)");
        // After actions and scenarios: thresholds name them.
        if (r["thresholds"]) script_.thresholds = report::compile_thresholds(r["thresholds"], f.file, script_, out_);
        check_variable_graph();
        check_resource_reads();
        script_.workbook.mask_fields(script_.config.log_mask);  // log.mask covers the ledger's outputs too
        script_.constants.resize(script_.variables.size());
        return std::move(script_);
    }

private:
    std::string display(const fs::path& p) const {
        std::error_code ec;
        auto rel = fs::relative(p, fs::current_path(), ec);
        if (!ec && !rel.empty() && rel.native().rfind("..", 0) != 0) return rel.string();
        return p.string();
    }

    void parse_config() {
        fs::path path = res_dir_ / "config.yaml";
        const bool from_text = texts_ && texts_->config_yaml;
        if (!from_text && !fs::exists(path)) return;
        FileCtx f{from_text ? texts_->config_name : display(path), out_};
        auto root = load_yaml(f, path, from_text ? &*texts_->config_yaml : nullptr);
        if (!root || root->IsNull()) return;
        if (!expect_map(f, *root, "config.yaml")) return;
        check_keys(f, *root, "config.yaml",
                   {"tick", "threads", "action-timeout", "grace-period", "log", "logging", "dynamic-tasks", "network"},
                   {"outputs", "features", "masking"});
        const YAML::Node& c = *root;
        if (c["tick"]) {
            if (auto v = duration(f, c["tick"], "tick")) {
                if (*v == 0 || *v > 1000) f.error(c["tick"], "tick must be between 1ms and 1s");
                else script_.config.tick_ms = *v;
            }
        }
        if (c["threads"]) {
            if (auto v = uint_value(f, c["threads"], "threads")) script_.config.threads = static_cast<unsigned>(*v);
        }
        if (c["grace-period"]) {
            if (auto v = duration(f, c["grace-period"], "grace-period")) script_.config.grace_ms = *v;
        }
        if (c["action-timeout"]) {
            if (auto v = duration(f, c["action-timeout"], "action-timeout")) script_.config.action_timeout_ms = *v;
        }
        if (c["network"] && expect_map(f, c["network"], "network")) {
            // Both directions share one window (the smaller), each keeping its bytes per millisecond.
            const YAML::Node& n = c["network"];
            check_keys(f, n, "network", {"send-rate", "recv-rate"});
            std::optional<ByteRate> send, recv;
            for (auto [key, out] : {std::pair{"send-rate", &send}, std::pair{"recv-rate", &recv}}) {
                if (!n[key]) continue;
                auto text = scalar(f, n[key], key);
                if (!text) continue;
                *out = parse_byte_rate(*text, script_.config.tick_ms);
                if (!*out || (*out)->bytes <= 0 || (*out)->per_ms == 0)
                    f.error(n[key], fmt::format("network.{} must be a positive byte rate such as 512KiB/s or 64KB/tick, "
                                                "found '{}'", key, *text));
            }
            uint64_t window = std::min(send ? send->per_ms : UINT64_MAX, recv ? recv->per_ms : UINT64_MAX);
            if (window != UINT64_MAX && window > 0) {
                window = std::max<uint64_t>(window, 10);  // windows under 10 ms only cost wakeups
                script_.config.rate_window_ms = static_cast<uint32_t>(window);
                auto per_window = [&](const ByteRate& r) {
                    return std::max<uint64_t>(1, static_cast<uint64_t>(r.bytes * static_cast<double>(window) / static_cast<double>(r.per_ms)));
                };
                if (send && send->bytes > 0) script_.config.send_bytes = per_window(*send);
                if (recv && recv->bytes > 0) script_.config.recv_bytes = per_window(*recv);
            }
        }
        if (c["dynamic-tasks"] && expect_map(f, c["dynamic-tasks"], "dynamic-tasks")) {
            const YAML::Node& d = c["dynamic-tasks"];
            check_keys(f, d, "dynamic-tasks", {"max-concurrent", "rate"});
            if (d["max-concurrent"])
                script_.config.dynamic_max_concurrent = uint_value(f, d["max-concurrent"], "max-concurrent").value_or(1000);
            if (d["rate"]) {
                script_.config.dynamic_rate = rate(f, d["rate"], "dynamic-tasks.rate").value_or(0);
                if (script_.config.dynamic_rate <= 0 && d["rate"].IsScalar()) f.error(d["rate"], "dynamic-tasks.rate must be positive");
            }
        }
        // `logging` (SPEC's name) and `log` are the same section.
        if (c["log"] && c["logging"]) f.error(c["logging"], "config.yaml has both 'log' and 'logging' (the same section)");
        const YAML::Node log = c["log"] ? c["log"] : c["logging"];
        if (log) {
            if (expect_map(f, log, "log")) {
                check_keys(f, log, "log", {"level", "mask"});
                if (log["mask"]) script_.config.log_mask = string_list(f, log["mask"], "log.mask");
                if (log["level"]) {
                    auto lvl = scalar(f, log["level"], "log.level");
                    static const std::vector<std::string_view> levels{"trace", "debug", "info", "warn", "error", "off"};
                    if (lvl && std::find(levels.begin(), levels.end(), *lvl) == levels.end())
                        f.error(log["level"], fmt::format("unknown log level '{}'", *lvl),
                                "one of trace, debug, info, warn, error, off");
                    else if (lvl)
                        script_.config.log_level = *lvl;
                }
            }
        }
    }

    void parse_components(FileCtx& f, const YAML::Node& n) {
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
            for (const auto& other : script_.components)
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
            script_.components.push_back(std::move(spec));
        }
    }

    void parse_component_configs() {
        fs::path path = res_dir_ / "resource" / "config.yaml";
        if (!fs::exists(path)) return;
        FileCtx f{display(path), out_};
        auto root = load_yaml(f, path);
        if (!root || root->IsNull()) return;
        if (!expect_map(f, *root, "resource/config.yaml")) return;
        for (auto it = root->begin(); it != root->end(); ++it) {
            const std::string name = it->first.Scalar();
            auto comp = std::find_if(script_.components.begin(), script_.components.end(),
                                     [&](const ComponentSpec& c) { return c.name == name; });
            if (comp == script_.components.end()) {
                std::vector<std::string_view> names;
                for (const auto& c : script_.components) names.push_back(c.name);
                auto guess = closest_match(name, names);
                f.error(it->first, fmt::format("'{}' is not a component of script.yaml", name),
                        guess.empty() ? "" : fmt::format("did you mean '{}'?", guess));
                continue;
            }
            comp->config_json = boost::json::serialize(yaml_to_json(it->second));
        }
    }

    void parse_resources(FileCtx& f, const YAML::Node& n) {
        if (!expect_map(f, n, "resources")) return;
        for (auto it = n.begin(); it != n.end(); ++it) {
            const YAML::Node r = it->second;
            PoolSpec pool;
            pool.name = it->first.Scalar();
            pool.loc = f.loc(it->first);
            if (!expect_map(f, r, fmt::format("resource '{}'", pool.name))) continue;
            check_keys(f, r, "a resource", {"type", "provider", "config", "capacity", "health-check", "metadata"});
            // Free-form, as a component's (owner, guard domain, tags): documentation the scheduler does not read.
            if (r["metadata"]) expect_map(f, r["metadata"], "metadata");
            std::string type = r["type"] ? scalar(f, r["type"], "type").value_or("") : "";
            if (type != "pair_pool" && r["health-check"])
                f.error(r["health-check"], "health-check applies to pair_pool resources (items with an address to probe)");
            if (!r["type"]) f.error(it->first, fmt::format("resource '{}' has no 'type'", pool.name));
            else if (type == "file_blob") {
                parse_blob(f, it->first, r);
                continue;
            } else if (type == "kv_store") {
                parse_kv_store(f, it->first, r);
                continue;
            } else if (type != "pair_pool")
                f.error(r["type"], fmt::format("unknown resource type '{}'", type), "one of pair_pool, file_blob, kv_store");
            if (r["provider"] && expect_map(f, r["provider"], "provider")) parse_provider(f, r["provider"], pool);
            if (r["config"] && expect_map(f, r["config"], "config")) {
                const auto& c = r["config"];
                for (const char* blob_key : {"file", "checksum"})
                    if (c[blob_key])
                        f.error(c[blob_key], fmt::format("'{}' is a file_blob's config; pair_pool '{}' reads its items from "
                                                         "config.manifest",
                                                         blob_key, pool.name),
                                "type: file_blob for one shared file");
                check_keys(f, c, "resource config", {"manifest", "parser", "file", "checksum"});
                if (c["manifest"]) {
                    pool.manifest_loc = f.loc(c["manifest"]);
                    if (auto v = scalar(f, c["manifest"], "manifest")) pool.manifest = (res_dir_ / *v).lexically_normal();
                } else {
                    f.error(c, fmt::format("resource '{}' has no config.manifest", pool.name));
                }
                if (c["parser"] && expect_map(f, c["parser"], "parser")) {
                    check_keys(f, c["parser"], "parser", {"format", "fields"});
                    if (c["parser"]["format"]) {
                        pool.format = scalar(f, c["parser"]["format"], "format").value_or("csv");
                        if (pool.format != "csv" && pool.format != "yaml")
                            f.error(c["parser"]["format"], fmt::format("unknown manifest format '{}'", pool.format),
                                    "csv or yaml");
                    }
                    if (c["parser"]["fields"]) pool.fields = string_list(f, c["parser"]["fields"], "fields");
                }
                if (pool.fields.empty()) f.error(c, fmt::format("resource '{}' needs config.parser.fields", pool.name));
            } else if (!r["config"]) {
                f.error(it->first, fmt::format("resource '{}' has no 'config'", pool.name));
            }
            if (r["health-check"] && expect_map(f, r["health-check"], "health-check"))
                parse_health_check(f, r["health-check"], pool);
            if (r["capacity"] && expect_map(f, r["capacity"], "capacity")) {
                const auto& c = r["capacity"];
                check_keys(f, c, "capacity", {"size", "guard"});
                if (c["size"]) pool.capacity = uint_value(f, c["size"], "capacity.size");
                if (c["guard"]) {
                    auto g = scalar(f, c["guard"], "guard").value_or("");
                    if (g == "exclusive") pool.guard = Guard::exclusive;
                    else if (g == "shared") pool.guard = Guard::shared;
                    else f.error(c["guard"], fmt::format("unknown guard '{}'", g), "exclusive or shared");
                }
            }
            script_.pools.push_back(std::move(pool));
        }
    }

    // file_blob: config.file read now (every user shares it), config.checksum `auto` (computed) or the
    // expected sha256 (a mismatch is an error here, before anything runs).
    void parse_blob(FileCtx& f, const YAML::Node& key, const YAML::Node& r) {
        BlobSpec blob;
        blob.name = key.Scalar();
        blob.loc = f.loc(key);
        if (r["capacity"]) f.error(r["capacity"], "capacity applies to pair_pool resources");
        if (r["provider"] && expect_map(f, r["provider"], "provider")) {
            PoolSpec unused;
            parse_provider(f, r["provider"], unused);
        }
        if (!r["config"]) {
            f.error(key, fmt::format("resource '{}' has no 'config' (config.file names the file)", blob.name));
            return;
        }
        const YAML::Node& c = r["config"];
        if (!expect_map(f, c, "config")) return;
        check_keys(f, c, "file_blob config", {"file", "checksum"});
        if (!c["file"]) {
            f.error(c, fmt::format("resource '{}' has no config.file", blob.name));
            return;
        }
        auto rel = scalar(f, c["file"], "file");
        if (!rel) return;
        blob.file = (res_dir_ / *rel).lexically_normal();
        std::error_code ec;
        auto size = fs::file_size(blob.file, ec);
        if (ec || !fs::is_regular_file(blob.file)) {
            f.error(c["file"], fmt::format("cannot read '{}': {}", *rel, ec ? ec.message() : "not a regular file"));
            return;
        }
        if (size > (uint64_t{256} << 20)) {
            f.error(c["file"], fmt::format("'{}' is {} bytes; a file_blob holds at most 256 MiB", *rel, size));
            return;
        }
        std::string content(size, '\0');
        {
            std::FILE* in = std::fopen(blob.file.c_str(), "rb");
            bool ok = in && std::fread(content.data(), 1, size, in) == size;
            if (in) std::fclose(in);
            if (!ok) {
                f.error(c["file"], fmt::format("cannot read '{}'", *rel));
                return;
            }
        }
        std::string digest = sha256_hex(content);
        if (c["checksum"]) {
            auto want = scalar(f, c["checksum"], "checksum").value_or("auto");
            std::string hex = want.rfind("sha256:", 0) == 0 ? want.substr(7) : want;
            std::transform(hex.begin(), hex.end(), hex.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
            if (want != "auto" && hex != digest)
                f.error(c["checksum"], fmt::format("'{}' does not match its checksum: sha256 is {}", *rel, digest),
                        "update the checksum, or write checksum: auto");
        }
        blob.sha256 = digest;
        blob.size = size;
        blob.verified = c["checksum"] && c["checksum"].IsScalar() && c["checksum"].Scalar() != "auto";
        add_variable("blob." + blob.name);
        blob.slot = static_cast<uint32_t>(std::find(script_.variables.begin(), script_.variables.end(), "blob." + blob.name) -
                                          script_.variables.begin());
        auto fields = std::make_shared<Fields>();
        fields->emplace_back("body", std::move(content));
        fields->emplace_back("sha256", digest);
        fields->emplace_back("size", std::to_string(size));
        if (script_.constants.size() <= blob.slot) script_.constants.resize(blob.slot + 1);
        script_.constants[blob.slot] = std::move(fields);
        script_.blobs.push_back(std::move(blob));
    }

    void parse_provider(FileCtx& f, const YAML::Node& p, PoolSpec& pool) {
        check_keys(f, p, "provider", {"component", "calls", "leasing"});
        if (p["component"]) {
            auto name = scalar(f, p["component"], "provider.component").value_or("");
            auto comp = std::find_if(script_.components.begin(), script_.components.end(),
                                     [&](const ComponentSpec& c) { return c.name == name; });
            if (name != "resource-manager" && (comp == script_.components.end() || !comp->builtin))
                f.error(p["component"],
                        fmt::format("provider '{}' is not the built-in resource-manager", name),
                        "declare it with kind: builtin, or name resource-manager");
        }
        if (p["calls"] && expect_map(f, p["calls"], "calls")) check_keys(f, p["calls"], "calls", {"acquire", "release", "mount"});
        if (p["leasing"] && expect_map(f, p["leasing"], "leasing")) {
            const auto& l = p["leasing"];
            check_keys(f, l, "leasing", {"ttl", "strategy", "auto-renew", "wait-timeout"});
            if (l["ttl"]) pool.ttl_ms = duration(f, l["ttl"], "ttl").value_or(0);
            if (l["auto-renew"]) {
                pool.auto_renew = bool_value(f, l["auto-renew"], "auto-renew").value_or(false);
                if (pool.auto_renew && !l["ttl"]) f.error(l["auto-renew"], "auto-renew renews a lease's ttl: set leasing.ttl too");
            }
            if (l["wait-timeout"]) pool.wait_timeout_ms = duration(f, l["wait-timeout"], "wait-timeout").value_or(0);
            if (l["strategy"]) {
                auto s = scalar(f, l["strategy"], "strategy").value_or("");
                if (s == "round-robin") pool.strategy = LeaseStrategy::round_robin;
                else if (s == "least-used") pool.strategy = LeaseStrategy::least_used;
                else f.error(l["strategy"], fmt::format("unknown leasing strategy '{}'", s), "round-robin or least-used");
            }
        }
    }

    // health-check: {interval, timeout, probe: tcp, on-failure: evict | rollback | ignore}.
    void parse_health_check(FileCtx& f, const YAML::Node& h, PoolSpec& pool) {
        check_keys(f, h, "health-check", {"interval", "timeout", "probe", "on-failure"});
        pool.health.set = true;
        pool.health.loc = f.loc(h);
        if (h["interval"]) pool.health.interval_ms = duration(f, h["interval"], "health-check.interval").value_or(5'000);
        if (h["timeout"]) pool.health.timeout_ms = duration(f, h["timeout"], "health-check.timeout").value_or(1'000);
        if (pool.health.interval_ms == 0) f.error(h["interval"], "health-check.interval must be more than 0");
        if (pool.health.timeout_ms == 0 || pool.health.timeout_ms > pool.health.interval_ms)
            f.error(h["timeout"] ? h["timeout"] : h, "health-check.timeout must be more than 0 and at most the interval");
        if (h["probe"]) {
            auto probe = scalar(f, h["probe"], "health-check.probe").value_or("");
            if (probe != "tcp" && probe != "tcp-connect")
                f.error(h["probe"], fmt::format("unknown probe '{}'", probe),
                        "tcp: a TCP connect to each item's ip (or host) and port");
        }
        if (h["on-failure"]) {
            auto v = scalar(f, h["on-failure"], "health-check.on-failure").value_or("");
            if (v == "evict") pool.health.on_failure = OnProbeFailure::evict;
            else if (v == "rollback" || v == "progress.rollback" || v == "last-stable-point")
                pool.health.on_failure = OnProbeFailure::rollback;
            else if (v == "ignore") pool.health.on_failure = OnProbeFailure::ignore;
            else f.error(h["on-failure"], fmt::format("unknown on-failure '{}'", v), "evict, rollback or ignore");
        }
        auto has = [&](const char* field) { return std::find(pool.fields.begin(), pool.fields.end(), field) != pool.fields.end(); };
        if (!pool.fields.empty() && (!(has("ip") || has("host")) || !has("port")))
            f.error(h, fmt::format("the tcp probe connects to each item's ip (or host) and port, but resource '{}' has fields {}",
                                   pool.name, fmt::join(pool.fields, ", ")));
    }

    // kv_store: key/value records from a manifest (parser.fields, default [key, value]) or an inline
    // `items` map, read now and shared read-only by every user as {{resource.<store>.<key>}}.
    void parse_kv_store(FileCtx& f, const YAML::Node& key, const YAML::Node& r) {
        KvStoreSpec kv;
        kv.name = key.Scalar();
        kv.loc = f.loc(key);
        if (r["capacity"]) f.error(r["capacity"], "capacity applies to pair_pool resources");
        if (r["provider"] && expect_map(f, r["provider"], "provider")) {
            PoolSpec unused;
            parse_provider(f, r["provider"], unused);
            if (r["provider"]["leasing"])
                f.error(r["provider"]["leasing"], "a kv_store is shared read-only: it has no leases");
        }
        if (kv.name.find('.') != std::string::npos) f.error(key, "a kv_store's name cannot contain '.'");
        if (!r["config"]) {
            f.error(key, fmt::format("resource '{}' has no 'config' (config.manifest or config.items)", kv.name));
            return;
        }
        const YAML::Node& c = r["config"];
        if (!expect_map(f, c, "config")) return;
        check_keys(f, c, "kv_store config", {"manifest", "parser", "items"});
        if (c["items"]) {
            if (c["manifest"]) f.error(c["items"], "a kv_store takes config.manifest or config.items, not both");
            if (!expect_map(f, c["items"], "config.items")) return;
            kv.source = "inline";
            for (auto it = c["items"].begin(); it != c["items"].end(); ++it) {
                const YAML::Node v = it->second;
                if (!v.IsScalar()) {
                    f.error(v, fmt::format("kv_store '{}': the value of '{}' must be a scalar", kv.name, it->first.Scalar()));
                    continue;
                }
                kv.entries.emplace_back(it->first.Scalar(), v.Scalar());
            }
        } else if (c["manifest"]) {
            resource::ManifestSpec m;
            m.resource = kv.name;
            m.fields = {"key", "value"};
            m.map_of_scalars = true;
            m.loc = f.loc(c["manifest"]);
            auto rel = scalar(f, c["manifest"], "manifest");
            if (!rel) return;
            kv.source = *rel;
            m.path = (res_dir_ / *rel).lexically_normal();
            if (c["parser"] && expect_map(f, c["parser"], "parser")) {
                check_keys(f, c["parser"], "parser", {"format", "fields"});
                if (c["parser"]["format"]) {
                    m.format = scalar(f, c["parser"]["format"], "format").value_or("csv");
                    if (m.format != "csv" && m.format != "yaml")
                        f.error(c["parser"]["format"], fmt::format("unknown manifest format '{}'", m.format), "csv or yaml");
                }
                if (c["parser"]["fields"]) {
                    m.fields = string_list(f, c["parser"]["fields"], "fields");
                    if (m.fields.size() != 2)
                        f.error(c["parser"]["fields"], "a kv_store's parser.fields names two fields: the key's and the value's");
                }
            } else if (m.path.extension() == ".yaml" || m.path.extension() == ".yml") {
                m.format = "yaml";
            }
            if (m.fields.size() == 2 && (m.format == "csv" || m.format == "yaml")) {
                size_t before = out_.size();
                auto rows = resource::read_manifest(m, out_);
                if (out_.size() == before)
                    for (auto& row : rows) kv.entries.emplace_back(std::move(row[0]), std::move(row[1]));
            }
        } else {
            f.error(c, fmt::format("resource '{}' needs config.manifest or config.items", kv.name));
            return;
        }
        std::set<std::string> seen;
        for (const auto& [k, v] : kv.entries)
            if (!seen.insert(k).second)
                f.error(c["items"] ? c["items"] : c["manifest"], fmt::format("kv_store '{}': key '{}' appears twice", kv.name, k));
        script_.kv_stores.push_back(std::move(kv));
    }

    // `resource.<store>.<key>` of a template: a constant variable, made the first time a template names
    // it (only the keys templates read take a slot).
    std::optional<uint32_t> kv_slot(std::string_view name) {
        std::string_view rest = name.substr(std::string_view("resource.").size());
        size_t dot = rest.find('.');
        if (dot == std::string_view::npos) return std::nullopt;
        std::string_view store = rest.substr(0, dot), key = rest.substr(dot + 1);
        for (const auto& kv : script_.kv_stores) {
            if (kv.name != store) continue;
            for (const auto& [k, v] : kv.entries) {
                if (k != key) continue;
                std::string var(name);
                auto it = std::find(script_.variables.begin(), script_.variables.end(), var);
                if (it != script_.variables.end()) return static_cast<uint32_t>(it - script_.variables.begin());
                script_.variables.push_back(var);
                script_.variable_scopes.push_back(VarScope::task);
                auto slot = static_cast<uint32_t>(script_.variables.size() - 1);
                if (script_.constants.size() <= slot) script_.constants.resize(slot + 1);
                script_.constants[slot] = std::make_shared<Fields>(Fields{{"body", v}});
                return slot;
            }
        }
        return std::nullopt;
    }

    // A new variable slot, or the existing one of that name. Its scope is the first save-as's; an
    // action that saves it with another scope is an error (parse_action reports it).
    void add_variable(const std::string& name, VarScope scope = VarScope::task) {
        if (std::find(script_.variables.begin(), script_.variables.end(), name) == script_.variables.end()) {
            script_.variables.push_back(name);
            script_.variable_scopes.push_back(scope);
        }
    }

    std::optional<std::string> save_as_name(FileCtx& f, const YAML::Node& s) {
        if (s.IsScalar()) return s.Scalar();
        if (s.IsMap()) {
            check_keys(f, s, "save-as", {"var", "scope", "persist"});
            if (s["var"]) return scalar(f, s["var"], "save-as.var");
            f.error(s, "save-as needs 'var'");
            return std::nullopt;
        }
        f.error(s, "save-as must be a name or a map with 'var'");
        return std::nullopt;
    }

    std::optional<VarScope> save_as_scope(FileCtx& f, const YAML::Node& s) {
        if (!s.IsMap() || !s["scope"]) return VarScope::task;
        auto v = scalar(f, s["scope"], "save-as.scope");
        if (!v) return std::nullopt;
        if (*v == "task-local") return VarScope::task;
        if (*v == "user-local") return VarScope::user;
        if (*v == "global") return VarScope::global;
        if (*v == "workbook") return VarScope::workbook;
        auto guess = closest_match(*v, {"task-local", "user-local", "global", "workbook"});
        f.error(s["scope"], fmt::format("unknown save-as scope '{}'", *v),
                guess.empty() ? "task-local, user-local, global or workbook" : fmt::format("did you mean '{}'?", guess));
        return std::nullopt;
    }

    std::shared_ptr<const PersistSpec> parse_persist(FileCtx& f, const YAML::Node& p) {
        if (!expect_map(f, p, "persist")) return nullptr;
        check_keys(f, p, "persist", {"type", "dir", "filename"});
        auto spec = std::make_shared<PersistSpec>();
        spec->loc = f.loc(p);
        if (p["type"]) {
            auto t = scalar(f, p["type"], "persist.type");
            if (t && *t != "file") f.error(p["type"], fmt::format("unknown persist type '{}'", *t), "file");
        }
        if (!p["dir"]) f.error(p, "persist needs 'dir' (the folder the files go to)");
        else if (auto d = scalar(f, p["dir"], "persist.dir")) spec->dir = *d;
        if (!p["filename"]) {
            f.error(p, "persist needs 'filename' (a template, e.g. \"{{env.user_id}}-asset.json\")");
        } else if (auto fn = scalar(f, p["filename"], "persist.filename")) {
            std::string err;
            size_t offset = 0;
            auto t = Template::compile(*fn, resolver(), err, offset);
            if (!t) f.error(p["filename"], err);
            else spec->filename = std::move(*t);
        }
        return spec;
    }

    void collect_variables(FileCtx& f, const YAML::Node& r) {
        std::vector<Diagnostic> scratch;  // errors are reported when the actions themselves are parsed
        FileCtx quiet{f.file, scratch};
        // Actions and inline steps, and the inline actions of their on-error / on-timeout lists.
        // One pass over each map's pairs: a yaml-cpp lookup by key is a linear scan that converts every
        // key it passes, so a handful of lookups per action dominated planning on large scripts.
        std::function<void(const YAML::Node&)> visit = [&](const YAML::Node& a) {
            if (!a.IsMap()) return;
            for (auto it = a.begin(); it != a.end(); ++it) {
                if (!it->first.IsScalar()) continue;
                const std::string& key = it->first.Scalar();
                const YAML::Node value = it->second;
                if (key == "save-as") {
                    if (auto v = save_as_name(quiet, value))
                        add_variable(*v, save_as_scope(quiet, value).value_or(VarScope::task));
                } else if (key == "on-error" || key == "on-timeout" || key == "then" || key == "else" || key == "steps" ||
                           key == "parallel") {
                    if (value.IsSequence())
                        for (const auto& item : value) visit(item);
                } else if (key == "loop") {
                    // loop: {over: [...], as: name}: the loop's item is a variable of its body.
                    if (value.IsMap() && value["as"] && value["as"].IsScalar()) add_variable(value["as"].Scalar());
                }
            }
        };
        if (r["actions"] && r["actions"].IsMap())
            for (auto it = r["actions"].begin(); it != r["actions"].end(); ++it) visit(it->second);
        if (r["workflows"] && r["workflows"].IsMap())
            for (auto it = r["workflows"].begin(); it != r["workflows"].end(); ++it) {
                if (!it->second.IsMap()) continue;
                if (it->second["nodes"] && it->second["nodes"].IsMap())
                    for (auto n = it->second["nodes"].begin(); n != it->second["nodes"].end(); ++n) {
                        visit(n->second);
                        if (n->second.IsMap() && n->second["controls"] && n->second["controls"].IsMap() &&
                            n->second["controls"]["exec"])
                            visit(n->second["controls"]["exec"]);
                    }
                visit(it->second);  // its steps, and its own on-error / on-timeout
            }
    }

    // An action: either a named entry of `actions` or an inline step (`action: comp.call`).
    std::optional<ActionSpec> parse_action_body(FileCtx& f, const YAML::Node& a, const std::string& name,
                                                 const YAML::Node& name_node, bool inline_step) {
        ActionSpec spec;
        spec.name = name;
        spec.loc = f.loc(name_node);
        std::string component_name;
        if (inline_step) {
            check_keys(f, a, "an inline action step",
                       {"action", "with", "save-as", "timeout", "rate-limit", "retry", "on-error", "on-timeout", "name"});
            auto target = scalar(f, a["action"], "action").value_or("");
            auto dot = target.find('.');
            if (dot == std::string::npos) {
                f.error(a["action"], fmt::format("'{}' must be component.call, e.g. http.get", target));
                return std::nullopt;
            }
            component_name = target.substr(0, dot);
            spec.call = target.substr(dot + 1);
            spec.call_loc = f.loc(a["action"]);
        } else {
            check_keys(f, a, "an action",
                       {"component", "call", "with", "save-as", "timeout", "rate-limit", "retry", "on-error", "on-timeout"});
            if (!a["component"]) f.error(name_node, fmt::format("action '{}' has no 'component'", name));
            else component_name = scalar(f, a["component"], "component").value_or("");
            if (!a["call"]) f.error(name_node, fmt::format("action '{}' has no 'call'", name));
            else {
                spec.call = scalar(f, a["call"], "call").value_or("");
                spec.call_loc = f.loc(a["call"]);
            }
        }
        const YAML::Node& comp_node = inline_step ? a["action"] : a["component"];
        auto comp = std::find_if(script_.components.begin(), script_.components.end(),
                                 [&](const ComponentSpec& c) { return c.name == component_name; });
        if (comp == script_.components.end()) {
            if (!component_name.empty()) {
                std::vector<std::string_view> names;
                for (const auto& c : script_.components) names.push_back(c.name);
                auto guess = closest_match(component_name, names);
                std::string hint = guess.empty() ? "" : fmt::format("did you mean '{}'?", guess);
                // `action: log.error` (as in the design notes) means a log line, which is a step of its own.
                if (component_name == "log" && guess.empty()) {
                    static constexpr std::string_view levels[] = {"trace", "debug", "info", "warn", "error"};
                    bool level = std::find(std::begin(levels), std::end(levels), spec.call) != std::end(levels);
                    hint = fmt::format("a log line is a step of its own: `- log: \"<message>\"`{}",
                                       level ? fmt::format(" with `level: {}`", spec.call) : "");
                }
                f.error(comp_node, fmt::format("unknown component '{}'", component_name), std::move(hint));
            }
            return std::nullopt;
        }
        spec.component = static_cast<uint32_t>(comp - script_.components.begin());
        if (comp->builtin) f.error(comp_node, fmt::format("component '{}' is built in and has no actions", comp->name));
        if (!comp->declared_capabilities.empty() && !spec.call.empty() &&
            std::find(comp->declared_capabilities.begin(), comp->declared_capabilities.end(), spec.call) ==
                comp->declared_capabilities.end())
            f.error(inline_step ? a["action"] : a["call"],
                    fmt::format("call '{}' is not among the capabilities component '{}' declares", spec.call, comp->name));
        if (a["with"]) {
            if (expect_map(f, a["with"], "with")) {
                std::vector<std::pair<std::string, YAML::Node>> flat;
                flatten(a["with"], "", flat);
                for (auto& [key, node] : flat) {
                    if (!node.IsScalar()) {
                        f.error(node, fmt::format("with.{} must be a scalar or a map, found {}", key, type_name(node)));
                        continue;
                    }
                    std::string err;
                    size_t offset = 0;
                    auto t = Template::compile(node.Scalar(), resolver(), err, offset);
                    if (!t) {
                        auto m = node.Mark();
                        // Point inside the scalar when it sits on one line (quoted scalars start one later).
                        int quote = node.Tag() == "!" ? 1 : 0;
                        if (!m.is_null() && node.Scalar().find('\n') == std::string::npos) m.column += static_cast<int>(offset) + quote;
                        f.error(m, err);
                        continue;
                    }
                    spec.with.emplace_back(key, std::move(*t));
                    spec.with_locs.push_back(f.loc(node));
                }
            }
        }
        if (a["save-as"]) {
            const YAML::Node sa = a["save-as"];
            if (auto v = save_as_name(f, sa)) {
                auto it = std::find(script_.variables.begin(), script_.variables.end(), *v);
                spec.save_slot = static_cast<uint32_t>(it - script_.variables.begin());
                auto scope = save_as_scope(f, sa);
                if (scope && *scope != script_.variable_scopes[*spec.save_slot])
                    f.error(sa.IsMap() && sa["scope"] ? sa["scope"] : sa,
                            fmt::format("'{}' is saved here with scope {}, but another action saves it with scope {}",
                                        *v, scope_name(*scope), scope_name(script_.variable_scopes[*spec.save_slot])),
                            "a variable has one scope: rename one of them");
            }
            if (sa.IsMap() && sa["persist"]) spec.persist = parse_persist(f, sa["persist"]);
        }
        parse_exec(f, a, spec, name);
        return spec;
    }

    // The execution controls of an action (its own keys, or a graph node's controls.exec).
    void parse_exec(FileCtx& f, const YAML::Node& a, ActionSpec& spec, const std::string& name) {
        if (a["timeout"]) spec.timeout_ms = duration(f, a["timeout"], "timeout").value_or(0);
        if (a["rate-limit"] && expect_map(f, a["rate-limit"], "rate-limit")) {
            check_keys(f, a["rate-limit"], "rate-limit", {"per-user"});
            if (a["rate-limit"]["per-user"]) {
                spec.rate_per_user = rate(f, a["rate-limit"]["per-user"], "rate-limit.per-user").value_or(0);
                if (spec.rate_per_user <= 0 && a["rate-limit"]["per-user"].IsScalar())
                    f.error(a["rate-limit"]["per-user"], "rate-limit.per-user must be positive");
            } else {
                f.error(a["rate-limit"], "rate-limit needs per-user (e.g. per-user: 50 req/s)");
            }
        }
        if (a["retry"])
            parse_retry(f, a["retry"], "retry", spec.retry_max, spec.retry_backoff_ms, spec.retry_backoff_max_ms);
        for (const char* key : {"on-error", "on-timeout"}) {
            if (!a[key]) continue;
            auto h = std::make_shared<Handler>();
            parse_handler(f, a[key], *h, key == std::string_view("on-timeout"), fmt::format("{}.{}", name, key));
            (key == std::string_view("on-error") ? spec.on_error : spec.on_timeout) = std::move(h);
        }
    }

    static const char* scope_name(VarScope s) {
        switch (s) {
        case VarScope::task: return "task-local";
        case VarScope::user: return "user-local";
        case VarScope::global: return "global";
        case VarScope::workbook: return "workbook";
        }
        return "?";
    }

    // Variable names to slots for templates and expressions. `global.<name>` names a variable saved
    // with scope global (and only such a variable).
    Template::VariableResolver resolver() {
        return [this](std::string_view name) -> std::optional<uint32_t> {
            if (name.starts_with("workbook.")) {
                // A scope-workbook variable's register holds its body: workbook.<var>.body names it too.
                auto id = script_.workbook.find(name.substr(9));
                if (!id && name.ends_with(".body")) id = script_.workbook.find(name.substr(9, name.size() - 9 - 5));
                return id;
            }
            if (name.rfind("resource.", 0) == 0) return kv_slot(name);
            bool global = name.starts_with("global.");
            if (global) name.remove_prefix(7);
            auto it = std::find(script_.variables.begin(), script_.variables.end(), name);
            if (it != script_.variables.end() && global &&
                script_.variable_scopes[static_cast<size_t>(it - script_.variables.begin())] != VarScope::global)
                return std::nullopt;
            if (it == script_.variables.end()) return std::nullopt;
            return static_cast<uint32_t>(it - script_.variables.begin());
        };
    }

    void parse_actions(FileCtx& f, const YAML::Node& n) {
        if (!expect_map(f, n, "actions")) return;
        for (auto it = n.begin(); it != n.end(); ++it) {
            std::string name = it->first.Scalar();
            if (!expect_map(f, it->second, fmt::format("action '{}'", name))) continue;
            if (auto spec = parse_action_body(f, it->second, name, it->first, false)) {
                named_actions_[name] = static_cast<uint32_t>(script_.actions.size());
                script_.actions.push_back(std::move(*spec));
            } else {
                named_actions_[name] = UINT32_MAX;  // known name, broken body: no dangling-ref error on top
            }
        }
    }

    void parse_workflows(FileCtx& f, const YAML::Node& n) {
        if (!expect_map(f, n, "workflows")) return;
        for (auto it = n.begin(); it != n.end(); ++it) {
            WorkflowSpec wf;
            wf.name = it->first.Scalar();
            wf.loc = f.loc(it->first);
            const YAML::Node w = it->second;
            if (!expect_map(f, w, fmt::format("workflow '{}'", wf.name))) continue;
            std::vector<std::string> titles;  // its steps' names in the variable graph's paths
            check_keys(f, w, "a workflow", {"steps", "nodes", "start", "timeout", "on-error", "on-timeout", "wbs-level"});
            if (w["timeout"]) wf.timeout_ms = duration(f, w["timeout"], "timeout").value_or(0);
            wf.on_timeout.route = Route::timeout_out;
            if (w["on-error"]) parse_handler(f, w["on-error"], wf.on_error, false, wf.name + ".on-error");
            if (w["on-timeout"]) parse_handler(f, w["on-timeout"], wf.on_timeout, true, wf.name + ".on-timeout");
            if (w["start"] && !w["nodes"]) f.error(w["start"], "'start' names the first node of a graph workflow ('nodes')");
            if (w["nodes"]) {
                if (w["steps"]) f.error(w["nodes"], "a workflow has either 'steps' or 'nodes', not both");
                else parse_nodes(f, w, wf);
            } else if (!w["steps"]) {
                f.error(it->first, fmt::format("workflow '{}' has no 'steps' (or 'nodes')", wf.name));
            } else if (expect_seq(f, w["steps"], "steps")) {
                StepLabels labels;
                parse_steps(f, w["steps"], wf.name, wf, labels);
                resolve_gotos(f, wf, labels);
                if (w["steps"].size() == 0) f.error(w["steps"], fmt::format("workflow '{}' has no steps", wf.name));
                titles = std::move(labels.titles);
            }
            workflow_titles_.push_back(std::move(titles));
            script_.workflows.push_back(std::move(wf));
        }
    }

    // The step kinds a workflow and a handler share: ref, inline action, think, log. Appends to `out`
    // and returns true when `step` is one of them (problems are reported, nothing is appended then).
    bool parse_plain_step(FileCtx& f, const YAML::Node& step, const std::string& inline_name, std::vector<Step>& out) {
        if (step["ref"]) {
            check_keys(f, step, "a ref step", {"ref", "name"});
            auto name = scalar(f, step["ref"], "ref").value_or("");
            auto found = named_actions_.find(name);
            if (found == named_actions_.end()) {
                std::vector<std::string_view> names;
                for (const auto& [k, v] : named_actions_) names.push_back(k);
                auto guess = closest_match(name, names);
                f.error(step["ref"], fmt::format("unknown action '{}'", name),
                        guess.empty() ? "" : fmt::format("did you mean '{}'?", guess));
            } else if (found->second != UINT32_MAX) {
                Step st = Step::of_action(found->second);
                st.loc = f.loc(step["ref"]);
                out.push_back(std::move(st));
            }
            return true;
        }
        if (step["action"]) {
            if (auto spec = parse_action_body(f, step, inline_name, step["action"], true)) {
                Step st = Step::of_action(static_cast<uint32_t>(script_.actions.size()));
                st.loc = f.loc(step["action"]);
                out.push_back(std::move(st));
                script_.actions.push_back(std::move(*spec));
            }
            return true;
        }
        if (step["update-workbook"]) {
            check_keys(f, step, "an update-workbook step", {"update-workbook", "name"});
            Step st;
            st.kind = Step::Kind::update_workbook;
            st.loc = f.loc(step["update-workbook"]);
            parse_workbook_updates(f, step["update-workbook"], st);
            out.push_back(std::move(st));
            return true;
        }
        if (step["think"]) {
            check_keys(f, step, "a think step", {"think", "name"});
            Step st;
            st.kind = Step::Kind::think;
            st.loc = f.loc(step["think"]);
            st.think_ms = duration(f, step["think"], "think").value_or(0);
            out.push_back(std::move(st));
            return true;
        }
        if (step["log"]) {
            check_keys(f, step, "a log step", {"log", "level", "name"});
            Step st;
            st.kind = Step::Kind::log;
            st.loc = f.loc(step["log"]);
            if (auto text = scalar(f, step["log"], "log")) {
                std::string err;
                size_t offset = 0;
                if (auto t = Template::compile(*text, resolver(), err, offset)) st.message = std::move(*t);
                else f.error(step["log"], err);
            }
            if (step["level"]) {
                st.level = scalar(f, step["level"], "level").value_or("info");
                static const std::vector<std::string_view> levels{"trace", "debug", "info", "warn", "error"};
                if (std::find(levels.begin(), levels.end(), st.level) == levels.end())
                    f.error(step["level"], fmt::format("unknown log level '{}'", st.level),
                            "one of trace, debug, info, warn, error");
            }
            out.push_back(std::move(st));
            return true;
        }
        return false;
    }

    struct StepLabels {
        std::map<std::string, uint32_t> names;  // step name -> index
        struct Goto {
            uint32_t step;
            std::string target;
            YAML::Node node;
        };
        std::vector<Goto> gotos;
        // Per step index: the step as the variable graph's paths name it (w[2].else[1], as inline
        // actions are named); empty for the steps control flow adds (an else's jump, a loop's next).
        std::vector<std::string> titles;
    };

    // A condition: an expression, written bare or inside one {{...}}.
    std::shared_ptr<const Expression> condition(FileCtx& f, const YAML::Node& n, std::string_view what) {
        auto text = scalar(f, n, what);
        if (!text) return nullptr;
        std::string_view t = *text;
        size_t lead = 0;
        while (lead < t.size() && t[lead] == ' ') ++lead;
        std::string_view body = t.substr(lead);
        size_t shift = lead;
        if (body.size() >= 4 && body.substr(0, 2) == "{{" && body.substr(body.size() - 2) == "}}" &&
            body.find("{{", 2) == std::string_view::npos) {
            body = body.substr(2, body.size() - 4);
            shift += 2;
        }
        std::string err;
        size_t at = 0;
        auto e = Expression::compile(body, resolver(), err, at);
        if (!e) {
            auto m = n.Mark();
            int quote = n.Tag() == "!" ? 1 : 0;
            if (!m.is_null()) m.column += static_cast<int>(shift + at) + quote;
            f.error(m, fmt::format("{}: {}", what, err));
            return nullptr;
        }
        return std::make_shared<const Expression>(std::move(*e));
    }

    // Compiles a list of steps into wf.steps (nested if / loop flattened into branches and jumps).
    void parse_steps(FileCtx& f, const YAML::Node& seq, const std::string& prefix, WorkflowSpec& wf, StepLabels& labels) {
        size_t index = 0;
        for (const auto& step : seq) {
            ++index;
            if (!expect_map(f, step, "a step")) continue;
            const uint32_t first = static_cast<uint32_t>(wf.steps.size());
            const std::string name = fmt::format("{}[{}]", prefix, index);
            if (step["if"]) {
                check_keys(f, step, "an if step", {"if", "then", "else", "name"});
                Step br;
                br.kind = Step::Kind::branch;
                br.loc = f.loc(step["if"]);
                br.cond = condition(f, step["if"], "if");
                wf.steps.push_back(std::move(br));
                if (!step["then"]) f.error(step["if"], "an if step needs 'then' (the steps when the condition holds)");
                else if (expect_seq(f, step["then"], "then")) parse_steps(f, step["then"], name + ".then", wf, labels);
                if (step["else"] && expect_seq(f, step["else"], "else")) {
                    uint32_t jump = static_cast<uint32_t>(wf.steps.size());
                    Step j;
                    j.kind = Step::Kind::jump;
                    j.loc = f.loc(step["else"]);
                    wf.steps.push_back(std::move(j));
                    wf.steps[first].target = jump + 1;
                    parse_steps(f, step["else"], name + ".else", wf, labels);
                    wf.steps[jump].target = static_cast<uint32_t>(wf.steps.size());
                } else {
                    wf.steps[first].target = static_cast<uint32_t>(wf.steps.size());
                }
            } else if (step["loop"]) {
                check_keys(f, step, "a loop step", {"loop", "steps", "name"});
                const YAML::Node& l = step["loop"];
                if (!expect_map(f, l, "loop")) continue;
                check_keys(f, l, "loop", {"count", "while", "over", "as", "max"});
                int modes = (l["count"] ? 1 : 0) + (l["while"] ? 1 : 0) + (l["over"] ? 1 : 0);
                if (modes != 1) {
                    f.error(l, "a loop takes exactly one of count, while or over");
                    continue;
                }
                const uint32_t slot = wf.loops++;
                Step init;
                init.kind = Step::Kind::loop_init;
                init.loop = slot;
                init.loc = f.loc(l);
                wf.steps.push_back(std::move(init));
                Step check;
                check.kind = Step::Kind::loop_check;
                check.loop = slot;
                check.loc = f.loc(l);
                check.count = 1000;  // the most iterations of a while loop, unless max says otherwise
                if (l["count"]) check.count = uint_value(f, l["count"], "loop.count").value_or(0);
                if (l["while"]) check.cond = condition(f, l["while"], "loop.while");
                if (l["max"]) {
                    if (l["count"]) f.error(l["max"], "loop.max goes with while or over; count is the number of iterations");
                    else check.count = uint_value(f, l["max"], "loop.max").value_or(1000);
                }
                if (l["over"]) {
                    if (expect_seq(f, l["over"], "loop.over"))
                        for (const auto& item : l["over"])
                            if (auto v = scalar(f, item, "an item of loop.over")) check.items.push_back(*v);
                    if (!l["max"]) check.count = check.items.size();
                    if (!l["as"]) f.error(l, "loop over a list needs 'as' (the variable that holds each item)");
                    else if (auto as = scalar(f, l["as"], "loop.as")) {
                        auto it = std::find(script_.variables.begin(), script_.variables.end(), *as);
                        if (it != script_.variables.end()) check.item_slot = static_cast<uint32_t>(it - script_.variables.begin());
                    }
                } else if (l["as"]) {
                    f.error(l["as"], "loop.as names the item of a loop over a list");
                }
                const uint32_t check_at = static_cast<uint32_t>(wf.steps.size());
                wf.steps.push_back(std::move(check));
                if (!step["steps"]) f.error(l, "a loop step needs 'steps' (its body)");
                else if (expect_seq(f, step["steps"], "steps")) parse_steps(f, step["steps"], name + ".steps", wf, labels);
                Step next;
                next.kind = Step::Kind::loop_next;
                next.loop = slot;
                next.target = check_at;
                next.loc = f.loc(l);
                wf.steps.push_back(std::move(next));
                wf.steps[check_at].target = static_cast<uint32_t>(wf.steps.size());
            } else if (step["goto"]) {
                check_keys(f, step, "a goto step", {"goto", "name"});
                auto target = scalar(f, step["goto"], "goto").value_or("");
                Step g;
                g.loc = f.loc(step["goto"]);
                if (target == "error_out" || target == "timeout_out" || target == "closing") {
                    g.kind = Step::Kind::exit;
                    g.exit = target == "error_out" ? Exit::error_out : target == "timeout_out" ? Exit::timeout_out : Exit::closing;
                } else if (auto route = route_target(f, step["goto"], target)) {
                    g.kind = Step::Kind::route;
                    g.route = *route;
                } else {
                    g.kind = Step::Kind::jump;
                    labels.gotos.push_back({first, target, step["goto"]});
                }
                wf.steps.push_back(std::move(g));
            } else if (step["parallel"]) {
                check_keys(f, step, "a parallel step", {"parallel", "name"});
                Step par;
                par.kind = Step::Kind::parallel;
                par.loc = f.loc(step["parallel"]);
                if (expect_seq(f, step["parallel"], "parallel")) {
                    if (step["parallel"].size() < 2)
                        f.error(step["parallel"], "a parallel step needs two or more branches");
                    size_t b = 0;
                    for (const auto& branch : step["parallel"]) {
                        ++b;
                        // A branch: one step, or {steps: [...]} for several in a row.
                        WorkflowSpec bw;
                        bw.name = fmt::format("{}.parallel[{}]", name, b);
                        bw.loc = f.loc(branch);
                        bw.on_timeout.route = Route::timeout_out;
                        StepLabels branch_labels;
                        // (A fresh list node: assigning to a yaml-cpp node that refers into the document
                        // would overwrite the document.)
                        const bool several = branch.IsMap() && branch["steps"] && branch.size() == 1;
                        if (several && !expect_seq(f, branch["steps"], "steps")) continue;
                        YAML::Node body(YAML::NodeType::Sequence);
                        if (several)
                            for (const auto& st : branch["steps"]) body.push_back(st);
                        else
                            body.push_back(branch);
                        if (several && body.size() == 0) f.error(branch["steps"], "a branch needs at least one step");
                        parse_steps(f, body, bw.name, bw, branch_labels);
                        resolve_gotos(f, bw, branch_labels);
                        par.branches.push_back(static_cast<uint32_t>(script_.branches.size()));
                        script_.branches.push_back(std::move(bw));
                        branch_titles_.push_back(std::move(branch_labels.titles));
                    }
                }
                wf.steps.push_back(std::move(par));
            } else if (!parse_plain_step(f, step, name, wf.steps)) {
                check_keys(f, step, "a step",
                           {"ref", "action", "think", "log", "if", "loop", "goto", "parallel", "update-workbook", "name"});
                if (step.size() == 0) f.error(step, "empty step");
                continue;
            }
            labels.titles.resize(wf.steps.size());
            if (first < wf.steps.size()) labels.titles[first] = name;
            if (step["loop"] && first + 1 < wf.steps.size()) labels.titles[first + 1] = name;  // its check
            if (step["name"]) {
                auto label = scalar(f, step["name"], "name").value_or("");
                if (label == "error_out" || label == "timeout_out" || label == "closing")
                    f.error(step["name"], fmt::format("'{}' is an exit; a step cannot take its name", label));
                else if (!labels.names.emplace(label, first).second)
                    f.error(step["name"], fmt::format("two steps of workflow '{}' are named '{}'", wf.name, label));
                else if (first < wf.steps.size())
                    wf.steps[first].name = label;
            }
        }
    }

    // A graph workflow: nodes with controls.exec and controls.flow.transitions, compiled to the same
    // flat steps as a `steps` list (each node's step, then its transitions as branches and jumps).
    void parse_nodes(FileCtx& f, const YAML::Node& w, WorkflowSpec& wf) {
        const YAML::Node& nodes = w["nodes"];
        if (!expect_map(f, nodes, "nodes")) return;
        if (nodes.size() == 0) {
            f.error(nodes, fmt::format("workflow '{}' has no nodes", wf.name));
            return;
        }
        struct Edge {
            std::string to;
            YAML::Node to_node;
            std::shared_ptr<const Expression> when;
            uint32_t jump = 0;  // the step to patch with the target
        };
        struct Node {
            std::string name;
            YAML::Node key;
            uint32_t step = UINT32_MAX;  // its (first) step
            std::optional<uint32_t> action;
            std::vector<Edge> edges;
            bool ends = false;  // no unconditional transition: reaching the end of its edges ends the task
        };
        std::vector<Node> graph;
        for (auto it = nodes.begin(); it != nodes.end(); ++it) graph.push_back({it->first.Scalar(), it->first, UINT32_MAX, {}, {}, false});
        auto find = [&](const std::string& n) -> int {
            for (size_t i = 0; i < graph.size(); ++i)
                if (graph[i].name == n) return static_cast<int>(i);
            return -1;
        };
        // The start: the first node unless `start` names another (a jump to it leads the steps).
        int start = 0;
        if (w["start"]) {
            auto s = scalar(f, w["start"], "start").value_or("");
            start = find(s);
            if (start < 0) {
                std::vector<std::string_view> names;
                for (const auto& g : graph) names.push_back(g.name);
                auto guess = closest_match(s, names);
                f.error(w["start"], fmt::format("start '{}': workflow '{}' has no node of that name", s, wf.name),
                        guess.empty() ? "" : fmt::format("did you mean '{}'?", guess));
                start = 0;
            }
        }
        std::vector<uint32_t> to_end;  // jumps to the end of the steps
        if (start != 0) {
            Step j;
            j.kind = Step::Kind::jump;
            wf.steps.push_back(std::move(j));
        }
        size_t i = 0;
        for (auto it = nodes.begin(); it != nodes.end(); ++it, ++i) {
            Node& g = graph[i];
            const YAML::Node n = it->second;  // a copy: it->second belongs to a temporary
            if (!expect_map(f, n, fmt::format("node '{}'", g.name))) continue;
            // The node's own step: its keys without `controls`.
            YAML::Node body(YAML::NodeType::Map);
            for (auto k = n.begin(); k != n.end(); ++k)
                if (k->first.Scalar() != "controls") body[k->first.Scalar()] = k->second;
            // (yaml-cpp: a missing key of a const node is a "zombie" that throws when touched.)
            const bool has_controls = n["controls"] && n["controls"].IsMap();
            const bool has_exec = has_controls && n["controls"]["exec"];
            const bool has_flow = has_controls && n["controls"]["flow"];
            const YAML::Node exec = has_exec ? n["controls"]["exec"] : YAML::Node();
            const YAML::Node flow = has_flow ? n["controls"]["flow"] : YAML::Node();
            if (n["controls"] && expect_map(f, n["controls"], "controls")) check_keys(f, n["controls"], "controls", {"exec", "flow"});
            g.step = static_cast<uint32_t>(wf.steps.size());
            const std::string name = fmt::format("{}.{}", wf.name, g.name);
            if (n["ref"] && has_exec) {
                // A named action with this node's own controls: a copy of it, with them applied.
                check_keys(f, body, "a ref node", {"ref"});
                auto ref = scalar(f, n["ref"], "ref").value_or("");
                auto found = named_actions_.find(ref);
                if (found == named_actions_.end()) {
                    f.error(n["ref"], fmt::format("unknown action '{}'", ref));
                } else if (found->second != UINT32_MAX) {
                    ActionSpec copy = script_.actions[found->second];
                    copy.name = name;
                    if (expect_map(f, exec, "controls.exec")) {
                        check_keys(f, exec, "controls.exec", {"timeout", "rate-limit", "retry", "on-error", "on-timeout"});
                        parse_exec(f, exec, copy, name);
                    }
                    Step st = Step::of_action(static_cast<uint32_t>(script_.actions.size()));
                    st.loc = f.loc(n["ref"]);
                    wf.steps.push_back(std::move(st));
                    script_.actions.push_back(std::move(copy));
                }
            } else {
                if (has_exec) {
                    if (!n["action"]) f.error(exec, "controls.exec applies to an action node (ref or action)");
                    else if (expect_map(f, exec, "controls.exec")) {
                        check_keys(f, exec, "controls.exec", {"timeout", "rate-limit", "retry", "on-error", "on-timeout"});
                        // (Looked up through a const view: a non-const yaml-cpp lookup of a missing key inserts
                        // an undefined entry, which a later lookup finds first, hiding the real one.)
                        const YAML::Node& existing = body;
                        for (auto k = exec.begin(); k != exec.end(); ++k) {
                            if (existing[k->first.Scalar()]) f.error(k->first, fmt::format("'{}' is set twice in node '{}'", k->first.Scalar(), g.name));
                            else body[k->first.Scalar()] = k->second;
                        }
                    }
                }
                if (!parse_plain_step(f, body, name, wf.steps)) {
                    check_keys(f, n, fmt::format("node '{}'", g.name), {"ref", "action", "think", "log", "controls"});
                    if (n.size() == 0) f.error(g.key, fmt::format("node '{}' is empty", g.name));
                }
            }
            if (wf.steps.size() > g.step && wf.steps[g.step].kind == Step::Kind::action) g.action = wf.steps[g.step].action;
            if (wf.steps.size() == g.step) {  // a broken node: keep indices consistent
                Step j;
                j.kind = Step::Kind::jump;
                wf.steps.push_back(std::move(j));
                to_end.push_back(g.step);
            }
            // Transitions, in order: the first whose `when` holds (or that has none) is taken.
            bool unconditional = false;
            if (has_flow) {
                if (expect_map(f, flow, "controls.flow")) {
                    check_keys(f, flow, "controls.flow", {"transitions"});
                    if (flow["transitions"] && expect_seq(f, flow["transitions"], "transitions")) {
                        for (const auto& t : flow["transitions"]) {
                            if (!expect_map(f, t, "a transition")) continue;
                            check_keys(f, t, "a transition", {"to", "when"});
                            if (unconditional) {
                                f.error(t, "this transition is never taken: the one before it has no 'when'");
                                continue;
                            }
                            if (!t["to"]) {
                                f.error(t, "a transition needs 'to' (a node, or error_out / timeout_out / closing)");
                                continue;
                            }
                            Edge e;
                            e.to = scalar(f, t["to"], "to").value_or("");
                            e.to_node = t["to"];
                            if (t["when"]) {
                                e.when = condition(f, t["when"], "when");
                                Step br;
                                br.kind = Step::Kind::branch;
                                br.cond = e.when;
                                br.loc = f.loc(t["when"]);
                                br.target = static_cast<uint32_t>(wf.steps.size()) + 2;  // past its jump
                                wf.steps.push_back(std::move(br));
                            } else {
                                unconditional = true;
                            }
                            Step go;
                            go.loc = f.loc(t["to"]);
                            if (e.to == "error_out" || e.to == "timeout_out" || e.to == "closing") {
                                go.kind = Step::Kind::exit;
                                go.exit = e.to == "error_out" ? Exit::error_out : e.to == "timeout_out" ? Exit::timeout_out : Exit::closing;
                            } else if (auto route = route_target(f, t["to"], e.to)) {
                                go.kind = Step::Kind::route;
                                go.route = *route;
                            } else {
                                go.kind = Step::Kind::jump;
                            }
                            e.jump = static_cast<uint32_t>(wf.steps.size());
                            wf.steps.push_back(std::move(go));
                            g.edges.push_back(std::move(e));
                        }
                    }
                }
            }
            if (!unconditional) {
                g.ends = true;  // no transition taken: the task ends here (normally)
                Step j;
                j.kind = Step::Kind::jump;
                to_end.push_back(static_cast<uint32_t>(wf.steps.size()));
                wf.steps.push_back(std::move(j));
            }
        }
        const uint32_t end = static_cast<uint32_t>(wf.steps.size());
        for (uint32_t j : to_end) wf.steps[j].target = end;
        if (start != 0) wf.steps[0].target = graph[start].step;
        // Targets, and the graph for the checks below.
        std::vector<std::vector<int>> succ(graph.size());
        std::vector<bool> exits(graph.size(), false);
        for (size_t a = 0; a < graph.size(); ++a) {
            if (graph[a].ends) exits[a] = true;
            for (auto& e : graph[a].edges) {
                if (e.to == "error_out" || e.to == "timeout_out" || e.to == "closing" || e.to == "monitoring.retry" ||
                    e.to == "closing.rollback") {
                    exits[a] = true;
                    continue;
                }
                int b = find(e.to);
                if (b < 0) {
                    std::vector<std::string_view> names{"error_out", "timeout_out", "closing"};
                    for (const auto& g : graph) names.push_back(g.name);
                    auto guess = closest_match(e.to, names);
                    f.error(e.to_node, fmt::format("transition to '{}': workflow '{}' has no node of that name", e.to, wf.name),
                            guess.empty() ? "" : fmt::format("did you mean '{}'?", guess));
                    continue;
                }
                wf.steps[e.jump].target = graph[b].step;
                succ[a].push_back(b);
            }
        }
        // Every node must be reachable from the start, and every reachable node must be able to reach
        // an end (a cycle with no way out would keep a user forever).
        std::vector<bool> reached(graph.size(), false);
        std::vector<int> stack{start};
        std::vector<int> parent(graph.size(), -1);
        reached[start] = true;
        while (!stack.empty()) {
            int a = stack.back();
            stack.pop_back();
            for (int b : succ[a])
                if (!reached[b]) {
                    reached[b] = true;
                    parent[b] = a;
                    stack.push_back(b);
                }
        }
        for (size_t a = 0; a < graph.size(); ++a)
            if (!reached[a])
                f.error(graph[a].key, fmt::format("node '{}' is never reached from '{}'", graph[a].name, graph[start].name),
                        "a transition must lead to it");
        std::vector<bool> can_end = exits;
        for (bool changed = true; changed;) {
            changed = false;
            for (size_t a = 0; a < graph.size(); ++a)
                if (!can_end[a])
                    for (int b : succ[a])
                        if (can_end[b]) {
                            can_end[a] = changed = true;
                            break;
                        }
        }
        for (size_t a = 0; a < graph.size(); ++a) {
            if (!reached[a] || can_end[a]) continue;
            // The path from the start, then round the cycle.
            std::vector<std::string> path;
            for (int x = static_cast<int>(a); x >= 0; x = parent[x]) path.insert(path.begin(), graph[x].name);
            int x = static_cast<int>(a);
            std::vector<bool> seen(graph.size(), false);
            while (!seen[x] && !succ[x].empty()) {
                seen[x] = true;
                x = succ[x].front();
                path.push_back(graph[x].name);
            }
            f.error(graph[a].key, fmt::format("workflow '{}' can cycle forever: {} (no transition leads to an exit)", wf.name,
                                              fmt::join(path, " -> ")),
                    "give one node a transition to closing, error_out or timeout_out, or one without 'when' that ends");
            break;
        }
        // The variable graph over the nodes: a node may read what some path from the start saves.
        std::vector<std::set<uint32_t>> in(graph.size());
        const std::set<uint32_t> readable = readable_anytime();
        for (auto& s : in) s.insert(readable.begin(), readable.end());
        std::vector<bool> seeded(graph.size(), false);
        seeded[start] = true;
        for (bool changed = true; changed;) {
            changed = false;
            for (size_t a = 0; a < graph.size(); ++a) {
                if (!seeded[a]) continue;
                std::set<uint32_t> out = in[a];
                if (graph[a].action && script_.actions[*graph[a].action].save_slot) out.insert(*script_.actions[*graph[a].action].save_slot);
                for (int b : succ[a]) {
                    size_t before = in[b].size();
                    in[b].insert(out.begin(), out.end());
                    if (!seeded[b] || in[b].size() != before) changed = true;
                    seeded[b] = true;
                }
            }
        }
        for (size_t a = 0; a < graph.size(); ++a) {
            if (!reached[a] || graph[a].step >= wf.steps.size()) continue;
            std::string why = fmt::format("no path from '{}' to node '{}' saves it", graph[start].name, graph[a].name);
            check_reads(wf.steps[graph[a].step], in[a], fmt::format("node '{}' of workflow '{}'", graph[a].name, wf.name), why);
            std::set<uint32_t> after = in[a];
            if (graph[a].action && script_.actions[*graph[a].action].save_slot) after.insert(*script_.actions[*graph[a].action].save_slot);
            for (const auto& e : graph[a].edges)
                if (e.when) {
                    Step probe;
                    probe.cond = e.when;
                    probe.loc = wf.steps[e.jump].loc;
                    check_reads(probe, after, fmt::format("a transition of node '{}'", graph[a].name),
                                fmt::format("no path from '{}' through node '{}' saves it", graph[start].name, graph[a].name));
                }
        }
        wf.graph = true;
    }

    // goto: monitoring.retry (the task again, by the monitoring.retry policy) or closing.rollback (the
    // task's saves discarded) as a step or a transition; nullopt for any other target.
    std::optional<Route> route_target(FileCtx& f, const YAML::Node& at, std::string_view target) {
        if (target == "closing.rollback") return Route::rollback;
        if (target != "monitoring.retry") return std::nullopt;
        if (!script_.task_retry.set)
            f.error(at, "goto: monitoring.retry needs a retry policy", "add monitoring: {retry: {max: 2, backoff: 100ms}} to script.yaml");
        return Route::task_retry;
    }

    void resolve_gotos(FileCtx& f, WorkflowSpec& wf, const StepLabels& labels) {
        for (const auto& g : labels.gotos) {
            auto it = labels.names.find(g.target);
            if (it != labels.names.end()) {
                wf.steps[g.step].target = it->second;
                continue;
            }
            std::vector<std::string_view> names{"error_out", "timeout_out", "closing"};
            for (const auto& [k, v] : labels.names) names.push_back(k);
            auto guess = closest_match(g.target, names);
            f.error(g.node, fmt::format("goto '{}': workflow '{}' has no step of that name", g.target, wf.name),
                    guess.empty() ? "name a step with `name:`, or go to error_out, timeout_out, closing, monitoring.retry or closing.rollback"
                                  : fmt::format("did you mean '{}'?", guess));
        }
    }

    // retry: {max, backoff} where backoff is a duration or {initial, max}.
    void parse_retry(FileCtx& f, const YAML::Node& r, std::string_view where, uint32_t& max, uint64_t& backoff,
                     uint64_t& backoff_max) {
        if (!expect_map(f, r, where)) return;
        check_keys(f, r, where, {"max", "backoff"});
        if (r["max"]) max = static_cast<uint32_t>(uint_value(f, r["max"], fmt::format("{}.max", where)).value_or(0));
        else f.error(r, fmt::format("{} needs max (attempts after a failed one)", where));
        backoff = 100;
        if (!r["backoff"]) return;
        if (r["backoff"].IsMap()) {
            check_keys(f, r["backoff"], fmt::format("{}.backoff", where), {"initial", "max"});
            if (r["backoff"]["initial"]) backoff = duration(f, r["backoff"]["initial"], "backoff.initial").value_or(100);
            if (r["backoff"]["max"]) backoff_max = duration(f, r["backoff"]["max"], "backoff.max").value_or(0);
        } else {
            backoff = duration(f, r["backoff"], fmt::format("{}.backoff", where)).value_or(100);
        }
    }

    // on-error / on-timeout: a list of entries run in order when an action fails or times out:
    // `retry` (first), steps (ref, action, log, think), then at most one of `goto` / `stop` (last).
    void parse_handler(FileCtx& f, const YAML::Node& n, Handler& h, bool timeout, const std::string& where) {
        h.route = timeout ? Route::timeout_out : Route::error_out;
        if (!expect_seq(f, n, where)) return;
        h.set = true;
        h.loc = f.loc(n);
        const YAML::Node* routed = nullptr;
        size_t index = 0;
        for (const auto& item : n) {
            ++index;
            if (!expect_map(f, item, fmt::format("an entry of {}", where))) continue;
            if (routed) {
                f.error(item, fmt::format("this entry of {} can never run: the entry before it ends the handler", where),
                        "goto and stop come last");
                continue;
            }
            if (item["name"]) f.error(item["name"], fmt::format("'name' is for workflow steps (goto targets), not for an entry of {}", where));
            if (item["retry"]) {
                check_keys(f, item, fmt::format("a retry entry of {}", where), {"retry"});
                if (!h.steps.empty())
                    f.error(item, fmt::format("retry must be the first entry of {}", where),
                            "it re-runs the failed step before the handler's steps run");
                parse_retry(f, item["retry"], "retry", h.retry_max, h.retry_backoff_ms, h.retry_backoff_max_ms);
            } else if (item["goto"]) {
                check_keys(f, item, fmt::format("a goto entry of {}", where), {"goto"});
                routed = &item;
                auto target = scalar(f, item["goto"], "goto").value_or("");
                static const std::vector<std::pair<std::string_view, Route>> targets{
                    {"error_out", Route::error_out},         {"timeout_out", Route::timeout_out},
                    {"closing", Route::closing},             {"monitoring.retry", Route::task_retry},
                    {"closing.rollback", Route::rollback},   {"next", Route::next}};
                auto found = std::find_if(targets.begin(), targets.end(), [&](const auto& t) { return t.first == target; });
                if (found == targets.end()) {
                    std::vector<std::string_view> names;
                    for (const auto& t : targets) names.push_back(t.first);
                    auto guess = closest_match(target, names);
                    f.error(item["goto"], fmt::format("unknown goto target '{}' in {}", target, where),
                            guess.empty() ? "one of error_out, timeout_out, closing, monitoring.retry, closing.rollback, next"
                                          : fmt::format("did you mean '{}'?", guess));
                    continue;
                }
                h.route = found->second;
                h.routed = true;
                if (h.route == Route::task_retry && !script_.task_retry.set)
                    f.error(item["goto"], "goto: monitoring.retry needs a retry policy",
                            "add monitoring: {retry: {max: 2, backoff: 100ms}} to script.yaml");
            } else if (item["stop"]) {
                check_keys(f, item, fmt::format("a stop entry of {}", where), {"stop"});
                routed = &item;
                auto what = scalar(f, item["stop"], "stop").value_or("");
                if (what != "user") f.error(item["stop"], fmt::format("unknown stop target '{}'", what), "stop: user");
                else {
                    h.route = Route::stop_user;
                    h.routed = true;
                }
            } else if (!parse_plain_step(f, item, fmt::format("{}[{}]", where, index), h.steps)) {
                check_keys(f, item, fmt::format("an entry of {}", where),
                           {"retry", "goto", "stop", "ref", "action", "log", "think", "update-workbook"});
                if (item.size() == 0) f.error(item, "empty entry");
            }
        }
    }

    void parse_monitoring(FileCtx& f, const YAML::Node& m) {
        if (!expect_map(f, m, "monitoring")) return;
        check_keys(f, m, "monitoring", {"retry", "exits"}, {"health"});
        if (m["exits"] && expect_map(f, m["exits"], "monitoring.exits"))
            parse_exits(f, m["exits"], "monitoring.exits", script_.exit_error, script_.exit_timeout, nullptr);
        if (m["retry"]) {
            auto& p = script_.task_retry;
            p.set = true;
            p.loc = f.loc(m["retry"]);
            parse_retry(f, m["retry"], "monitoring.retry", p.max, p.backoff_ms, p.backoff_max_ms);
        }
    }

    // `exits` of a scenario (or monitoring.exits, the default of every scenario): where a task goes
    // when it fails (`error`, `error-out`) or times out (`timeout`, `timeout-out`) and no handler says
    // (goto / stop): error_out / timeout_out (the defaults), closing (the user leaves), or fatal (the
    // run stops, exit code 1). A scenario's `exit.timeout` may also be a duration: its max-duration.
    void parse_exits(FileCtx& f, const YAML::Node& n, std::string_view where, Route& error, Route& timeout,
                     uint64_t* max_duration_ms) {
        check_keys(f, n, where, {"timeout", "error", "error-out", "timeout-out"});
        if (n["error"] && n["error-out"]) f.error(n["error-out"], fmt::format("{} has both 'error' and 'error-out' (the same exit)", where));
        if (n["timeout"] && n["timeout-out"]) f.error(n["timeout-out"], fmt::format("{} has both 'timeout' and 'timeout-out' (the same exit)", where));
        for (auto it = n.begin(); it != n.end(); ++it) {
            const std::string k = it->first.Scalar();
            const YAML::Node v = it->second;
            auto name = scalar(f, v, k);
            if (!name) continue;
            const bool is_timeout = k == "timeout" || k == "timeout-out";
            if (is_timeout && max_duration_ms && parse_duration_ms(*name)) {
                if (!*max_duration_ms) *max_duration_ms = *parse_duration_ms(*name);
                continue;
            }
            static const std::vector<std::pair<std::string_view, Route>> routes{
                {"error_out", Route::error_out}, {"timeout_out", Route::timeout_out}, {"closing", Route::closing},
                {"fatal", Route::fatal}};
            auto found = std::find_if(routes.begin(), routes.end(), [&](const auto& r) { return r.first == *name; });
            if (found == routes.end()) {
                std::vector<std::string_view> names;
                for (const auto& r : routes) names.push_back(r.first);
                auto guess = closest_match(*name, names);
                f.error(v, fmt::format("unknown exit '{}' in {}.{}", *name, where, k),
                        guess.empty() ? std::string("error_out, timeout_out, closing or fatal") + (is_timeout && max_duration_ms ? ", or a duration" : "")
                                      : fmt::format("did you mean '{}'?", guess));
                continue;
            }
            (is_timeout ? timeout : error) = found->second;
        }
    }

    void parse_load(FileCtx& f, const YAML::Node& n) {
        if (!expect_map(f, n, "load")) return;
        check_keys(f, n, "load", {"scenarios", "profiles"});
        if (n["profiles"]) parse_profiles(f, n["profiles"]);
        if (!n["scenarios"]) {
            f.error(n, "load has no 'scenarios'");
            return;
        }
        if (!expect_seq(f, n["scenarios"], "load.scenarios")) return;
        for (const auto& s : n["scenarios"]) {
            if (!expect_map(f, s, "a scenario")) continue;
            check_keys(f, s, "a scenario",
                       {"name", "workflow", "user-count", "spawn-rate", "task-duration", "max-duration", "user", "exit",
                        "exits", "profile", "arrival-rate", "duration", "max-users"});
            ScenarioSpec sc;
            sc.loc = f.loc(s);
            sc.name = s["name"] ? scalar(f, s["name"], "name").value_or("") : fmt::format("scenario-{}", script_.scenarios.size() + 1);
            for (const auto& other : script_.scenarios)
                if (other.name == sc.name) f.error(s["name"], fmt::format("scenario '{}' is declared twice", sc.name));
            if (!s["workflow"]) {
                f.error(s, fmt::format("scenario '{}' has no 'workflow'", sc.name));
            } else {
                auto name = scalar(f, s["workflow"], "workflow").value_or("");
                if (auto wf = find_named(f, s["workflow"], script_.workflows, name, "workflow")) {
                    sc.workflow = *wf;
                    resolved_scenarios_.insert(script_.scenarios.size());
                }
            }
            if (s["user-count"]) {
                sc.user_count = uint_value(f, s["user-count"], "user-count").value_or(1);
                if (sc.user_count == 0) f.error(s["user-count"], "user-count must be at least 1");
            }
            if (s["spawn-rate"]) {
                sc.spawn_rate = rate(f, s["spawn-rate"], "spawn-rate").value_or(0);
                if (sc.spawn_rate <= 0 && s["spawn-rate"].IsScalar()) f.error(s["spawn-rate"], "spawn-rate must be positive");
            }
            if (s["task-duration"]) sc.task_duration_ms = duration(f, s["task-duration"], "task-duration").value_or(0);
            parse_model(f, s, sc);
            if (s["max-duration"]) sc.max_duration_ms = duration(f, s["max-duration"], "max-duration").value_or(0);
            if (s["user"] && expect_map(f, s["user"], "user")) {
                check_keys(f, s["user"], "user", {"inherit", "context"});
                if (s["user"]["inherit"] && expect_seq(f, s["user"]["inherit"], "user.inherit")) {
                    for (const auto& item : s["user"]["inherit"]) {
                        auto name = scalar(f, item, "inherit").value_or("");
                        if (auto pool = find_named(f, item, script_.pools, name, "resource")) sc.inherit.push_back(*pool);
                    }
                }
                if (s["user"]["context"]) {
                    sc.context.kind = Step::Kind::update_workbook;
                    sc.context.loc = f.loc(s["user"]["context"]);
                    parse_workbook_updates(f, s["user"]["context"], sc.context, "user.context");
                    // Rendered as a task starts: only what is readable then (no step has saved anything).
                    const std::set<uint32_t> anytime = readable_anytime();
                    for (const auto& [id, t] : sc.context.updates)
                        for (uint32_t slot : t.variables())
                            if (!anytime.count(slot))
                                f.error(s["user"]["context"],
                                        fmt::format("user.context.{} reads '{}', but the context is set as each task "
                                                    "starts, before any step saved it",
                                                    script_.workbook.field(id).path, script_.variables[slot]),
                                        "read it in an update-workbook step after the step that saves it");
                }
            }
            sc.exit_error = script_.exit_error;
            sc.exit_timeout = script_.exit_timeout;
            if (s["exit"] && s["exits"]) f.error(s["exits"], "a scenario has both 'exit' and 'exits' (the same key)");
            for (const char* key : {"exit", "exits"})
                if (s[key] && expect_map(f, s[key], key))
                    parse_exits(f, s[key], key, sc.exit_error, sc.exit_timeout, &sc.max_duration_ms);
            script_.scenarios.push_back(std::move(sc));
        }
        if (script_.scenarios.empty()) f.error(n["scenarios"], "load.scenarios is empty");
    }

    void parse_profiles(FileCtx& f, const YAML::Node& n) {
        if (!expect_map(f, n, "load.profiles")) return;
        for (auto it = n.begin(); it != n.end(); ++it) {
            ProfileSpec p;
            p.name = it->first.Scalar();
            p.loc = f.loc(it->first);
            const YAML::Node body = it->second;
            if (!expect_map(f, body, fmt::format("profile '{}'", p.name))) continue;
            check_keys(f, body, "a profile", {"start-users", "end-users", "duration", "hold", "stages"});
            if (body["stages"]) {
                if (body["end-users"] || body["duration"])
                    f.error(it->first, fmt::format("profile '{}' has both 'stages' and a ramp (end-users/duration)", p.name));
                if (body["start-users"]) p.start = static_cast<double>(uint_value(f, body["start-users"], "start-users").value_or(0));
                if (expect_seq(f, body["stages"], "stages")) {
                    for (const auto& st : body["stages"]) {
                        if (!expect_map(f, st, "a stage")) continue;
                        check_keys(f, st, "a stage", {"duration", "target", "name"});
                        Stage stage;
                        if (!st["duration"] || !st["target"]) {
                            f.error(st, "a stage needs 'duration' and 'target' (users at its end)");
                            continue;
                        }
                        stage.duration_ms = duration(f, st["duration"], "duration").value_or(0);
                        stage.target = static_cast<double>(uint_value(f, st["target"], "target").value_or(0));
                        if (stage.duration_ms == 0) f.error(st["duration"], "a stage's duration must be positive");
                        p.stages.push_back(stage);
                    }
                }
                if (p.stages.empty()) f.error(body, fmt::format("profile '{}' has no stages", p.name));
            } else {
                // The seeds' ramp: start-users -> end-users over duration (then `hold` at end-users).
                if (!body["end-users"] || !body["duration"]) {
                    f.error(it->first, fmt::format("profile '{}' needs end-users and duration (or stages)", p.name));
                    continue;
                }
                if (body["start-users"]) p.start = static_cast<double>(uint_value(f, body["start-users"], "start-users").value_or(0));
                Stage ramp;
                ramp.duration_ms = duration(f, body["duration"], "duration").value_or(0);
                ramp.target = static_cast<double>(uint_value(f, body["end-users"], "end-users").value_or(0));
                if (ramp.duration_ms == 0) f.error(body["duration"], "a ramp's duration must be positive");
                p.stages.push_back(ramp);
                if (body["hold"]) {
                    Stage hold{duration(f, body["hold"], "hold").value_or(0), ramp.target};
                    if (hold.duration_ms) p.stages.push_back(hold);
                }
            }
            script_.profiles.push_back(std::move(p));
        }
    }

    void parse_model(FileCtx& f, const YAML::Node& s, ScenarioSpec& sc) {
        if (s["profile"]) {
            auto name = scalar(f, s["profile"], "profile").value_or("");
            sc.profile = find_named(f, s["profile"], script_.profiles, name, "profile", "define it under load.profiles");
            if (s["user-count"]) f.error(s["user-count"], "user-count and profile exclude each other (the profile sets the users)");
        }
        if (!s["arrival-rate"]) {
            for (const char* key : {"duration", "max-users"})
                if (s[key]) f.error(s[key], fmt::format("'{}' belongs to the open model (with arrival-rate)", key));
            return;
        }
        sc.model = Model::open;
        const YAML::Node& r = s["arrival-rate"];
        if (r.IsMap()) {
            check_keys(f, r, "arrival-rate", {"from", "to"});
            if (!r["from"] || !r["to"]) f.error(r, "a ramping arrival-rate needs 'from' and 'to' (e.g. from: 100/s, to: 1000/s)");
            else {
                sc.arrival_rate = rate(f, r["from"], "arrival-rate.from").value_or(0);
                sc.arrival_rate_end = rate(f, r["to"], "arrival-rate.to").value_or(0);
            }
        } else {
            sc.arrival_rate = sc.arrival_rate_end = rate(f, r, "arrival-rate").value_or(0);
            if (sc.arrival_rate <= 0 && r.IsScalar()) f.error(r, "arrival-rate must be positive");
        }
        if (!s["duration"]) f.error(s, fmt::format("scenario '{}' with arrival-rate needs 'duration' (how long arrivals go on)", sc.name));
        else sc.duration_ms = duration(f, s["duration"], "duration").value_or(0);
        if (s["max-users"]) sc.max_users = uint_value(f, s["max-users"], "max-users").value_or(0);
        for (const char* key : {"user-count", "spawn-rate", "profile", "task-duration"})
            if (s[key]) f.error(s[key], fmt::format("'{}' belongs to the closed model; the open model starts users by arrival-rate", key));
    }

    // Variables the graph does not check: constants (file_blobs, kv_store keys), and user-local and global variables
    // (an earlier task of the user, or another user, may have saved them; a read before any save is a
    // counted error of the action at run time).
    std::set<uint32_t> readable_anytime() const {
        std::set<uint32_t> out;
        for (uint32_t c = 0; c < script_.constants.size(); ++c)  // file_blobs and kv_store keys
            if (script_.constants[c]) out.insert(c);
        for (uint32_t i = 0; i < script_.variable_scopes.size(); ++i)
            if (script_.variable_scopes[i] == VarScope::user || script_.variable_scopes[i] == VarScope::global) out.insert(i);
        return out;
    }

    // Reports each variable `step` reads that is not in `saved`; `what` names the step for the message.
    void check_reads(const Step& step, const std::set<uint32_t>& saved, const std::string& what, const std::string& why) {
        if (step.cond) {
            for (uint32_t slot : step.cond->variables())
                if (!saved.count(slot))
                    out_.push_back({step.loc.file, step.loc.line, step.loc.column,
                                    fmt::format("the condition '{}' ({}) reads '{}', but {}", step.cond->source(), what,
                                                script_.variables[slot], why),
                                    {}});
            return;
        }
        if (step.kind == Step::Kind::log) {
            for (uint32_t slot : step.message.variables())
                if (!saved.count(slot))
                    out_.push_back({step.loc.file, step.loc.line, step.loc.column,
                                    fmt::format("the log step ({}) reads '{}', but {}", what, script_.variables[slot], why),
                                    {}});
            return;
        }
        if (step.kind == Step::Kind::update_workbook) {
            for (const auto& [field, t] : step.updates)
                for (uint32_t slot : t.variables())
                    if (!saved.count(slot))
                        out_.push_back({step.loc.file, step.loc.line, step.loc.column,
                                        fmt::format("the update-workbook step ({}) reads '{}' for {}, but {}", what,
                                                    script_.variables[slot], script_.workbook.field(field).path, why),
                                        {}});
            return;
        }
        if (step.kind != Step::Kind::action) return;
        const ActionSpec& a = script_.actions[step.action];
        for (size_t w = 0; w < a.with.size(); ++w) {
            const auto& [key, t] = a.with[w];
            const SourceLoc& at = a.with_locs[w];
            for (uint32_t slot : t.variables())
                if (!saved.count(slot))
                    out_.push_back({at.file, at.line, at.column,
                                    fmt::format("action '{}' ({}) reads '{}' in with.{}, but {}", a.name, what,
                                                script_.variables[slot], key, why),
                                    {}});
        }
    }

    // `workbook:`: the six sections, each with `defaults` (a map, nested keys flatten to dotted paths)
    // and `fields` (a list of paths whose default is ""), and `expose` (alias: section path). The
    // sections may also sit under a `sections:` key.
    void parse_workbook(FileCtx& f, const YAML::Node& n) {
        if (!expect_map(f, n, "workbook")) return;
        std::vector<std::string_view> allowed;
        for (const char* sec : workbook::kSections) allowed.push_back(sec);
        allowed.push_back("expose");
        allowed.push_back("sections");
        check_keys(f, n, "workbook", allowed);
        auto& schema = script_.workbook;
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
    void parse_workbook_updates(FileCtx& f, const YAML::Node& n, Step& st, std::string_view where = "update-workbook") {
        if (!expect_map(f, n, where)) return;
        if (n.size() == 0) f.error(n, fmt::format("{} names no field", where));
        std::vector<std::pair<std::string, YAML::Node>> flat;
        flatten(n, "", flat);
        const auto& schema = script_.workbook;
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
            if (auto t = Template::compile(value.Scalar(), resolver(), err, offset)) st.updates.emplace_back(*id, std::move(*t));
            else f.error(value, err);
        }
    }

    // `progress:`: batching {max-batch-size, flush-interval, priority-threshold}, poller.priorities
    // {phase: weight}, queue-size.
    void parse_progress(FileCtx& f, const YAML::Node& n) {
        if (!expect_map(f, n, "progress")) return;
        check_keys(f, n, "progress", {"batching", "poller", "queue-size"}, {"rollback"});
        auto& p = script_.progress;
        if (n["batching"] && expect_map(f, n["batching"], "progress.batching")) {
            const YAML::Node b = n["batching"];
            check_keys(f, b, "progress.batching", {"max-batch-size", "flush-interval", "priority-threshold"});
            if (b["max-batch-size"]) {
                if (auto v = uint_value(f, b["max-batch-size"], "max-batch-size")) {
                    if (*v == 0 || *v > 1'000'000) f.error(b["max-batch-size"], "max-batch-size must be between 1 and 1000000");
                    else p.max_batch_size = static_cast<uint32_t>(*v);
                }
            }
            if (b["flush-interval"]) {
                if (auto v = duration(f, b["flush-interval"], "flush-interval")) {
                    if (*v == 0) f.error(b["flush-interval"], "flush-interval must be more than 0ms");
                    else p.flush_interval_ms = *v;
                }
            }
            if (b["priority-threshold"])
                if (auto v = uint_value(f, b["priority-threshold"], "priority-threshold")) p.priority_threshold = static_cast<uint32_t>(*v);
        }
        if (n["poller"] && expect_map(f, n["poller"], "progress.poller")) {
            const YAML::Node po = n["poller"];
            check_keys(f, po, "progress.poller", {"priorities"});
            if (po["priorities"] && expect_map(f, po["priorities"], "progress.poller.priorities")) {
                const YAML::Node pr = po["priorities"];
                static constexpr std::string_view phases[5] = {"initiating", "planning", "executing", "monitoring", "closing"};
                for (auto it = pr.begin(); it != pr.end(); ++it) {
                    std::string phase = it->first.Scalar();
                    YAML::Node weight = it->second;
                    size_t k = 0;
                    while (k < 5 && phases[k] != phase) ++k;
                    if (k == 5) {
                        auto guess = closest_match(phase, std::vector<std::string_view>(phases, phases + 5));
                        f.error(it->first, fmt::format("unknown process group '{}' in progress.poller.priorities", phase),
                                guess.empty() ? "one of initiating, planning, executing, monitoring, closing"
                                              : fmt::format("did you mean '{}'?", guess));
                        continue;
                    }
                    if (auto v = uint_value(f, weight, "a priority")) p.priorities[k] = static_cast<uint32_t>(*v);
                }
            }
        }
        if (n["queue-size"]) {
            if (auto v = uint_value(f, n["queue-size"], "queue-size")) {
                if (*v < 16 || *v > (1u << 24)) f.error(n["queue-size"], "queue-size must be between 16 and 16777216");
                else p.queue_size = static_cast<uint32_t>(*v);
            }
        }
    }

    // {{resource.<field>}} reads the item the user leased from a pool its scenario inherits: in a
    // scenario that inherits no pool, or none with that field, it could never render (each run of the
    // action would be a counted error). Reads guarded by exists() / default() are not checked.
    void check_resource_reads() {
        std::set<std::tuple<std::string, int, int, std::string>> reported;  // a place and field once
        for (size_t i = 0; i < script_.scenarios.size(); ++i) {
            const ScenarioSpec& sc = script_.scenarios[i];
            if (!resolved_scenarios_.count(i)) continue;  // its workflow is unknown: reported already
            std::vector<std::string_view> fields;
            std::vector<std::string> pools;
            for (uint32_t p : sc.inherit) {
                pools.push_back(script_.pools[p].name);
                for (const auto& fld : script_.pools[p].fields) fields.push_back(fld);
            }
            auto check = [&](const std::vector<std::string>& reads, const SourceLoc& at) {
                for (const auto& field : reads) {
                    if (std::find(fields.begin(), fields.end(), field) != fields.end()) continue;
                    if (!reported.emplace(at.file, at.line, at.column, field).second) continue;
                    const WorkflowSpec& wf = script_.workflows[sc.workflow];
                    if (pools.empty()) {
                        std::string hint = "lease an item per user: `user: {inherit: [<pool>]}` in the scenario";
                        if (!script_.pools.empty())
                            hint = fmt::format("lease an item per user: `user: {{inherit: [{}]}}` in the scenario",
                                               script_.pools.front().name);
                        out_.push_back({at.file, at.line, at.column,
                                        fmt::format("'resource.{}' reads the user's leased resource item, but scenario "
                                                    "'{}' (workflow '{}') inherits no pool",
                                                    field, sc.name, wf.name),
                                        std::move(hint)});
                    } else {
                        auto guess = closest_match(field, fields);
                        out_.push_back({at.file, at.line, at.column,
                                        fmt::format("'resource.{}': no pool that scenario '{}' inherits ({}) has a field "
                                                    "'{}'; their fields: {}",
                                                    field, sc.name, fmt::join(pools, ", "), field, fmt::join(fields, ", ")),
                                        guess.empty() ? std::string() : fmt::format("did you mean 'resource.{}'?", guess)});
                    }
                }
            };
            std::set<uint32_t> actions_done;
            std::function<void(const std::vector<Step>&)> walk = [&](const std::vector<Step>& steps) {
                for (const Step& step : steps) {
                    for (uint32_t b : step.branches) walk(script_.branches[b].steps);
                    if (step.cond) check(step.cond->resource_fields(), step.loc);
                    if (step.kind == Step::Kind::log) check(step.message.resource_fields(), step.loc);
                    for (const auto& [id, t] : step.updates) check(t.resource_fields(), step.loc);
                    if (step.kind != Step::Kind::action || !actions_done.insert(step.action).second) continue;
                    const ActionSpec& a = script_.actions[step.action];
                    for (size_t w = 0; w < a.with.size(); ++w)
                        check(a.with[w].second.resource_fields(), w < a.with_locs.size() ? a.with_locs[w] : a.loc);
                    if (a.persist) check(a.persist->filename.resource_fields(), a.persist->loc);
                    if (a.on_error) walk(a.on_error->steps);
                    if (a.on_timeout) walk(a.on_timeout->steps);
                }
            };
            const WorkflowSpec& wf = script_.workflows[sc.workflow];
            for (const auto& [id, t] : sc.context.updates) check(t.resource_fields(), sc.context.loc);
            walk(wf.steps);
            walk(wf.on_error.steps);
            walk(wf.on_timeout.steps);
        }
    }

    // The variable graph of `steps` workflows: a data-flow analysis over the control flow of their
    // flat steps (if, loop and goto compiled to branches and jumps). What may have been saved when a
    // step starts is the union of what the steps that lead to it pass on, to a fixpoint: a loop's back
    // edge carries what its body saves to the start of the next iteration. A read that no path from
    // the start can have saved is an error, with a path that shows it; a read that some paths reach
    // without the save is left to run time (a counted error of the step that reads it), as in graph
    // workflows. A parallel step's branches each start from what may have been saved before it (a
    // branch cannot read what a sibling saves: they run at once); after it, what any branch saves.
    // A handler (on-error / on-timeout) runs after some step failed, so its steps may read what any
    // step of the workflow saves (or an earlier handler step); whether it was saved is then known only
    // at run time, where an unset variable is a counted error of the action that reads it.
    void check_variable_graph() {
        const std::set<uint32_t> constants = readable_anytime();
        for (size_t w = 0; w < script_.workflows.size(); ++w) {
            const WorkflowSpec& wf = script_.workflows[w];
            if (!wf.graph)  // a graph workflow was checked node by node when it compiled
                check_flow(wf, w < workflow_titles_.size() ? workflow_titles_[w] : no_titles_, constants);
            std::set<uint32_t> saved = constants;
            collect_saves(wf, saved);
            auto check_handler = [&](const Handler& h, const std::string& name) {
                std::set<uint32_t> seen = saved;
                for (size_t i = 0; i < h.steps.size(); ++i) {
                    check_reads(h.steps[i], seen, fmt::format("entry {} of {}", i + 1, name),
                                fmt::format("no step of workflow '{}' saves it", wf.name));
                    if (h.steps[i].kind == Step::Kind::action && script_.actions[h.steps[i].action].save_slot)
                        seen.insert(*script_.actions[h.steps[i].action].save_slot);
                }
            };
            check_handler(wf.on_error, wf.name + ".on-error");
            check_handler(wf.on_timeout, wf.name + ".on-timeout");
            std::set<uint32_t> done;
            std::function<void(const WorkflowSpec&)> action_handlers = [&](const WorkflowSpec& w) {
                for (const Step& step : w.steps) {
                    for (uint32_t b : step.branches) action_handlers(script_.branches[b]);
                    if (step.kind != Step::Kind::action || !done.insert(step.action).second) continue;
                    const ActionSpec& a = script_.actions[step.action];
                    if (a.on_error) check_handler(*a.on_error, a.name + ".on-error");
                    if (a.on_timeout) check_handler(*a.on_timeout, a.name + ".on-timeout");
                }
            };
            action_handlers(wf);
        }
    }

    // Adds to `saved` every variable a step of `wf` (or of its parallel branches) can save.
    void collect_saves(const WorkflowSpec& wf, std::set<uint32_t>& saved) const {
        for (const Step& step : wf.steps) {
            if (step.kind == Step::Kind::action && script_.actions[step.action].save_slot)
                saved.insert(*script_.actions[step.action].save_slot);
            if (step.kind == Step::Kind::loop_check && step.item_slot) saved.insert(*step.item_slot);
            for (uint32_t b : step.branches) collect_saves(script_.branches[b], saved);
        }
    }

    // Calls f(to, body) for each step control can go to after step `i` of `wf` (wf.steps.size(): the
    // end); `body` is true for the edge into a loop's body, where a loop over a list sets its item.
    template <class F>
    static void for_each_next(const WorkflowSpec& wf, uint32_t i, F&& f) {
        const Step& s = wf.steps[i];
        const uint32_t target = std::min(s.target, static_cast<uint32_t>(wf.steps.size()));
        switch (s.kind) {
        case Step::Kind::exit:
        case Step::Kind::route: return;  // the task ends (or starts again with its variables cleared)
        case Step::Kind::jump:
        case Step::Kind::loop_next: f(target, false); return;
        case Step::Kind::branch: f(i + 1, false); f(target, false); return;
        case Step::Kind::loop_check: f(i + 1, true); f(target, false); return;
        default: f(i + 1, false); return;
        }
    }

    struct Flow {
        std::vector<std::set<uint32_t>> in;  // per step and the end: what may have been saved there
        std::vector<bool> reached;           // some path from the start leads there
        std::set<uint32_t> saves;            // the entry set and what any reached step may save
    };

    // The may-have-saved analysis of `wf` when it starts with `entry` saved.
    Flow flow(const WorkflowSpec& wf, const std::set<uint32_t>& entry) const {
        const uint32_t n = static_cast<uint32_t>(wf.steps.size());
        Flow fl;
        fl.in.resize(n + 1);
        fl.reached.assign(n + 1, false);
        fl.saves = entry;
        fl.in[0] = entry;
        fl.reached[0] = true;
        std::vector<uint32_t> work;
        std::vector<bool> queued(n + 1, false);
        if (n > 0) work.push_back(0), queued[0] = true;
        while (!work.empty()) {
            const uint32_t i = work.back();
            work.pop_back();
            queued[i] = false;
            const Step& s = wf.steps[i];
            std::set<uint32_t> out = fl.in[i];
            if (s.kind == Step::Kind::action && script_.actions[s.action].save_slot) out.insert(*script_.actions[s.action].save_slot);
            for (uint32_t b : s.branches) {
                const std::set<uint32_t>& branch = branch_saves(b);
                out.insert(branch.begin(), branch.end());
            }
            fl.saves.insert(out.begin(), out.end());
            for_each_next(wf, i, [&](uint32_t to, bool body) {
                const size_t before = fl.in[to].size();
                const bool first = !fl.reached[to];
                fl.in[to].insert(out.begin(), out.end());
                if (body && s.item_slot) {
                    fl.in[to].insert(*s.item_slot);
                    fl.saves.insert(*s.item_slot);
                }
                fl.reached[to] = true;
                if ((first || fl.in[to].size() != before) && to < n && !queued[to]) {
                    queued[to] = true;
                    work.push_back(to);
                }
            });
        }
        return fl;
    }

    // What the steps of branch `b` that run may save. Which steps run does not depend on what was
    // saved before, so this is computed once per branch (however often a loop brings a parallel step
    // back into the analysis).
    const std::set<uint32_t>& branch_saves(uint32_t b) const {
        if (branch_saves_.size() < script_.branches.size()) branch_saves_.resize(script_.branches.size());
        if (!branch_saves_[b]) branch_saves_[b] = flow(script_.branches[b], {}).saves;
        return *branch_saves_[b];
    }

    // Checks the reads of every step of `wf` that runs, when it starts with `entry` saved (`titles`
    // name its steps in the paths of the messages).
    void check_flow(const WorkflowSpec& wf, const std::vector<std::string>& titles, const std::set<uint32_t>& entry) {
        const Flow fl = flow(wf, entry);
        // The shortest path from the start to each step (parent[i]: the step before it).
        const uint32_t n = static_cast<uint32_t>(wf.steps.size());
        std::vector<uint32_t> parent(n + 1, UINT32_MAX);
        std::vector<bool> seen(n + 1, false);
        std::vector<uint32_t> queue{0};
        seen[0] = true;
        for (size_t q = 0; q < queue.size(); ++q)
            if (queue[q] < n)
                for_each_next(wf, queue[q], [&](uint32_t to, bool) {
                    if (seen[to]) return;
                    seen[to] = true;
                    parent[to] = queue[q];
                    queue.push_back(to);
                });
        for (uint32_t i = 0; i < n; ++i) {
            if (!fl.reached[i]) continue;  // never runs: nothing to read
            const Step& step = wf.steps[i];
            for (uint32_t b : step.branches)
                check_flow(script_.branches[b], b < branch_titles_.size() ? branch_titles_[b] : no_titles_, fl.in[i]);
            std::set<uint32_t> missing;
            auto note = [&](const std::vector<uint32_t>& slots) {
                for (uint32_t slot : slots)
                    if (!fl.in[i].count(slot)) missing.insert(slot);
            };
            if (step.cond) note(step.cond->variables());
            else if (step.kind == Step::Kind::log) note(step.message.variables());
            else if (step.kind == Step::Kind::update_workbook)
                for (const auto& u : step.updates) note(u.second.variables());
            else if (step.kind == Step::Kind::action)
                for (const auto& w : script_.actions[step.action].with) note(w.second.variables());
            if (missing.empty()) continue;
            std::string why = "no earlier step of the workflow saves it";
            std::string path = path_to(wf, titles, parent, i, missing);
            if (!path.empty()) why += ": " + path;
            check_reads(step, fl.in[i], fmt::format("step {} of workflow '{}'", i + 1, wf.name), why);
        }
    }

    // The path from the start of `wf` to step `i` (`parent`: the shortest paths) as the decisions on
    // it that turn away from a step that saves one of `missing` (an if's side, a goto, whether a
    // loop's body runs), then the step; empty when no decision on it does.
    std::string path_to(const WorkflowSpec& wf, const std::vector<std::string>& titles, const std::vector<uint32_t>& parent,
                        uint32_t i, const std::set<uint32_t>& missing) const {
        const uint32_t n = static_cast<uint32_t>(wf.steps.size());
        auto title = [&](uint32_t x) { return x < titles.size() && !titles[x].empty() ? titles[x] : fmt::format("step {}", x + 1); };
        // Whether a step that saves one of `missing` can run after step `from`.
        auto leads_to_save = [&](uint32_t from) {
            std::vector<bool> visited(n + 1, false);
            std::vector<uint32_t> stack{from};
            visited[from] = true;
            while (!stack.empty()) {
                const uint32_t x = stack.back();
                stack.pop_back();
                if (x >= n) continue;
                const Step& s = wf.steps[x];
                std::set<uint32_t> saves;
                if (s.kind == Step::Kind::action && script_.actions[s.action].save_slot) saves.insert(*script_.actions[s.action].save_slot);
                if (s.kind == Step::Kind::loop_check && s.item_slot) saves.insert(*s.item_slot);
                for (uint32_t b : s.branches) collect_saves(script_.branches[b], saves);
                for (uint32_t v : saves)
                    if (missing.count(v)) return true;
                for_each_next(wf, x, [&](uint32_t to, bool) {
                    if (!visited[to]) visited[to] = true, stack.push_back(to);
                });
            }
            return false;
        };
        std::vector<uint32_t> chain;
        for (uint32_t x = i; x != UINT32_MAX; x = parent[x]) chain.push_back(x);
        std::reverse(chain.begin(), chain.end());
        std::vector<std::string> parts;
        for (size_t k = 0; k + 1 < chain.size(); ++k) {
            const uint32_t x = chain[k], next = chain[k + 1];
            const Step& s = wf.steps[x];
            if (x >= titles.size() || titles[x].empty() || s.target == x + 1) continue;  // no choice made here
            const uint32_t other = next == x + 1 ? s.target : x + 1;
            if (s.kind == Step::Kind::branch && leads_to_save(other))
                parts.push_back(fmt::format("{} (if: {})", titles[x], next == x + 1 ? "then" : "else"));
            else if (s.kind == Step::Kind::loop_check && leads_to_save(other))
                parts.push_back(fmt::format("{} (loop: {})", titles[x], next == x + 1 ? "body" : "done"));
            else if (s.kind == Step::Kind::jump && leads_to_save(x + 1))  // a goto: what it skips
                parts.push_back(fmt::format("{} (goto '{}')", titles[x], next < n ? wf.steps[next].name : "end"));
        }
        if (parts.empty()) return {};
        parts.push_back(title(i));
        return fmt::format("{}", fmt::join(parts, " -> "));
    }

    fs::path res_dir_;
    std::vector<Diagnostic>& out_;
    const SourceTexts* texts_ = nullptr;
    Script script_;
    std::map<std::string, uint32_t> named_actions_;
    std::set<size_t> resolved_scenarios_;  // scenarios whose workflow was found (by index)
    // StepLabels::titles of each workflow and each parallel branch (same indices as script_'s).
    std::vector<std::vector<std::string>> workflow_titles_, branch_titles_;
    const std::vector<std::string> no_titles_;
    mutable std::vector<std::optional<std::set<uint32_t>>> branch_saves_;  // branch_saves(), by branch
};

}  // namespace

Script load_res_dir(const fs::path& res_dir, std::vector<Diagnostic>& diagnostics, const SourceTexts* texts) {
    std::error_code ec;
    fs::path abs = fs::absolute(res_dir, ec).lexically_normal();
    if (!fs::is_directory(abs, ec)) {
        diagnostics.push_back({res_dir.string(), 0, 0, "not a directory (expected a res_dir with script.yaml)", {}});
        return {};
    }
    if (!(texts && texts->script_yaml) && !fs::exists(abs / "script.yaml")) {
        diagnostics.push_back({(res_dir / "script.yaml").string(), 0, 0, "missing: a res_dir needs a script.yaml", {}});
        return {};
    }
    const size_t first = diagnostics.size();
    Script script = Parser(abs, diagnostics, texts).run();
    sort_diagnostics(diagnostics, first);
    return script;
}

}  // namespace ntx::dsl
