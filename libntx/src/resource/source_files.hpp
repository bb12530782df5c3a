// The DSL's SourceReader over the files of a res_dir: what `ntx validate`, the core and the tests give
// dsl::load_res_dir. Reads YAML documents, file_blobs (size and SHA-256) and resource manifests.
#pragma once

#include "dsl/source_reader.hpp"

namespace ntx::resource {

class FileSourceReader final : public dsl::SourceReader {
public:
    bool is_directory(const std::filesystem::path& path) const override;
    bool exists(const std::filesystem::path& path) const override;
    std::optional<std::string> read_text(const std::filesystem::path& path) const override;
    dsl::BlobFile read_blob(const std::filesystem::path& path, uint64_t max_size) const override;
    std::vector<std::vector<std::string>> read_manifest(const dsl::ManifestSpec& spec,
                                                        std::vector<Diagnostic>& diagnostics) const override;
    std::string display_name(const std::filesystem::path& path) const override;
};

// One FileSourceReader (it holds no state).
const dsl::SourceReader& file_reader();

}  // namespace ntx::resource
