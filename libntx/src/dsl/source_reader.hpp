// What the DSL compiler reads from a res_dir, given to it by its caller: the DSL itself opens no
// file. The real reader (files on disk) is resource::FileSourceReader (resource/source_files.hpp);
// a test may give one of its own.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "dsl/script.hpp"
#include "ntx/diagnostics.hpp"

namespace ntx::dsl {

// A resource manifest to read: the rows of a CSV or YAML file, each with the parser's `fields`.
struct ManifestSpec {
    std::string resource;           // the resource's name, for messages
    std::filesystem::path path;     // absolute
    std::string format = "csv";     // csv | yaml
    std::vector<std::string> fields;
    SourceLoc loc;                  // where script.yaml names the manifest
    bool map_of_scalars = false;    // yaml: also a plain `key: value` map (two fields; kv_store)
    bool header_only = false;       // csv without fields: only the first record (the header naming them)
};

// A file_blob's file, read whole.
struct BlobFile {
    enum class Status : uint8_t {
        ok,
        unreadable,  // not there or not a regular file: `reason` says why
        too_large,   // more than the limit asked for: `size` says how big
        read_failed  // there, but reading it failed
    };
    Status status = Status::unreadable;
    std::string reason;
    uint64_t size = 0;
    std::string content;  // ok: the bytes
    std::string sha256;   // ok: the bytes' SHA-256, lowercase hex
};

class SourceReader {
public:
    virtual ~SourceReader() = default;
    virtual bool is_directory(const std::filesystem::path& path) const = 0;
    virtual bool exists(const std::filesystem::path& path) const = 0;
    // The file's bytes; nullopt when it cannot be read.
    virtual std::optional<std::string> read_text(const std::filesystem::path& path) const = 0;
    // The file of a file_blob, at most `max_size` bytes.
    virtual BlobFile read_blob(const std::filesystem::path& path, uint64_t max_size) const = 0;
    // The rows in file order; problems go to `diagnostics` (the rows are usable only when none was added).
    virtual std::vector<std::vector<std::string>> read_manifest(const ManifestSpec& spec,
                                                                std::vector<Diagnostic>& diagnostics) const = 0;
    // How diagnostics name `path` (e.g. relative to the working directory).
    virtual std::string display_name(const std::filesystem::path& path) const = 0;
};

}  // namespace ntx::dsl
