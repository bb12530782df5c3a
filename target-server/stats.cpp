#include "stats.hpp"

#include <boost/json.hpp>

namespace http = boost::beast::http;

namespace ntx_target {

void Stats::on_request(http::verb method, std::string_view path) {
    requests_.fetch_add(1, std::memory_order_relaxed);
    Method m = OTHER;
    switch (method) {
        case http::verb::get: m = GET; break;
        case http::verb::post: m = POST; break;
        case http::verb::put: m = PUT; break;
        case http::verb::patch: m = PATCH; break;
        case http::verb::delete_: m = DELETE_; break;
        case http::verb::head: m = HEAD; break;
        default: break;
    }
    by_method_[m].fetch_add(1, std::memory_order_relaxed);

    for (std::size_t i = 0; i < fixed_paths_names.size(); ++i) {
        if (path == fixed_paths_names[i]) {
            fixed_paths_[i].fetch_add(1, std::memory_order_relaxed);
            return;
        }
    }
    constexpr std::string_view status_prefix = "/status/";
    if (path.size() == status_prefix.size() + 3 && path.starts_with(status_prefix)) {
        auto d = path.substr(status_prefix.size());
        if (d[0] >= '0' && d[0] <= '9' && d[1] >= '0' && d[1] <= '9' && d[2] >= '0' && d[2] <= '9') {
            std::size_t code = std::size_t(d[0] - '0') * 100 + std::size_t(d[1] - '0') * 10 +
                               std::size_t(d[2] - '0');
            status_paths_[code].fetch_add(1, std::memory_order_relaxed);
            return;
        }
    }
    std::lock_guard lock(other_mu_);
    auto it = other_paths_.find(std::string(path));
    if (it != other_paths_.end()) {
        ++it->second;
    } else if (other_paths_.size() < max_other_paths) {
        other_paths_.emplace(std::string(path), 1);
    } else {
        ++other_paths_["(other)"];
    }
}

void Stats::reset() {
    requests_.store(0, std::memory_order_relaxed);
    bytes_received_.store(0, std::memory_order_relaxed);
    connections_.store(0, std::memory_order_relaxed);
    for (auto& c : by_method_) c.store(0, std::memory_order_relaxed);
    for (auto& c : fixed_paths_) c.store(0, std::memory_order_relaxed);
    for (auto& c : status_paths_) c.store(0, std::memory_order_relaxed);
    std::lock_guard lock(other_mu_);
    other_paths_.clear();
}

std::string Stats::to_json() const {
    namespace json = boost::json;
    json::object root;
    root["requests"] = requests_.load(std::memory_order_relaxed);

    json::object methods;
    static constexpr std::array<const char*, method_count> method_names{
        "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OTHER"};
    for (std::size_t i = 0; i < method_count; ++i) {
        auto v = by_method_[i].load(std::memory_order_relaxed);
        if (i != OTHER || v != 0) methods[method_names[i]] = v;
    }
    root["by_method"] = std::move(methods);

    json::object paths;
    for (std::size_t i = 0; i < fixed_paths_names.size(); ++i) {
        if (auto v = fixed_paths_[i].load(std::memory_order_relaxed)) paths[fixed_paths_names[i]] = v;
    }
    for (std::size_t code = 0; code < status_paths_.size(); ++code) {
        if (auto v = status_paths_[code].load(std::memory_order_relaxed)) {
            char key[] = "/status/000";
            key[8] = char('0' + code / 100);
            key[9] = char('0' + code / 10 % 10);
            key[10] = char('0' + code % 10);
            paths[key] = v;
        }
    }
    {
        std::lock_guard lock(other_mu_);
        for (const auto& [k, v] : other_paths_) paths[k] = v;
    }
    root["by_path"] = std::move(paths);

    root["connections"] = connections_.load(std::memory_order_relaxed);
    root["bytes_received"] = bytes_received_.load(std::memory_order_relaxed);
    root["active_connections"] = active_.load(std::memory_order_relaxed);
    return json::serialize(root);
}

}  // namespace ntx_target
