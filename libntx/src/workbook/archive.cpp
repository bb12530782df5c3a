#include "workbook/archive.hpp"

#include "files/safe_file.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace ntx::workbook {

namespace {

// The writer may fall this far behind the shards before kept entries are dropped (and counted): the
// archive's memory stays bounded whatever the disk does.
constexpr uint64_t kMaxPending = 256 * 1024;

// A stable, well-mixed hash of an entry's ids (the percentage sample: the same tasks are kept by a
// re-run with the same ids, whichever shard closed them).
uint64_t mix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

}  // namespace

std::string_view keep_name(Retention::Keep k) {
    switch (k) {
    case Retention::Keep::all: return "all";
    case Retention::Keep::failed: return "failed";
    case Retention::Keep::sample: return "sample";
    case Retention::Keep::failed_and_sample: return "failed+sample";
    case Retention::Keep::none: return "none";
    }
    return "?";
}

std::string describe(const Retention& r) {
    std::string sample;
    switch (r.sample) {
    case Retention::Sample::every: sample = fmt::format("every {}th", r.sample_n); break;
    case Retention::Sample::percent: sample = fmt::format("{}%", r.sample_n); break;
    case Retention::Sample::first: sample = fmt::format("the first {} per scenario", r.sample_n); break;
    }
    std::string what;
    switch (r.keep) {
    case Retention::Keep::all: what = "all"; break;
    case Retention::Keep::failed: what = "failed"; break;
    case Retention::Keep::sample: what = sample; break;
    case Retention::Keep::failed_and_sample: what = "failed + " + sample; break;
    case Retention::Keep::none: return "none";
    }
    return r.limit ? fmt::format("{}, at most {}", what, r.limit) : what;
}

// The open file: plain stdio, or zlib's gzip stream.
struct Archive::Sink {
    std::FILE* plain = nullptr;
    gzFile gz = nullptr;
    bool failed = false;

    bool write(const std::string& s) {
        if (failed) return false;
        if (gz) failed = gzwrite(gz, s.data(), static_cast<unsigned>(s.size())) != static_cast<int>(s.size());
        else failed = std::fwrite(s.data(), 1, s.size(), plain) != s.size();
        return !failed;
    }
    bool close() {
        bool ok = !failed;
        if (gz) {
            ok = gzclose(gz) == Z_OK && ok;
            gz = nullptr;
        }
        if (plain) {
            ok = std::fflush(plain) == 0 && ok;
            ok = std::fclose(plain) == 0 && ok;
            plain = nullptr;
        }
        return ok;
    }
};

Archive::Archive(const Schema& schema, const Names& names, Retention retention, std::filesystem::path file,
                 size_t keep_rows, unsigned shards, size_t scenarios)
    : schema_(schema), names_(names), retention_(retention), file_(std::move(file)), keep_rows_(keep_rows),
      seen_(shards, std::vector<uint64_t>(scenarios, 0)), first_(new std::atomic<uint64_t>[scenarios]) {
    for (size_t s = 0; s < scenarios; ++s) first_[s] = 0;
    active_ = retention_.keep != Retention::Keep::none && (!file_.empty() || keep_rows_ > 0);
    if (!active_) {
        file_.clear();
        return;
    }
    if (!file_.empty()) {
        sink_ = std::make_unique<Sink>();
        // Written as NAME.tmp and renamed at finish(): a run killed before (SIGKILL, a crash, even
        // during close) leaves no workbook.jsonl cut mid-line, only the temporary.
        const std::filesystem::path tmp = temporary();
        if (retention_.gzip) {
            sink_->gz = gzdopen(files::create(tmp), "wb6");  // no link followed
            if (!sink_->gz) throw std::runtime_error(fmt::format("cannot create {}: {}", tmp.string(), std::strerror(errno)));
            gzbuffer(sink_->gz, 256 * 1024);
        } else {
            sink_->plain = files::create_stream(tmp);
            if (!sink_->plain) throw std::runtime_error(fmt::format("cannot create {}: {}", tmp.string(), std::strerror(errno)));
        }
    }
    thread_ = std::thread([this] { run(); });
}

Archive::~Archive() { finish(); }

void Archive::keep(unsigned shard, const Entry& e, std::vector<Entry>& batch) {
    bool wanted = false;
    const bool failed = is_failed(e.state);
    auto sampled = [&] {
        switch (retention_.sample) {
        case Retention::Sample::every: {
            uint64_t n = retention_.sample_n >= 1 ? static_cast<uint64_t>(retention_.sample_n) : 1;
            return seen_[shard][e.scenario]++ % n == 0;
        }
        case Retention::Sample::percent:
            return static_cast<double>(mix(e.user_id * 0x100000001b3ull ^ e.task_id) % 1'000'000) <
                   retention_.sample_n * 10'000.0;
        case Retention::Sample::first: {
            auto& n = first_[e.scenario];
            if (static_cast<double>(n.load(std::memory_order_relaxed)) >= retention_.sample_n) return false;
            return static_cast<double>(n.fetch_add(1, std::memory_order_relaxed)) < retention_.sample_n;
        }
        }
        return false;
    };
    switch (retention_.keep) {
    case Retention::Keep::all: wanted = true; break;
    case Retention::Keep::failed: wanted = failed; break;
    case Retention::Keep::sample: wanted = sampled(); break;
    case Retention::Keep::failed_and_sample: wanted = sampled() || failed; break;  // the sample counts every entry
    case Retention::Keep::none: wanted = false; break;
    }
    if (!wanted) return;  // counted by the ledgers (released less kept): no atomic per task
    if (retention_.limit && reserved_.fetch_add(1, std::memory_order_relaxed) >= retention_.limit) {
        over_limit_.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    batch.push_back(e);
    batch.back().dirty = 0;
    batch.back().in_use = false;
}

void Archive::submit(std::vector<Entry>& batch) {
    if (batch.empty()) return;
    std::vector<Entry> empty;
    {
        std::lock_guard lock(mutex_);
        stats_.kept += batch.size();
        if (pending_entries_ + batch.size() > kMaxPending) {
            stats_.dropped += batch.size();  // the writer is this far behind: counted, never waited for
            batch.clear();
            return;
        }
        pending_entries_ += batch.size();
        pending_.push_back(std::move(batch));
        if (!spare_.empty()) {
            empty = std::move(spare_.back());
            spare_.pop_back();
        }
    }
    cv_.notify_one();
    batch = std::move(empty);
    batch.clear();
}

void Archive::run() {
    std::vector<std::vector<Entry>> work;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            cv_.wait(lock, [this] { return finishing_ || !pending_.empty(); });
            if (pending_.empty() && finishing_) return;
            work.swap(pending_);
        }
        for (auto& batch : work) write(batch);
        std::lock_guard lock(mutex_);
        for (auto& batch : work) {
            pending_entries_ -= batch.size();
            batch.clear();
            if (spare_.size() < 8) spare_.push_back(std::move(batch));
        }
        work.clear();
    }
}

void Archive::write(std::vector<Entry>& batch) {
    uint64_t written = 0, dropped = 0;
    std::string line;
    for (Entry& e : batch) {
        if (sink_) {
            line = entry_json(schema_, names_, e);
            line += '\n';
            if (sink_->write(line)) {
                ++written;
            } else {
                ++dropped;
            }
        }
        if (rows_.size() < keep_rows_) rows_.push_back(std::move(e));
    }
    std::lock_guard lock(mutex_);
    stats_.written += written;
    stats_.dropped += dropped;
    if (dropped && stats_.error.empty())
        stats_.error = fmt::format("writing {} failed: {}", file_.string(), std::strerror(errno));
}

void Archive::finish() {
    if (!thread_.joinable()) return;
    {
        std::lock_guard lock(mutex_);
        finishing_ = true;
    }
    cv_.notify_one();
    thread_.join();
    if (sink_) {
        bool ok = sink_->close();
        std::string published_error;
        if (ok) {
            try {
                files::publish(temporary(), file_);
            } catch (const std::exception& e) {
                ok = false;
                published_error = e.what();
            }
        }
        std::lock_guard lock(mutex_);
        if (!ok && stats_.error.empty())
            stats_.error = published_error.empty() ? fmt::format("writing {} failed", file_.string()) : published_error;
        published_ = ok;
        std::error_code ec;
        auto size = std::filesystem::file_size(ok ? file_ : temporary(), ec);
        stats_.bytes = ec ? 0 : size;
    }
}

Archive::Stats Archive::stats() const {
    std::lock_guard lock(mutex_);
    Stats s = stats_;
    s.over_limit = over_limit_.load(std::memory_order_relaxed);
    return s;
}

}  // namespace ntx::workbook
