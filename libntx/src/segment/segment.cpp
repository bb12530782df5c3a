#include "segment/segment.hpp"

#include <charconv>
#include <fmt/format.h>

namespace ntx::segment {

namespace {

bool parse_number(std::string_view text, uint64_t& out) {
    if (text.empty() || text.size() > 10) return false;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

bool parse(std::string_view text, Segment& out, std::string& error) {
    auto slash = text.find('/');
    uint64_t i = 0, n = 0;
    if (slash == std::string_view::npos || !parse_number(text.substr(0, slash), i) ||
        !parse_number(text.substr(slash + 1), n)) {
        error = fmt::format("--segment '{}': expected I/N, two whole numbers with 0 <= I < N (e.g. 0/4)", text);
        return false;
    }
    if (n == 0) {
        error = fmt::format("--segment '{}': N is 0; a test is split into at least 1 segment", text);
        return false;
    }
    if (n > kMaxSegments) {
        error = fmt::format("--segment '{}': N is {}, more than the {} segments ntx splits a test into", text, n, kMaxSegments);
        return false;
    }
    if (i >= n) {
        error = fmt::format("--segment '{}': I is {} but the segments of {} are numbered 0 to {}", text, i, n, n - 1);
        return false;
    }
    out.index = static_cast<uint32_t>(i);
    out.count = static_cast<uint32_t>(n);
    return true;
}

std::string to_string(Segment s) { return fmt::format("{}/{}", s.index, s.count); }

uint64_t share(uint64_t total, Segment s) { return total > s.index ? (total - s.index - 1) / s.count + 1 : 0; }

double share(double rate, Segment s) { return rate / static_cast<double>(s.count); }

Stripe stripe(Segment s, uint32_t shard, uint32_t shards) {
    return {s.index + uint64_t{s.count} * shard, uint64_t{s.count} * (shards ? shards : 1)};
}

std::vector<uint64_t> items(uint64_t n, Segment s) {
    std::vector<uint64_t> out;
    out.reserve(share(n, s));
    for (uint64_t i = s.index; i < n; i += s.count) out.push_back(i);
    return out;
}

dsl::Script apply(dsl::Script script, Segment s, std::vector<Diagnostic>& diagnostics) {
    script.segment = s;
    if (s.count <= 1) return script;
    const std::string seg = to_string(s);
    for (auto& sc : script.scenarios) {
        if (!sc.max_users) continue;
        if (sc.max_users < s.count) {
            diagnostics.push_back({sc.loc.file, sc.loc.line, sc.loc.column,
                                   fmt::format("scenario '{}': max-users {} cannot be divided among {} segments (--segment {}): "
                                               "each instance needs at least 1",
                                               sc.name, sc.max_users, s.count, seg),
                                   "run fewer segments or raise max-users"});
            continue;
        }
        sc.max_users = share(sc.max_users, s);
    }
    auto& config = script.config;
    if (config.dynamic_max_concurrent) {
        if (config.dynamic_max_concurrent < s.count)
            diagnostics.push_back({"config.yaml", 0, 0,
                                   fmt::format("dynamic-tasks max-concurrent {} cannot be divided among {} segments (--segment {}): "
                                               "each instance needs at least 1",
                                               config.dynamic_max_concurrent, s.count, seg),
                                   {}});
        else
            config.dynamic_max_concurrent = share(config.dynamic_max_concurrent, s);
    }
    config.dynamic_rate = share(config.dynamic_rate, s);
    for (auto& pool : script.pools) pool.segment = s;  // PairPool::load keeps this segment's items
    return script;
}

}  // namespace ntx::segment
