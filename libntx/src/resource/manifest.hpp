// Resource manifests: the rows of a CSV or YAML file, each with the parser's `fields`, every problem
// reported at the manifest's file:line:col (a missing or unreadable file at the script's `manifest`).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "dsl/source_reader.hpp"

namespace ntx::resource {

// The manifest to read (the DSL names it: dsl/source_reader.hpp).
using ManifestSpec = dsl::ManifestSpec;

// The rows in file order; problems go to `diagnostics` (the rows are usable only when none was added).
std::vector<std::vector<std::string>> read_manifest(const ManifestSpec& spec, std::vector<Diagnostic>& diagnostics);

// The byte offset of the first byte of `s` that is not well-formed UTF-8, or npos.
size_t invalid_utf8_at(std::string_view s);

}  // namespace ntx::resource
