#include "variables/persister.hpp"

#include "files/safe_file.hpp"

#include <fstream>

namespace ntx::variables {

Persister::~Persister() { finish(); }

void Persister::write(std::filesystem::path path, std::string contents) {
    std::lock_guard lock(mutex_);
    if (stopping_) {  // a save after closing began: nothing is lost silently
        ++stats_.errors;
        if (stats_.first_error.empty()) stats_.first_error = path.string() + ": saved after the run ended";
        return;
    }
    if (queued_bytes_ + contents.size() > kMaxQueuedBytes) {
        // The disk is this far behind the loops: the file is counted as an error, never waited for, and
        // the queue's memory stays bounded.
        ++stats_.errors;
        if (stats_.first_error.empty())
            stats_.first_error = path.string() + ": not written, the persist writer is too far behind (64 MiB queued)";
        return;
    }
    queued_bytes_ += contents.size();
    queue_.emplace_back(std::move(path), std::move(contents));
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
    cv_.notify_one();
}

void Persister::fail(std::string reason) {
    std::lock_guard lock(mutex_);
    ++stats_.errors;
    if (stats_.first_error.empty()) stats_.first_error = std::move(reason);
}

void Persister::finish() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
}

Persister::Stats Persister::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

void Persister::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, and everything is written
        auto [path, contents] = std::move(queue_.front());
        queue_.pop_front();
        lock.unlock();
        std::error_code ec;
        std::filesystem::create_directories(path.parent_path(), ec);
        bool ok = !ec;
        std::string why;
        if (ok) {
            try {
                files::write_atomic(path, contents, false);  // a planted link is replaced, never written through
            } catch (const std::exception& e) {
                ok = false;
                why = e.what();
            }
        }
        lock.lock();
        queued_bytes_ -= contents.size();
        if (ok) {
            ++stats_.files;
            stats_.bytes += contents.size();
        } else {
            ++stats_.errors;
            if (stats_.first_error.empty())
                stats_.first_error = path.string() + ": " + (ec ? ec.message() : why);
        }
    }
}

}  // namespace ntx::variables
