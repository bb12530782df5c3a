#include "run_overrides.hpp"

#include <charconv>
#include <cstdio>
#include <cstring>

#include "dsl/units.hpp"  // the DSL's own duration and rate grammar (units.cpp is compiled in)

namespace po = boost::program_options;

namespace ntx::cli {

namespace {

// The value options, short and long: a value after them that starts with '-' is still their value.
const std::pair<const char*, const char*> kValueOptions[] = {{"-u", "--users"},    {"--users", "--users"},
                                                             {"-r", "--rate"},     {"--rate", "--rate"},
                                                             {"-d", "--duration"}, {"--duration", "--duration"},
                                                             {"-s", "--scenario"}, {"--scenario", "--scenario"},
                                                             {"-e", "--env"},      {"--env", "--env"},
                                                             {"--feature", "--feature"}};

bool env_key(std::string_view k) {
    if (k.empty() || (k[0] >= '0' && k[0] <= '9')) return false;
    for (char c : k)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
    return true;
}

}  // namespace

void add_override_options(po::options_description& opts) {
    opts.add_options()("users,u", po::value<std::string>(),
                       "run/validate: user-count of every closed scenario (N >= 1; refused for open and profile "
                       "scenarios)")(
        "rate,r", po::value<std::string>(),
        "run/validate: arrival-rate of every open scenario (R/s, R/m or R per second; refused for closed ones)")(
        "duration,d", po::value<std::string>(),
        "run/validate: task-duration of every closed scenario, arrivals window of every open one (30s, 5m, "
        "500ms; refused for profile scenarios)")(
        "scenario,s", po::value<std::vector<std::string>>()->composing(),
        "run/validate: run only this scenario (repeatable)")(
        "env,e", po::value<std::vector<std::string>>()->composing(),
        "run/validate: KEY=VALUE read by {{env.KEY}} (repeatable; before the process environment)")(
        "feature", po::value<std::vector<std::string>>()->composing(),
        "run/validate: NAME=on|off switches a feature flag config.yaml declares (repeatable; read by feature(\"NAME\"))");
}

std::vector<std::string> join_dash_values(int argc, char** argv) {
    std::vector<std::string> out;
    for (int i = 0; i < argc; ++i) {
        std::string a = argv[i];
        if (i + 1 < argc && argv[i + 1][0] == '-' && std::strncmp(argv[i + 1], "--", 2) != 0)
            for (const auto& [name, long_name] : kValueOptions)
                if (a == name) {
                    a = std::string(long_name) + "=" + argv[++i];
                    break;
                }
        out.push_back(std::move(a));
    }
    return out;
}

bool read_overrides(const po::variables_map& vm, Overrides& out) {
    auto fail = [](const char* option, const std::string& value, const char* expected) {
        std::fprintf(stderr, "ntx: error: %s '%s': %s\n", option, value.c_str(), expected);
        return false;
    };
    if (vm.count("users")) {
        const std::string v = vm["users"].as<std::string>();
        uint64_t n = 0;
        auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
        if (v.empty() || ec != std::errc() || p != v.data() + v.size() || n == 0)
            return fail("--users", v, "expected a whole number of users, at least 1");
        out.users = n;
    }
    if (vm.count("rate")) {
        const std::string v = vm["rate"].as<std::string>();
        auto r = dsl::parse_rate_per_s(v);
        if (!r) r = v.find('/') == std::string::npos ? dsl::parse_rate_per_s(v + "/s") : std::nullopt;
        if (!r || *r <= 0) return fail("--rate", v, "expected a positive rate such as 50/s, 600/m or 50 (per second)");
        out.rate = *r;
    }
    if (vm.count("duration")) {
        const std::string v = vm["duration"].as<std::string>();
        auto ms = dsl::parse_duration_ms(v);
        if (!ms || *ms == 0) return fail("--duration", v, "expected a positive duration such as 30s, 5m, 1h or 500ms");
        out.duration_ms = *ms;
    }
    if (vm.count("scenario")) {
        for (const auto& s : vm["scenario"].as<std::vector<std::string>>()) {
            if (s.empty()) return fail("--scenario", s, "expected a scenario's name");
            out.scenarios.push_back(s);
        }
    }
    if (vm.count("env")) {
        for (const auto& kv : vm["env"].as<std::vector<std::string>>()) {
            const size_t eq = kv.find('=');
            if (eq == std::string::npos) return fail("-e", kv, "expected KEY=VALUE (e.g. -e BASE_URL=http://127.0.0.1:8080)");
            const std::string key = kv.substr(0, eq);
            if (!env_key(key))
                return fail("-e", kv, "KEY must be letters, digits and _, not starting with a digit (read as {{env.KEY}})");
            out.env.emplace_back(key, kv.substr(eq + 1));
        }
    }
    if (vm.count("feature")) {
        for (const auto& kv : vm["feature"].as<std::vector<std::string>>()) {
            const size_t eq = kv.find('=');
            const std::string value = eq == std::string::npos ? "" : kv.substr(eq + 1);
            if (eq == 0 || eq == std::string::npos || (value != "on" && value != "off" && value != "true" && value != "false"))
                return fail("--feature", kv, "expected NAME=on or NAME=off (e.g. --feature new-checkout=on)");
            out.features.emplace_back(kv.substr(0, eq), value == "on" || value == "true");
        }
    }
    return true;
}

}  // namespace ntx::cli
