// save-as persist: files written off the hot path. A loop hands over a path and the file's contents
// (one mutex-protected push per save); one writer thread creates the folders and writes the files.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>

namespace ntx::variables {

class Persister {
public:
    struct Stats {
        uint64_t files = 0;   // written
        uint64_t bytes = 0;
        uint64_t errors = 0;  // could not be written (or had an unusable name)
        std::string first_error;
    };

    Persister() = default;
    ~Persister();
    Persister(const Persister&) = delete;
    Persister& operator=(const Persister&) = delete;

    // Queues a file (any thread). The writer thread starts with the first file.
    void write(std::filesystem::path path, std::string contents);
    // Counts a file that was never queued (its name did not render, or was not a bare file name).
    void fail(std::string reason);
    // Writes everything queued, then stops the writer. Safe to call more than once.
    void finish();
    Stats stats() const;

private:
    void run();

    mutable std::mutex mutex_;
    std::condition_variable cv_;
    static constexpr uint64_t kMaxQueuedBytes = 64ull << 20;  // past this, saves are counted errors
    std::deque<std::pair<std::filesystem::path, std::string>> queue_;
    uint64_t queued_bytes_ = 0;
    std::thread thread_;
    bool stopping_ = false;
    Stats stats_;
};

}  // namespace ntx::variables
