// The workbook archive: what the run keeps of its finished tasks. Each shard's ledger hands every
// entry it releases to keep() (on the shard's loop: a decision and, when kept, a copy); once a tick
// the shard hands its batch over (submit()), and the archive's own thread writes the kept entries to
// workbook.jsonl (or .jsonl.gz) as they arrive, and keeps up to a cap of them in memory for a C++
// harness (RunOptions::keep_workbook). Nothing here grows with the run's length but the file: the
// retention decides how much of the run the file holds (docs/workbook.md#retention).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "workbook/workbook.hpp"

namespace ntx::workbook {

// Which finished entries are kept (written to the file and offered to the harness).
struct Retention {
    enum class Keep : uint8_t { all, failed, sample, failed_and_sample, none };
    enum class Sample : uint8_t { every, percent, first };
    Keep keep = Keep::failed_and_sample;
    Sample sample = Sample::every;
    double sample_n = 100;     // every Nth (per shard and scenario), N percent, the first N per scenario
    uint64_t limit = 100'000;  // at most this many entries kept in the whole run (0 = no limit)
    bool gzip = false;         // workbook.jsonl.gz instead of workbook.jsonl
};
// "all", "failed", "sample", "failed+sample", "none"
std::string_view keep_name(Retention::Keep k);
// The retention in a few words for the summary: "failed + every 100th, at most 100000".
std::string describe(const Retention& r);
// Whether an entry with this final state counts as failed (every final state but closing.done).
inline bool is_failed(State s) { return s != State::closing_done; }

class Archive {
public:
    struct Stats {
        uint64_t kept = 0;          // handed to the writer (written, or dropped below)
        uint64_t over_limit = 0;    // chosen by the retention but past its limit (not kept)
        uint64_t written = 0;       // lines in the file
        uint64_t dropped = 0;       // kept but lost: the writer fell too far behind, or the file failed
        uint64_t bytes = 0;         // bytes written (compressed when gzip)
        std::string error;          // why the file could not be written ("" when fine)
    };

    // `file` empty: nothing is written (entries may still be kept in memory, up to `keep_rows`).
    // Starts the writer thread when there is anything to do. Throws std::runtime_error when the file
    // cannot be created.
    Archive(const Schema& schema, const Names& names, Retention retention, std::filesystem::path file, size_t keep_rows,
            unsigned shards, size_t scenarios);
    ~Archive();
    Archive(const Archive&) = delete;
    Archive& operator=(const Archive&) = delete;

    // Whether any released entry may be kept (false: the shards skip keep() altogether).
    bool active() const { return active_; }
    // On shard `shard`'s loop: whether `e` (released with its final state) is kept; if so it is
    // appended to `batch`.
    void keep(unsigned shard, const Entry& e, std::vector<Entry>& batch);
    // On a shard's loop: hands over its batch (left empty, with capacity, for the next tick).
    void submit(std::vector<Entry>& batch);
    // After the loops stopped: writes what is pending, closes the file, stops the thread.
    void finish();

    Stats stats() const;
    const Retention& retention() const { return retention_; }
    // The kept entries held for the harness (after finish()), at most keep_rows of them.
    std::vector<Entry>& rows() { return rows_; }
    // The file's name in its folder ("" when none is written).
    // A file that could not be completed is left as its temporary (NAME.tmp) and not named here.
    std::string file_name() const {
        return file_.empty() || (sink_ && !published_) ? std::string() : file_.filename().string();
    }

private:
    void run();
    void write(std::vector<Entry>& batch);
    std::filesystem::path temporary() const { return std::filesystem::path(file_.string() + ".tmp"); }

    const Schema& schema_;
    const Names& names_;
    Retention retention_;
    std::filesystem::path file_;
    size_t keep_rows_;
    bool active_ = false;
    // Per shard and scenario: released entries seen (the `every` sample). Each shard writes its own.
    std::vector<std::vector<uint64_t>> seen_;
    std::unique_ptr<std::atomic<uint64_t>[]> first_;  // per scenario: kept by the `first` sample
    std::atomic<uint64_t> reserved_{0};               // kept so far, against the limit
    std::atomic<uint64_t> over_limit_{0};

    struct Sink;
    std::unique_ptr<Sink> sink_;  // the open file (plain or gzip)
    bool published_ = false;      // finish() renamed the temporary to file_
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<std::vector<Entry>> pending_;  // batches submitted, not written yet
    std::vector<std::vector<Entry>> spare_;    // written batches, their capacity reused
    uint64_t pending_entries_ = 0;
    bool finishing_ = false;
    Stats stats_;  // under mutex_ (kept, written, dropped, bytes, error)
    std::vector<Entry> rows_;
    std::thread thread_;
};

}  // namespace ntx::workbook
