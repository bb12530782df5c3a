// The DSL compiler opens no file: everything it reads comes through the SourceReader its caller gives.
// An in-memory reader compiles a res_dir that is not on disk (script.yaml, config.yaml, a file_blob,
// a kv_store manifest), and its answers (a blob's size and digest, a missing file) are what the
// Script and the diagnostics show.
#include <catch2/catch.hpp>

#include <map>

#include "dsl/source_reader.hpp"

using namespace ntx;

namespace {

class MemoryReader final : public dsl::SourceReader {
public:
    std::map<std::string, std::string> files;  // absolute path -> bytes
    mutable std::vector<std::string> manifests;  // the manifests asked for

    bool is_directory(const std::filesystem::path& path) const override { return path == "/mem/res"; }
    bool exists(const std::filesystem::path& path) const override { return files.count(path.string()) > 0; }
    std::optional<std::string> read_text(const std::filesystem::path& path) const override {
        auto it = files.find(path.string());
        if (it == files.end()) return std::nullopt;
        return it->second;
    }
    dsl::BlobFile read_blob(const std::filesystem::path& path, uint64_t max_size) const override {
        dsl::BlobFile b;
        auto it = files.find(path.string());
        if (it == files.end()) {
            b.reason = "not in memory";
            return b;
        }
        b.size = it->second.size();
        if (b.size > max_size) {
            b.status = dsl::BlobFile::Status::too_large;
            return b;
        }
        b.status = dsl::BlobFile::Status::ok;
        b.content = it->second;
        b.sha256 = "digest-of-" + it->second;
        return b;
    }
    std::vector<std::vector<std::string>> read_manifest(const dsl::ManifestSpec& spec,
                                                        std::vector<Diagnostic>&) const override {
        manifests.push_back(spec.path.string());
        return {{"region", "eu"}, {"tier", "gold"}};
    }
    std::string display_name(const std::filesystem::path& path) const override { return "mem:" + path.string(); }
};

const char* kScript = R"(
components:
  - {name: http, version: "0.2.2", entry: http}
resources:
  token: {type: file_blob, config: {file: token.txt, checksum: auto}}
  settings: {type: kv_store, config: {manifest: settings.csv}}
workflows:
  w:
    steps:
      - action: http.get
        with: {url: "http://x/{{resource.settings.region}}", auth: "{{blob.token}}"}
load:
  scenarios:
    - {name: s, workflow: w, user-count: 1}
)";

}  // namespace

TEST_CASE("the DSL compiles a res_dir through its SourceReader alone", "[dsl]") {
    MemoryReader reader;
    reader.files["/mem/res/script.yaml"] = kScript;
    reader.files["/mem/res/config.yaml"] = "tick: 5ms\n";
    reader.files["/mem/res/token.txt"] = "secret";
    std::vector<Diagnostic> d;
    dsl::Script s = dsl::load_res_dir("/mem/res", reader, d);
    INFO((d.empty() ? std::string() : d.front().to_string()));
    REQUIRE(d.empty());
    CHECK(s.config.tick_ms == 5);
    REQUIRE(s.blobs.size() == 1);
    CHECK(s.blobs[0].size == 6);
    CHECK(s.blobs[0].sha256 == "digest-of-secret");
    REQUIRE(s.kv_stores.size() == 1);
    CHECK(s.kv_stores[0].entries.size() == 2);
    CHECK(reader.manifests == std::vector<std::string>{"/mem/res/settings.csv"});
}

TEST_CASE("what the SourceReader cannot read is reported where the script names it", "[dsl]") {
    MemoryReader reader;
    reader.files["/mem/res/script.yaml"] = kScript;
    std::vector<Diagnostic> d;
    dsl::load_res_dir("/mem/res", reader, d);
    for (const auto& x : d) UNSCOPED_INFO(x.to_string());
    REQUIRE(d.size() == 2);  // the blob, then the template that reads it
    CHECK(d[0].file == "mem:/mem/res/script.yaml");
    CHECK(d[0].line == 5);
    CHECK(d[0].message == "cannot read 'token.txt': not in memory");
    CHECK(d[1].line == 11);

    std::vector<Diagnostic> missing;
    dsl::load_res_dir("/mem/elsewhere", reader, missing);
    REQUIRE(missing.size() == 1);
    CHECK(missing[0].message == "not a directory (expected a res_dir with script.yaml)");
}
