// BuiltScript::write_to: the one place a script built in code (ntx/script_builder.hpp) touches the
// disk. Kept out of dsl/, which reads through a SourceReader and opens no file.
#include <filesystem>
#include <fmt/format.h>
#include <fstream>

#include "ntx/diagnostics.hpp"
#include "ntx/script_builder.hpp"

NTX_BEGIN_NAMESPACE

void BuiltScript::write_to(const std::string& dir) const {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(dir, ec);
    auto write = [&](const char* name, const std::string& text) {
        std::ofstream f(fs::path(dir) / name, std::ios::binary | std::ios::trunc);
        f << text;
        if (!f) throw RuntimeFailure(fmt::format("cannot write {}/{}", dir, name));
    };
    write("script.yaml", script_yaml());
    if (!config_yaml().empty()) write("config.yaml", config_yaml());
}

NTX_END_NAMESPACE
