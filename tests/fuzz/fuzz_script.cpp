// libFuzzer target: script.yaml bytes -> the DSL's loader (UTF-8 and YAML checks, parsing, validation,
// compilation of templates and expressions). Any crash, hang, leak or sanitizer report is a bug; a
// rejected input is fine as long as it carries diagnostics.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "dsl/script.hpp"
#include "resource/source_files.hpp"

namespace {
const std::filesystem::path& res_dir() {
    static const std::filesystem::path dir = [] {
        auto d = std::filesystem::temp_directory_path() / ("ntx-fuzz-" + std::to_string(getpid()));
        std::filesystem::create_directories(d);
        // A manifest and a blob the inputs may name, so the loader goes past "missing file".
        std::ofstream(d / "pairs.csv") << "ip,port\n127.0.0.1,20000\n127.0.0.1,20001\n";
        std::ofstream(d / "payload.bin") << "payload";
        std::atexit([] { std::filesystem::remove_all(res_dir()); });
        return d;
    }();
    return dir;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const auto& dir = res_dir();
    {
        std::ofstream out(dir / "script.yaml", std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    }
    std::vector<ntx::Diagnostic> diagnostics;
    ntx::dsl::Script script = ntx::dsl::load_res_dir(dir, ntx::resource::file_reader(), diagnostics);
    for (const auto& d : diagnostics)
        if (d.message.empty()) std::abort();  // every diagnostic says something
    return 0;
}
