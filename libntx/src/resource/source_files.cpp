#include "resource/source_files.hpp"

#include <openssl/evp.h>

#include <cstdio>
#include <fmt/format.h>
#include <fstream>
#include <sstream>

#include "resource/manifest.hpp"

namespace ntx::resource {
namespace fs = std::filesystem;

namespace {
std::string sha256_hex(const std::string& data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
    std::string hex;
    hex.reserve(len * 2);
    for (unsigned i = 0; i < len; ++i) hex += fmt::format("{:02x}", md[i]);
    return hex;
}
}  // namespace

bool FileSourceReader::is_directory(const fs::path& path) const {
    std::error_code ec;
    return fs::is_directory(path, ec);
}

bool FileSourceReader::exists(const fs::path& path) const { return fs::exists(path); }

std::optional<std::string> FileSourceReader::read_text(const fs::path& path) const {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    if (in) text << in.rdbuf();
    if (!in || in.bad()) return std::nullopt;
    return std::move(text).str();
}

dsl::BlobFile FileSourceReader::read_blob(const fs::path& path, uint64_t max_size) const {
    dsl::BlobFile blob;
    std::error_code ec;
    auto size = fs::file_size(path, ec);
    if (ec || !fs::is_regular_file(path)) {
        blob.status = dsl::BlobFile::Status::unreadable;
        blob.reason = ec ? ec.message() : "not a regular file";
        return blob;
    }
    blob.size = size;
    if (size > max_size) {
        blob.status = dsl::BlobFile::Status::too_large;
        return blob;
    }
    std::string content(size, '\0');
    std::FILE* in = std::fopen(path.c_str(), "rb");
    bool ok = in && std::fread(content.data(), 1, size, in) == size;
    if (in) std::fclose(in);
    if (!ok) {
        blob.status = dsl::BlobFile::Status::read_failed;
        return blob;
    }
    blob.status = dsl::BlobFile::Status::ok;
    blob.sha256 = sha256_hex(content);
    blob.content = std::move(content);
    return blob;
}

std::vector<std::vector<std::string>> FileSourceReader::read_manifest(const dsl::ManifestSpec& spec,
                                                                      std::vector<Diagnostic>& diagnostics) const {
    return resource::read_manifest(spec, diagnostics);
}

std::string FileSourceReader::display_name(const fs::path& p) const {
    std::error_code ec;
    auto rel = fs::relative(p, fs::current_path(), ec);
    if (!ec && !rel.empty() && rel.native().rfind("..", 0) != 0) return rel.string();
    return p.string();
}

const dsl::SourceReader& file_reader() {
    static const FileSourceReader reader;
    return reader;
}

}  // namespace ntx::resource
