// The script hash of report.json: what `ntx merge` compares so that it never adds up reports of
// different tests. A SHA-256 over every file planning read (script.yaml, config.yaml,
// resource/config.yaml, manifests, blobs; by their path relative to res_dir, so the same res_dir
// copied elsewhere hashes the same) and over the planned load after any override (users, rates,
// profiles), before the segment is taken: every instance of one test has the same hash.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "dsl/source_reader.hpp"

namespace ntx::core {

class HashingSourceReader final : public dsl::SourceReader {
public:
    HashingSourceReader(const dsl::SourceReader& inner, std::filesystem::path res_dir);

    bool is_directory(const std::filesystem::path& path) const override { return inner_.is_directory(path); }
    bool exists(const std::filesystem::path& path) const override { return inner_.exists(path); }
    std::optional<std::string> read_text(const std::filesystem::path& path) const override;
    dsl::BlobFile read_blob(const std::filesystem::path& path, uint64_t max_size) const override;
    std::vector<std::vector<std::string>> read_manifest(const dsl::ManifestSpec& spec,
                                                        std::vector<Diagnostic>& diagnostics) const override;
    std::string display_name(const std::filesystem::path& path) const override { return inner_.display_name(path); }

    // A document given as text instead of read (ntx::ScriptBuilder's script.yaml / config.yaml).
    void add_text(const std::string& name, const std::string& text) const { parts_["text:" + name] = text; }
    // "sha256:<hex>" of what was read and of the planned load of `script`.
    std::string hash(const dsl::Script& script) const;

private:
    std::string key(const std::filesystem::path& path) const;
    const dsl::SourceReader& inner_;
    std::filesystem::path res_dir_;
    mutable std::map<std::string, std::string> parts_;  // relative path -> what was read
};

}  // namespace ntx::core
