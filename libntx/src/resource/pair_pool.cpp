#include "resource/pair_pool.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fmt/format.h>
#include <fstream>

namespace ntx::resource {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

// Splits one CSV line on commas; quoted fields ("a,b") may contain commas and doubled quotes.
// Returns false on an unterminated quote.
bool split_csv(std::string_view line, std::vector<std::string>& out, std::vector<size_t>& columns) {
    out.clear();
    columns.clear();
    size_t i = 0;
    while (true) {
        columns.push_back(i);
        std::string field;
        while (i < line.size() && line[i] == ' ') ++i;
        if (i < line.size() && line[i] == '"') {
            ++i;
            bool closed = false;
            while (i < line.size()) {
                if (line[i] == '"') {
                    if (i + 1 < line.size() && line[i + 1] == '"') {
                        field += '"';
                        i += 2;
                        continue;
                    }
                    closed = true;
                    ++i;
                    break;
                }
                field += line[i++];
            }
            if (!closed) return false;
            while (i < line.size() && line[i] != ',') ++i;
        } else {
            size_t start = i;
            while (i < line.size() && line[i] != ',') ++i;
            field = std::string(trim(line.substr(start, i - start)));
        }
        out.push_back(std::move(field));
        if (i >= line.size()) break;
        ++i;  // the comma
    }
    return true;
}

}  // namespace

std::unique_ptr<PairPool> PairPool::load(const dsl::PoolSpec& spec, std::vector<Diagnostic>& diagnostics) {
    auto pool = std::make_unique<PairPool>();
    pool->name_ = spec.name;
    pool->fields_ = spec.fields;
    pool->guard_ = spec.guard;
    pool->strategy_ = spec.strategy;
    std::string file = spec.manifest.string();
    {
        std::error_code ec;
        auto rel = std::filesystem::relative(spec.manifest, std::filesystem::current_path(), ec);
        if (!ec && !rel.empty() && rel.native().rfind("..", 0) != 0) file = rel.string();
    }
    size_t errors_before = diagnostics.size();
    auto error = [&](int line, int col, std::string msg) {
        diagnostics.push_back({file, line, col, std::move(msg), {}});
    };
    if (spec.format == "csv") {
        std::ifstream in(spec.manifest);
        if (!in) {
            diagnostics.push_back({spec.manifest_loc.file, spec.manifest_loc.line, spec.manifest_loc.column,
                                   fmt::format("cannot read manifest '{}' of resource '{}'", file, spec.name), {}});
            return pool;
        }
        std::string line;
        std::vector<std::string> cells;
        std::vector<size_t> columns;
        int number = 0;
        while (std::getline(in, line)) {
            ++number;
            std::string_view t = trim(line);
            if (t.empty() || t.front() == '#') continue;
            if (!split_csv(line, cells, columns)) {
                error(number, static_cast<int>(line.find('"') + 1), "unterminated quote");
                continue;
            }
            if (pool->items_.empty() && cells == spec.fields) continue;  // a header row naming the fields
            if (cells.size() != spec.fields.size()) {
                error(number, static_cast<int>(columns.back() + 1),
                      fmt::format("expected {} fields ({}), found {}", spec.fields.size(), fmt::join(spec.fields, ","),
                                  cells.size()));
                continue;
            }
            for (size_t c = 0; c < cells.size(); ++c) {
                if (cells[c].empty()) error(number, static_cast<int>(columns[c] + 1), fmt::format("empty field '{}'", spec.fields[c]));
            }
            pool->items_.push_back(cells);
        }
    } else {  // yaml: a list of maps with the fields, or of lists in field order
        YAML::Node root;
        try {
            root = YAML::LoadFile(spec.manifest.string());
        } catch (const YAML::ParserException& e) {
            error(e.mark.line + 1, e.mark.column + 1, e.msg);
            return pool;
        } catch (const YAML::BadFile&) {
            diagnostics.push_back({spec.manifest_loc.file, spec.manifest_loc.line, spec.manifest_loc.column,
                                   fmt::format("cannot read manifest '{}' of resource '{}'", file, spec.name), {}});
            return pool;
        }
        if (root.IsMap() && root["items"]) root = root["items"];
        if (!root.IsSequence()) {
            error(root.Mark().line + 1, root.Mark().column + 1, "a YAML manifest is a list of items (or a map with 'items')");
            return pool;
        }
        for (const auto& item : root) {
            auto m = item.Mark();
            std::vector<std::string> row;
            if (item.IsMap()) {
                for (const auto& f : spec.fields) {
                    if (!item[f] || !item[f].IsScalar()) {
                        error(m.line + 1, m.column + 1, fmt::format("item has no scalar field '{}'", f));
                        row.clear();
                        break;
                    }
                    row.push_back(item[f].Scalar());
                }
            } else if (item.IsSequence() && item.size() == spec.fields.size()) {
                for (const auto& v : item) row.push_back(v.IsScalar() ? v.Scalar() : std::string());
            } else {
                error(m.line + 1, m.column + 1, fmt::format("item must be a map with fields {}", fmt::join(spec.fields, ", ")));
            }
            if (row.size() == spec.fields.size()) pool->items_.push_back(std::move(row));
        }
    }
    if (diagnostics.size() != errors_before) return pool;
    if (pool->items_.empty()) {
        diagnostics.push_back({spec.manifest_loc.file, spec.manifest_loc.line, spec.manifest_loc.column,
                               fmt::format("manifest '{}' of resource '{}' has no items", file, spec.name), {}});
        return pool;
    }
    if (spec.capacity) {
        if (*spec.capacity > pool->items_.size())
            diagnostics.push_back({spec.loc.file, spec.loc.line, spec.loc.column,
                                   fmt::format("resource '{}': capacity.size is {} but the manifest has {} items",
                                               spec.name, *spec.capacity, pool->items_.size()),
                                   {}});
        else
            pool->items_.resize(*spec.capacity);
    }
    for (uint32_t i = 0; i < pool->items_.size(); ++i) pool->free_.push_back(i);
    pool->lease_count_.assign(pool->items_.size(), 0);
    return pool;
}

int PairPool::field_index(std::string_view field) const {
    for (size_t i = 0; i < fields_.size(); ++i)
        if (fields_[i] == field) return static_cast<int>(i);
    return -1;
}

std::optional<uint32_t> PairPool::acquire() {
    std::lock_guard lock(mutex_);
    uint32_t item;
    if (guard_ == dsl::Guard::exclusive) {
        if (free_.empty()) return std::nullopt;
        item = free_.front();
        free_.pop_front();
    } else if (strategy_ == dsl::LeaseStrategy::least_used) {
        item = static_cast<uint32_t>(std::min_element(lease_count_.begin(), lease_count_.end()) - lease_count_.begin());
    } else {
        item = next_;
        next_ = (next_ + 1) % static_cast<uint32_t>(items_.size());
    }
    ++lease_count_[item];
    peak_ = std::max(peak_, ++held_);
    return item;
}

void PairPool::release(uint32_t item) {
    std::lock_guard lock(mutex_);
    --lease_count_[item];
    --held_;
    if (guard_ == dsl::Guard::exclusive) free_.push_back(item);
}

uint64_t PairPool::leases_held() const {
    std::lock_guard lock(mutex_);
    return held_;
}

uint64_t PairPool::peak_leases() const {
    std::lock_guard lock(mutex_);
    return peak_;
}

}  // namespace ntx::resource
