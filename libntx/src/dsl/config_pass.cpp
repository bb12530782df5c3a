// config.yaml: tick, threads, timeouts, network rates, dynamic tasks, log.
#include <algorithm>

#include "dsl/passes.hpp"
#include "dsl/units.hpp"

namespace ntx::dsl {

std::string output_kind_error(std::string_view kind) {
    if (kind == "csv" || kind == "jsonl" || kind == "tasks" || kind == "prometheus-rw") return {};
    if (kind == "otlp" || kind == "opentelemetry")
        return "outputs: OpenTelemetry (OTLP) is not available: Debian 12 has no OpenTelemetry C++ SDK package "
               "(use the Prometheus endpoint or prometheus-rw, or csv / jsonl / tasks)";
    return fmt::format("outputs: unknown kind '{}' (csv, jsonl, tasks or prometheus-rw)", kind);
}

std::string output_target_error(std::string_view kind, std::string_view target) {
    if (target.empty()) return "outputs: the target is empty";
    // prometheus-rw: a receiver's URL (Prometheus' /api/v1/write, Mimir's /api/v1/push, ...).
    if (kind == "prometheus-rw" && !target.starts_with("http://") && !target.starts_with("https://"))
        return fmt::format("outputs: prometheus-rw wants the receiver's http:// or https:// URL, found '{}'", target);
    return {};
}

}  // namespace ntx::dsl

namespace ntx::dsl::passes {

namespace {

// network.allow: a list of entries (policy/network_allow.hpp); each bad one is an error at its own
// column (a quoted scalar starts one column later than its mark).
void parse_network_allow(FileCtx& f, const YAML::Node& list, RunConfig& config) {
    if (!list.IsSequence()) {
        f.error(list, "network.allow is a list of addresses, CIDRs and host names, each with optional :PORTS",
                "e.g. allow: [127.0.0.0/8, \"localhost:8000-8100\", \"[::1]:443\"]");
        return;
    }
    std::vector<policy::AllowEntry> entries;
    bool ok = true;
    for (const auto& item : list) {
        if (!item.IsScalar()) {
            f.error(item, "each network.allow entry is one text: an address, a CIDR or a host name, with optional :PORTS");
            ok = false;
            continue;
        }
        const std::string text = item.as<std::string>();
        policy::AllowParse parsed = policy::parse_allow_entry(text);
        if (!parsed.entry) {
            YAML::Mark m = item.Mark();
            if (!m.is_null()) m.column += static_cast<int>(parsed.column) + (item.Tag() == "!" ? 1 : 0);
            f.error(m, "network.allow: " + parsed.error);
            ok = false;
            continue;
        }
        entries.push_back(std::move(*parsed.entry));
    }
    if (ok) config.network_allow = policy::NetworkAllow(std::move(entries));
}

}  // namespace
// features: {name: on | off} (also true / false): the seeds' feature flags. --feature NAME=on|off
// switches a declared one for a run (apply_feature_overrides).
void parse_features(Compilation& cx, FileCtx& f, const YAML::Node& n) {
    if (!expect_map(f, n, "features")) return;
    cx.script.config.features_loc = f.loc(n);
    for (auto it = n.begin(); it != n.end(); ++it) {
        auto name = scalar(f, it->first, "a feature's name");
        auto v = scalar(f, it->second, fmt::format("feature '{}'", name.value_or("")));
        if (!name || !v) continue;
        bool on = false;
        if (*v == "on" || *v == "true") on = true;
        else if (*v != "off" && *v != "false") {
            f.error(it->second, fmt::format("feature '{}' must be on or off, found '{}'", *name, *v));
            continue;
        }
        cx.script.config.features.emplace_back(*name, on);
    }
}

// --feature NAME=on|off: a feature config.yaml declares, switched for this run (listed in the
// overrides); an undeclared name is an error (a typo would otherwise change nothing).
void apply_feature_overrides(Compilation& cx) {
    auto& features = cx.script.config.features;
    for (const auto& flag : cx.overrides->features) {
        const std::string& name = flag.first;  // not a structured binding: clang's C++20 cannot capture those
        const bool on = flag.second;
        auto it = std::find_if(features.begin(), features.end(), [&](const auto& x) { return x.first == name; });
        if (it == features.end()) {
            std::vector<std::string_view> names;
            for (const auto& x : features) names.push_back(x.first);
            auto guess = closest_match(name, names);
            const auto& at = cx.script.config.features_loc;
            cx.out.push_back({at.file.empty() ? std::string("--feature") : at.file, at.line, at.column,
                              fmt::format("--feature {}: config.yaml declares no feature '{}'", name, name),
                              guess.empty() ? "declare it in config.yaml: features: {" + name + ": off}"
                                            : fmt::format("did you mean '{}'?", guess)});
            continue;
        }
        it->second = on;
        bool noted = false;
        for (auto& o : cx.script.overrides_used)
            if (o.name == "feature." + name) {
                o.value = on ? "on" : "off";
                noted = true;
            }
        if (!noted) cx.script.overrides_used.push_back({"feature." + name, on ? "on" : "off", "--feature"});
    }
}

void parse_config(Compilation& cx) {
    std::filesystem::path path = cx.res_dir / "config.yaml";
    const bool from_text = cx.texts && cx.texts->config_yaml;
    if (!from_text && !cx.reader.exists(path)) return;
    FileCtx f{from_text ? cx.texts->config_name : display(cx, path), cx.out};
    auto root = load_yaml(cx, f, path, from_text ? &*cx.texts->config_yaml : nullptr);
    if (!root || root->IsNull()) return;
    if (!expect_map(f, *root, "config.yaml")) return;
    check_keys(f, *root, "config.yaml",
               {"tick", "threads", "action-timeout", "grace-period", "log", "logging", "dynamic-tasks", "network", "outputs",
                "masking", "features"});
    const YAML::Node& c = *root;
    if (c["tick"]) {
        if (auto v = duration(f, c["tick"], "tick")) {
            if (*v == 0 || *v > 1000) f.error(c["tick"], "tick must be between 1ms and 1s");
            else cx.script.config.tick_ms = *v;
        }
    }
    if (c["threads"]) {
        if (auto v = uint_value(f, c["threads"], "threads")) cx.script.config.threads = static_cast<unsigned>(*v);
    }
    if (c["grace-period"]) {
        if (auto v = duration(f, c["grace-period"], "grace-period")) cx.script.config.grace_ms = *v;
    }
    if (c["action-timeout"]) {
        if (auto v = duration(f, c["action-timeout"], "action-timeout")) cx.script.config.action_timeout_ms = *v;
    }
    if (c["network"] && expect_map(f, c["network"], "network")) {
        // Both directions share one window (the smaller), each keeping its bytes per millisecond.
        const YAML::Node& n = c["network"];
        check_keys(f, n, "network", {"send-rate", "recv-rate", "allow"});
        if (n["allow"]) parse_network_allow(f, n["allow"], cx.script.config);
        std::optional<ByteRate> send, recv;
        for (auto [key, out] : {std::pair{"send-rate", &send}, std::pair{"recv-rate", &recv}}) {
            if (!n[key]) continue;
            auto text = scalar(f, n[key], key);
            if (!text) continue;
            *out = parse_byte_rate(*text, cx.script.config.tick_ms);
            if (!*out || (*out)->bytes <= 0 || (*out)->per_ms == 0)
                f.error(n[key], fmt::format("network.{} must be a positive byte rate such as 512KiB/s or 64KB/tick, "
                                            "found '{}'", key, *text));
        }
        uint64_t window = std::min(send ? send->per_ms : UINT64_MAX, recv ? recv->per_ms : UINT64_MAX);
        if (window != UINT64_MAX && window > 0) {
            window = std::max<uint64_t>(window, 10);  // windows under 10 ms only cost wakeups
            cx.script.config.rate_window_ms = static_cast<uint32_t>(window);
            auto per_window = [&](const ByteRate& r) {
                return std::max<uint64_t>(1, static_cast<uint64_t>(r.bytes * static_cast<double>(window) / static_cast<double>(r.per_ms)));
            };
            if (send && send->bytes > 0) cx.script.config.send_bytes = per_window(*send);
            if (recv && recv->bytes > 0) cx.script.config.recv_bytes = per_window(*recv);
        }
    }
    // outputs: [{csv: intervals.csv}, {jsonl: intervals.jsonl}, {tasks: tasks.jsonl},
    //           {prometheus-rw: http://127.0.0.1:9090/api/v1/write}]
    if (c["outputs"] && expect_seq(f, c["outputs"], "outputs")) {
        for (const auto& item : c["outputs"]) {
            if (!item.IsMap() || item.size() != 1) {
                f.error(item, "each of outputs is one KIND: TARGET pair, e.g. {csv: intervals.csv}");
                continue;
            }
            const auto kv = *item.begin();
            auto kind = scalar(f, kv.first, "outputs kind");
            auto target = scalar(f, kv.second, "outputs target");
            if (!kind || !target) continue;
            if (std::string error = output_kind_error(*kind); !error.empty()) f.error(kv.first, error);
            else if (std::string error = output_target_error(*kind, *target); !error.empty()) f.error(kv.second, error);
            else cx.script.config.outputs.emplace_back(*kind, *target);
        }
    }
    if (c["dynamic-tasks"] && expect_map(f, c["dynamic-tasks"], "dynamic-tasks")) {
        const YAML::Node& d = c["dynamic-tasks"];
        check_keys(f, d, "dynamic-tasks", {"max-concurrent", "rate"});
        if (d["max-concurrent"])
            cx.script.config.dynamic_max_concurrent = uint_value(f, d["max-concurrent"], "max-concurrent").value_or(1000);
        if (d["rate"]) {
            cx.script.config.dynamic_rate = rate(f, d["rate"], "dynamic-tasks.rate").value_or(0);
            if (cx.script.config.dynamic_rate <= 0 && d["rate"].IsScalar()) f.error(d["rate"], "dynamic-tasks.rate must be positive");
        }
    }
    // `masking` (the seeds' name) is log.mask: the same list, the same effect.
    if (c["masking"]) cx.script.config.log_mask = string_list(f, c["masking"], "masking");
    if (c["features"]) parse_features(cx, f, c["features"]);
    // `logging` (SPEC's name) and `log` are the same section.
    if (c["log"] && c["logging"]) f.error(c["logging"], "config.yaml has both 'log' and 'logging' (the same section)");
    const YAML::Node log = c["log"] ? c["log"] : c["logging"];
    if (log) {
        if (expect_map(f, log, "log")) {
            check_keys(f, log, "log", {"level", "mask"});
            if (log["mask"]) cx.script.config.log_mask = string_list(f, log["mask"], "log.mask");
            if (log["mask"] && c["masking"])
                f.error(c["masking"], "config.yaml has both 'masking' and 'log.mask' (the same list)", "keep one");
            if (log["level"]) {
                auto lvl = scalar(f, log["level"], "log.level");
                static const std::vector<std::string_view> levels{"trace", "debug", "info", "warn", "error", "off"};
                if (lvl && std::find(levels.begin(), levels.end(), *lvl) == levels.end())
                    f.error(log["level"], fmt::format("unknown log level '{}'", *lvl),
                            "one of trace, debug, info, warn, error, off");
                else if (lvl)
                    cx.script.config.log_level = *lvl;
            }
        }
    }
}

}  // namespace ntx::dsl::passes
