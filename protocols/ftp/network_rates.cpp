#include "network_rates.hpp"

#include "config.hpp"

#include <yaml-cpp/yaml.h>

#include <filesystem>

namespace ntx::ftp {
namespace {

// config.yaml's `tick` (what a /tick rate is per): "20ms", "1s"; 20 ms when absent, as in the host.
std::uint64_t tick_ms(const YAML::Node &root) {
    const YAML::Node t = root["tick"];
    if (!t || !t.IsScalar()) return 20;
    const std::string s = t.Scalar();
    std::size_t end = 0;
    while (end < s.size() && s[end] >= '0' && s[end] <= '9') ++end;
    if (end == 0) return 20;
    const std::uint64_t n = std::stoull(s.substr(0, end));
    const std::string unit = s.substr(end);
    if (unit == "ms") return n;
    if (unit == "s") return n * 1000;
    return 20;
}

}  // namespace

NetworkRates read_network_rates(std::string_view res_dir) {
    NetworkRates out;
    const std::filesystem::path path = std::filesystem::path(std::string(res_dir)) / "config.yaml";
    std::error_code ec;
    if (res_dir.empty() || !std::filesystem::exists(path, ec)) return out;
    try {
        const YAML::Node root = YAML::LoadFile(path.string());
        if (!root.IsMap()) return out;
        const YAML::Node net = root["network"];
        if (!net || !net.IsMap()) return out;
        const std::uint64_t tick = tick_ms(root);
        for (auto [key, field] : {std::pair{"send-rate", &out.send}, std::pair{"recv-rate", &out.recv}}) {
            const YAML::Node v = net[key];
            if (!v) continue;
            if (!v.IsScalar() || !parse_byte_rate(v.Scalar(), *field, tick)) {
                out.problem = std::string("network.") + key + " '" + (v.IsScalar() ? v.Scalar() : "?") +
                              "' is not a rate this plugin reads";
            }
        }
    } catch (const std::exception &e) {
        out.problem = std::string("cannot read ") + path.string() + ": " + e.what();
    }
    return out;
}

}  // namespace ntx::ftp
