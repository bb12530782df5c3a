// resources of script.yaml: pair_pool, file_blob (its file read and hashed through the SourceReader), kv_store
// (its manifest read through the SourceReader), and the check of what {{resource.*}} templates read.
#include <algorithm>
#include <filesystem>
#include <functional>

#include "dsl/passes.hpp"

namespace ntx::dsl::passes {
namespace {

// A file a resource names must stay inside the res_dir: `../../etc/os-release`, an absolute path, or a
// symlink inside the res_dir pointing out of it is refused at planning (its contents would be sent).
bool inside_res_dir(FileCtx& f, const YAML::Node& at, const std::filesystem::path& res_dir, const std::string& rel) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path root = fs::weakly_canonical(res_dir, ec);
    const fs::path file = fs::weakly_canonical(res_dir / rel, ec);
    const fs::path up = file.lexically_relative(root);
    if (!ec && !fs::path(rel).is_absolute() && !up.empty() && *up.begin() != "..") return true;
    f.error(at, fmt::format("'{}' is outside the res_dir ({})", rel, res_dir.string()),
            "resource files are read from inside the res_dir: copy the file there");
    return false;
}

}  // namespace

// Without parser.fields, a CSV manifest's first row names the fields (ip,port). The header's
// problems are the manifest's, at its line 1; an unreadable manifest is reported once, where the
// script names it (and the pool reads it again only if planning succeeded).
static std::vector<std::string> csv_header_fields(Compilation& cx, const std::string& resource,
                                                  const std::filesystem::path& manifest, const SourceLoc& loc) {
    ManifestSpec m{resource, manifest, "csv", {}, loc};
    m.header_only = true;  // the pool reads the rows later, once
    const size_t before = cx.out.size();
    auto rows = cx.reader.read_manifest(m, cx.out);
    if (cx.out.size() != before) return {};
    const std::string file = cx.reader.display_name(manifest);
    if (rows.empty()) {
        cx.out.push_back({loc.file, loc.line, loc.column,
                          fmt::format("resource '{}': manifest {} has no rows, so no header names the fields", resource, file),
                          "give config.parser.fields, or a first row such as ip,port"});
        return {};
    }
    std::vector<std::string> fields = rows.front();
    bool ok = true;
    for (size_t i = 0; i < fields.size(); ++i) {
        const bool dup = std::find(fields.begin(), fields.begin() + static_cast<std::ptrdiff_t>(i), fields[i]) !=
                         fields.begin() + static_cast<std::ptrdiff_t>(i);
        if (fields[i].empty() || dup) {
            cx.out.push_back({file, 1, 0,
                              fmt::format("the header row names the fields of resource '{}', but field {} is {}", resource,
                                          i + 1, fields[i].empty() ? "empty" : fmt::format("'{}' again", fields[i])),
                              "or give config.parser.fields in script.yaml"});
            ok = false;
        }
    }
    return ok ? fields : std::vector<std::string>{};
}

void parse_resources(Compilation& cx, FileCtx& f, const YAML::Node& n) {
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
            parse_blob(cx, f, it->first, r);
            continue;
        } else if (type == "kv_store") {
            parse_kv_store(cx, f, it->first, r);
            continue;
        } else if (type != "pair_pool")
            f.error(r["type"], fmt::format("unknown resource type '{}'", type), "one of pair_pool, file_blob, kv_store");
        if (r["provider"] && expect_map(f, r["provider"], "provider")) parse_provider(cx, f, r["provider"], pool, "pair_pool");
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
                if (auto v = scalar(f, c["manifest"], "manifest"); v && inside_res_dir(f, c["manifest"], cx.res_dir, *v))
                    pool.manifest = (cx.res_dir / *v).lexically_normal();
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
            if (pool.fields.empty() && pool.format == "csv" && !pool.manifest.empty())
                pool.fields = csv_header_fields(cx, pool.name, pool.manifest, pool.manifest_loc);
            else if (pool.fields.empty())
                f.error(c, fmt::format("resource '{}' needs config.parser.fields", pool.name),
                        "or a CSV manifest whose first row names the fields");
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
        cx.script.pools.push_back(std::move(pool));
    }
}

// file_blob: config.file read now (every user shares it), config.checksum `auto` (computed) or the
// expected sha256 (a mismatch is an error here, before anything runs).
void parse_blob(Compilation& cx, FileCtx& f, const YAML::Node& key, const YAML::Node& r) {
    BlobSpec blob;
    blob.name = key.Scalar();
    blob.loc = f.loc(key);
    if (r["capacity"]) f.error(r["capacity"], "capacity applies to pair_pool resources");
    if (r["provider"] && expect_map(f, r["provider"], "provider")) {
        PoolSpec unused;
        parse_provider(cx, f, r["provider"], unused, "file_blob");
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
    if (!rel || !inside_res_dir(f, c["file"], cx.res_dir, *rel)) return;
    blob.file = (cx.res_dir / *rel).lexically_normal();
    BlobFile read = cx.reader.read_blob(blob.file, uint64_t{256} << 20);
    switch (read.status) {
    case BlobFile::Status::ok: break;
    case BlobFile::Status::unreadable:
        f.error(c["file"], fmt::format("cannot read '{}': {}", *rel, read.reason));
        return;
    case BlobFile::Status::too_large:
        f.error(c["file"], fmt::format("'{}' is {} bytes; a file_blob holds at most 256 MiB", *rel, read.size));
        return;
    case BlobFile::Status::read_failed:
        f.error(c["file"], fmt::format("cannot read '{}'", *rel));
        return;
    }
    const uint64_t size = read.size;
    std::string content = std::move(read.content);
    std::string digest = std::move(read.sha256);
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
    add_variable(cx, "blob." + blob.name);
    blob.slot = static_cast<uint32_t>(std::find(cx.script.variables.begin(), cx.script.variables.end(), "blob." + blob.name) -
                                      cx.script.variables.begin());
    auto fields = std::make_shared<Fields>();
    fields->emplace_back("body", std::move(content));
    fields->emplace_back("sha256", digest);
    fields->emplace_back("size", std::to_string(size));
    if (cx.script.constants.size() <= blob.slot) cx.script.constants.resize(blob.slot + 1);
    cx.script.constants[blob.slot] = std::move(fields);
    cx.script.blobs.push_back(std::move(blob));
}

// provider.calls names the resource-manager's call behind each operation the type has: a pair_pool
// acquires (allocate_pair) and releases (release_pair) its items, a file_blob and a kv_store mount
// their file (mount_file). Any other name is an error: nothing else would be called.
void check_provider_calls(FileCtx& f, const YAML::Node& calls, std::string_view type) {
    static constexpr std::pair<std::string_view, std::string_view> kCalls[] = {
        {"acquire", "allocate_pair"}, {"release", "release_pair"}, {"mount", "mount_file"}};
    const bool pool = type == "pair_pool";
    check_keys(f, calls, "calls", {"acquire", "release", "mount"});
    for (auto [op_view, call] : kCalls) {
        const std::string op(op_view);
        if (!calls[op]) continue;
        if (pool != (op_view != "mount")) {
            f.error(calls[op], fmt::format("a {} has no '{}' call", type, op),
                    pool ? "a pair_pool's calls: acquire, release" : "a file_blob's or kv_store's call: mount");
            continue;
        }
        auto v = scalar(f, calls[op], fmt::format("calls.{}", op));
        if (!v || *v == call) continue;
        if (builtin_call(*v))
            f.error(calls[op], fmt::format("calls.{}: '{}' is not the resource-manager's {} call", op, *v, op),
                    fmt::format("write {}: {}", op, call));
        else
            f.error(calls[op], fmt::format("calls.{}: the resource-manager has no call '{}'", op, *v),
                    fmt::format("write {}: {}; the resource-manager's calls are allocate_pair, release_pair, mount_file", op, call));
    }
}

void parse_provider(Compilation& cx, FileCtx& f, const YAML::Node& p, PoolSpec& pool, std::string_view type) {
    check_keys(f, p, "provider", {"component", "calls", "leasing"});
    if (p["component"]) {
        auto name = scalar(f, p["component"], "provider.component").value_or("");
        auto comp = std::find_if(cx.script.components.begin(), cx.script.components.end(),
                                 [&](const ComponentSpec& c) { return c.name == name; });
        if (name != "resource-manager" && (comp == cx.script.components.end() || !comp->builtin))
            f.error(p["component"],
                    fmt::format("provider '{}' is not the built-in resource-manager", name),
                    "declare it with kind: builtin, or name resource-manager");
    }
    if (p["calls"] && expect_map(f, p["calls"], "calls")) check_provider_calls(f, p["calls"], type);
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
        pool.health.on_failure_set = true;
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
void parse_kv_store(Compilation& cx, FileCtx& f, const YAML::Node& key, const YAML::Node& r) {
    KvStoreSpec kv;
    kv.name = key.Scalar();
    kv.loc = f.loc(key);
    if (r["capacity"]) f.error(r["capacity"], "capacity applies to pair_pool resources");
    if (r["provider"] && expect_map(f, r["provider"], "provider")) {
        PoolSpec unused;
        parse_provider(cx, f, r["provider"], unused, "kv_store");
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
        ManifestSpec m;
        m.resource = kv.name;
        m.fields = {"key", "value"};
        m.map_of_scalars = true;
        m.loc = f.loc(c["manifest"]);
        auto rel = scalar(f, c["manifest"], "manifest");
        if (!rel || !inside_res_dir(f, c["manifest"], cx.res_dir, *rel)) return;
        kv.source = *rel;
        m.path = (cx.res_dir / *rel).lexically_normal();
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
            size_t before = cx.out.size();
            auto rows = cx.reader.read_manifest(m, cx.out);
            if (cx.out.size() == before)
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
    cx.script.kv_stores.push_back(std::move(kv));
}

// `resource.<store>.<key>` of a template: a constant variable, made the first time a template names
// it (only the keys templates read take a slot).
std::optional<uint32_t> kv_slot(Compilation& cx, std::string_view name) {
    std::string_view rest = name.substr(std::string_view("resource.").size());
    size_t dot = rest.find('.');
    if (dot == std::string_view::npos) return std::nullopt;
    std::string_view store = rest.substr(0, dot), key = rest.substr(dot + 1);
    for (const auto& kv : cx.script.kv_stores) {
        if (kv.name != store) continue;
        for (const auto& [k, v] : kv.entries) {
            if (k != key) continue;
            std::string var(name);
            auto it = std::find(cx.script.variables.begin(), cx.script.variables.end(), var);
            if (it != cx.script.variables.end()) return static_cast<uint32_t>(it - cx.script.variables.begin());
            cx.script.variables.push_back(var);
            cx.script.variable_scopes.push_back(VarScope::task);
            auto slot = static_cast<uint32_t>(cx.script.variables.size() - 1);
            if (cx.script.constants.size() <= slot) cx.script.constants.resize(slot + 1);
            cx.script.constants[slot] = std::make_shared<Fields>(Fields{{"body", v}});
            return slot;
        }
    }
    return std::nullopt;
}

// {{resource.<field>}} reads the item the user leased from a pool its scenario inherits: in a
// scenario that inherits no pool, or none with that field, it could never render (each run of the
// action would be a counted error). Reads guarded by exists() / default() are not checked.
void check_resource_reads(Compilation& cx) {
    std::set<std::tuple<std::string, int, int, std::string>> reported;  // a place and field once
    for (size_t i = 0; i < cx.script.scenarios.size(); ++i) {
        const ScenarioSpec& sc = cx.script.scenarios[i];
        if (!cx.resolved_scenarios.count(i)) continue;  // its workflow is unknown: reported already
        std::vector<std::string_view> fields;
        std::vector<std::string> pools;
        bool unknown_fields = false;  // a pool whose fields could not be named (reported there): no cascade
        for (uint32_t p : sc.inherit) {
            pools.push_back(cx.script.pools[p].name);
            unknown_fields = unknown_fields || cx.script.pools[p].fields.empty();
            for (const auto& fld : cx.script.pools[p].fields) fields.push_back(fld);
        }
        if (unknown_fields) continue;
        auto check = [&](const std::vector<std::string>& reads, const SourceLoc& at) {
            for (const auto& field : reads) {
                if (std::find(fields.begin(), fields.end(), field) != fields.end()) continue;
                if (!reported.emplace(at.file, at.line, at.column, field).second) continue;
                const WorkflowSpec& wf = cx.script.workflows[sc.workflow];
                if (pools.empty()) {
                    std::string hint = "lease an item per user: `user: {inherit: [<pool>]}` in the scenario";
                    if (!cx.script.pools.empty())
                        hint = fmt::format("lease an item per user: `user: {{inherit: [{}]}}` in the scenario",
                                           cx.script.pools.front().name);
                    cx.out.push_back({at.file, at.line, at.column,
                                    fmt::format("'resource.{}' reads the user's leased resource item, but scenario "
                                                "'{}' (workflow '{}') inherits no pool",
                                                field, sc.name, wf.name),
                                    std::move(hint)});
                } else {
                    auto guess = closest_match(field, fields);
                    cx.out.push_back({at.file, at.line, at.column,
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
                for (uint32_t b : step.branches) walk(cx.script.branches[b].steps);
                if (step.cond) check(step.cond->resource_fields(), step.loc);
                if (step.kind == Step::Kind::log) check(step.message.resource_fields(), step.loc);
                for (const auto& [id, t] : step.updates) check(t.resource_fields(), step.loc);
                if (step.kind != Step::Kind::action || !actions_done.insert(step.action).second) continue;
                const ActionSpec& a = cx.script.actions[step.action];
                for (size_t w = 0; w < a.with.size(); ++w)
                    check(a.with[w].second.resource_fields(), w < a.with_locs.size() ? a.with_locs[w] : a.loc);
                if (a.persist) check(a.persist->filename.resource_fields(), a.persist->loc);
                if (a.on_error) walk(a.on_error->steps);
                if (a.on_timeout) walk(a.on_timeout->steps);
            }
        };
        const WorkflowSpec& wf = cx.script.workflows[sc.workflow];
        for (const auto& [id, t] : sc.context.updates) check(t.resource_fields(), sc.context.loc);
        walk(wf.steps);
        walk(wf.on_error.steps);
        walk(wf.on_timeout.steps);
    }
}

}  // namespace ntx::dsl::passes
