#include "core/script_hash.hpp"

#include <openssl/evp.h>

#include <fmt/format.h>
#include <memory>

namespace ntx::core {
namespace fs = std::filesystem;

HashingSourceReader::HashingSourceReader(const dsl::SourceReader& inner, fs::path res_dir)
    : inner_(inner), res_dir_(std::move(res_dir)) {}

std::string HashingSourceReader::key(const fs::path& path) const {
    std::error_code ec;
    fs::path rel = fs::relative(path, res_dir_, ec);
    return (ec || rel.empty() ? path : rel).generic_string();
}

std::optional<std::string> HashingSourceReader::read_text(const fs::path& path) const {
    auto text = inner_.read_text(path);
    if (text) parts_["text:" + key(path)] = *text;
    return text;
}

dsl::BlobFile HashingSourceReader::read_blob(const fs::path& path, uint64_t max_size) const {
    auto blob = inner_.read_blob(path, max_size);
    if (blob.status == dsl::BlobFile::Status::ok) parts_["blob:" + key(path)] = blob.sha256;
    return blob;
}

std::vector<std::vector<std::string>> HashingSourceReader::read_manifest(const dsl::ManifestSpec& spec,
                                                                         std::vector<Diagnostic>& diagnostics) const {
    auto rows = inner_.read_manifest(spec, diagnostics);
    std::string all;
    for (const auto& row : rows) {
        for (const auto& field : row) all += field + '\x1f';
        all += '\x1e';
    }
    parts_["manifest:" + key(spec.path)] = std::move(all);
    return rows;
}

std::string HashingSourceReader::hash(const dsl::Script& script) const {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
    auto feed = [&](const std::string& s) {
        std::string len = fmt::format("{}:", s.size());  // length-prefixed: no two inputs hash alike
        EVP_DigestUpdate(ctx.get(), len.data(), len.size());
        EVP_DigestUpdate(ctx.get(), s.data(), s.size());
    };
    for (const auto& [k, v] : parts_) {
        feed(k);
        feed(v);
    }
    // The planned load, as overrides left it (a --users 10 run is another test than --users 20).
    for (const auto& sc : script.scenarios)
        feed(fmt::format("scenario {} {} users={} spawn={} profile={} rate={}..{} over={} max-users={} max-duration={} "
                         "task-duration={}",
                         sc.name, sc.model == dsl::Model::open ? "open" : "closed", sc.user_count, sc.spawn_rate,
                         sc.profile ? static_cast<int64_t>(*sc.profile) : -1, sc.arrival_rate, sc.arrival_rate_end,
                         sc.duration_ms, sc.max_users, sc.max_duration_ms, sc.task_duration_ms));
    for (const auto& p : script.profiles) {
        std::string stages = fmt::format("profile {} {}", p.name, p.start);
        for (const auto& st : p.stages) stages += fmt::format(" {}:{}", st.duration_ms, st.target);
        feed(stages);
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx.get(), md, &len);
    std::string hex = "sha256:";
    for (unsigned i = 0; i < len; ++i) hex += fmt::format("{:02x}", md[i]);
    return hex;
}

}  // namespace ntx::core
