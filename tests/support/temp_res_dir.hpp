// A throw-away res_dir under the system temp folder, removed when the object goes.
#pragma once

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace ntx::test {

class TempResDir {
public:
    TempResDir() {
        std::random_device rd;
        path_ = std::filesystem::temp_directory_path() / ("ntx-test-" + std::to_string(rd()) + std::to_string(rd()));
        std::filesystem::create_directories(path_);
    }
    ~TempResDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempResDir(const TempResDir&) = delete;
    TempResDir& operator=(const TempResDir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    void write(const std::string& name, const std::string& text) const {
        auto p = path_ / name;
        std::filesystem::create_directories(p.parent_path());
        std::ofstream(p) << text;
    }

private:
    std::filesystem::path path_;
};

}  // namespace ntx::test
