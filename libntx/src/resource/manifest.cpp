#include "resource/manifest.hpp"

#include "resource/csv.hpp"

#include <yaml-cpp/yaml.h>

#include <fmt/format.h>
#include <fstream>
#include <sstream>

namespace ntx::resource {
namespace {

// The path as the user wrote it (relative to the working directory when it is below it).
std::string display(const std::filesystem::path& p) {
    std::error_code ec;
    auto rel = std::filesystem::relative(p, std::filesystem::current_path(), ec);
    if (!ec && !rel.empty() && rel.native().rfind("..", 0) != 0) return rel.string();
    return p.string();
}

}  // namespace

size_t invalid_utf8_at(std::string_view s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    size_t n = s.size(), i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t len;
        uint32_t cp;
        if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F;
        else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F;
        else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07;
        else return i;
        if (i + len > n) return i;
        for (size_t k = 1; k < len; ++k) {
            if ((p[i + k] & 0xC0) != 0x80) return i;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += len;
    }
    return std::string_view::npos;
}

std::vector<std::vector<std::string>> read_manifest(const ManifestSpec& spec, std::vector<Diagnostic>& diagnostics) {
    std::vector<std::vector<std::string>> rows;
    const std::string file = display(spec.path);
    auto error = [&](int line, int col, std::string msg) { diagnostics.push_back({file, line, col, std::move(msg), {}}); };
    std::string content;
    {
        std::error_code ec;
        bool regular = std::filesystem::is_regular_file(spec.path, ec);
        std::ifstream in(spec.path, std::ios::binary);
        if (!regular || !in) {
            diagnostics.push_back({spec.loc.file, spec.loc.line, spec.loc.column,
                                   fmt::format("cannot read manifest '{}' of resource '{}'{}", file, spec.resource,
                                               std::filesystem::exists(spec.path, ec) ? "" : ": no such file"),
                                   {}});
            return rows;
        }
        std::ostringstream s;
        s << in.rdbuf();
        content = std::move(s).str();
    }
    // Bad UTF-8 is reported at its line and column (the byte's), one per line.
    bool bad_text = false;
    if (!spec.header_only) {  // the header alone is checked below; the pool reads (and checks) the rest
        int line = 1;
        size_t start = 0;
        while (start <= content.size()) {
            size_t end = content.find('\n', start);
            if (end == std::string::npos) end = content.size();
            size_t bad = invalid_utf8_at(std::string_view(content).substr(start, end - start));
            if (bad != std::string_view::npos) {
                error(line, static_cast<int>(bad + 1), "not valid UTF-8 text");
                bad_text = true;
            }
            start = end + 1;
            ++line;
        }
    }
    if (spec.format == "csv") {
        std::vector<CsvRecord> records;
        CsvError bad;
        // Its error comes after the rows before it. The header alone needs one record.
        const bool parsed = parse_csv(content, records, bad, spec.header_only ? 1 : static_cast<size_t>(-1));
        for (auto& record : records) {
            std::vector<std::string> cells;
            bool readable = true;
            for (auto& f : record.fields) {
                const size_t bad_at = invalid_utf8_at(f.text);
                if (bad_at != std::string_view::npos && spec.header_only)
                    error(f.line, f.column + static_cast<int>(bad_at), "not valid UTF-8 text");
                readable = readable && bad_at == std::string_view::npos;  // else reported above
                cells.push_back(std::move(f.text));
            }
            if (!readable) continue;
            // No fields given: every record, the header first (the DSL names the fields from it).
            if (spec.fields.empty()) {
                rows.push_back(std::move(cells));
                continue;
            }
            if (rows.empty() && cells == spec.fields) continue;  // a header row naming the fields
            if (cells.size() != spec.fields.size()) {
                const CsvField& last = record.fields.back();
                error(last.line, last.column,
                      fmt::format("expected {} fields ({}), found {}", spec.fields.size(), fmt::join(spec.fields, ","),
                                  cells.size()));
                continue;
            }
            bool ok = true;
            for (size_t c = 0; c < cells.size(); ++c)
                if (cells[c].empty()) {
                    error(record.fields[c].line, record.fields[c].column, fmt::format("empty field '{}'", spec.fields[c]));
                    ok = false;
                }
            if (ok) rows.push_back(std::move(cells));
        }
        if (!parsed) error(bad.line, bad.column, bad.message);
        return rows;
    }
    if (bad_text) return rows;  // the YAML parser would only add noise
    YAML::Node root;
    try {
        root = YAML::Load(content);
    } catch (const YAML::ParserException& e) {
        error(e.mark.line + 1, e.mark.column + 1, e.msg);
        return rows;
    }
    if (root.IsMap() && root["items"]) root = YAML::Node(root["items"]);
    else if (spec.map_of_scalars && root.IsMap() && spec.fields.size() == 2) {
        for (auto it = root.begin(); it != root.end(); ++it) {
            const YAML::Node v = it->second;
            if (!v.IsScalar() || !it->first.IsScalar()) {
                auto m = it->first.Mark();
                error(m.line + 1, m.column + 1, "a key: value manifest holds scalar keys and values only");
                continue;
            }
            rows.push_back({it->first.Scalar(), v.Scalar()});
        }
        return rows;
    }
    if (!root.IsSequence()) {
        int line = root.Mark().is_null() ? 1 : root.Mark().line + 1, col = root.Mark().is_null() ? 1 : root.Mark().column + 1;
        error(line, col,
              spec.map_of_scalars ? "a YAML manifest is a key: value map, a list of items, or a map with 'items'"
                                  : "a YAML manifest is a list of items (or a map with 'items')");
        return rows;
    }
    for (const auto& item : root) {
        auto m = item.Mark();
        std::vector<std::string> row;
        if (item.IsMap()) {
            for (const auto& f : spec.fields) {
                const YAML::Node v = item[f];
                if (!v.IsDefined() || !v.IsScalar() || v.Scalar().empty()) {
                    error(m.line + 1, m.column + 1,
                          fmt::format("item has no {}field '{}'", v.IsDefined() && v.IsScalar() ? "non-empty " : "scalar ", f));
                    row.clear();
                    break;
                }
                row.push_back(v.Scalar());
            }
        } else if (item.IsSequence() && item.size() == spec.fields.size()) {
            for (size_t c = 0; c < item.size(); ++c) {
                const YAML::Node v = item[c];
                if (!v.IsScalar() || v.Scalar().empty()) {
                    auto vm = v.Mark();
                    error(vm.line + 1, vm.column + 1, fmt::format("empty or non-scalar field '{}'", spec.fields[c]));
                    row.clear();
                    break;
                }
                row.push_back(v.Scalar());
            }
        } else {
            error(m.line + 1, m.column + 1,
                  fmt::format("item must be a map with fields {} (or a list of {} values)", fmt::join(spec.fields, ", "),
                              spec.fields.size()));
        }
        if (row.size() == spec.fields.size()) rows.push_back(std::move(row));
    }
    return rows;
}

}  // namespace ntx::resource
