// Resource manifests: the rows of a CSV or YAML file, each with the parser's `fields`, every problem
// reported at the manifest's file:line:col (a missing or unreadable file at the script's `manifest`).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "dsl/script.hpp"

namespace ntx::resource {

struct ManifestSpec {
    std::string resource;           // the resource's name, for messages
    std::filesystem::path path;     // absolute
    std::string format = "csv";     // csv | yaml
    std::vector<std::string> fields;
    dsl::SourceLoc loc;             // where script.yaml names the manifest
    bool map_of_scalars = false;    // yaml: also a plain `key: value` map (two fields; kv_store)
};

// The rows in file order; problems go to `diagnostics` (the rows are usable only when none was added).
std::vector<std::vector<std::string>> read_manifest(const ManifestSpec& spec, std::vector<Diagnostic>& diagnostics);

// The byte offset of the first byte of `s` that is not well-formed UTF-8, or npos.
size_t invalid_utf8_at(std::string_view s);

}  // namespace ntx::resource
