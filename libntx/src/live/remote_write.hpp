// Prometheus remote write 1.0 (`--out-stream prometheus-rw=URL`): the run's series, as the metrics
// endpoint exposes them, pushed to a receiver every interval and once more at the end. A protobuf
// WriteRequest (remote_write.proto), snappy-compressed, POSTed by libcurl from a thread of its own, so
// that a receiver that is down, refuses or is slow never stalls the run: requests wait in a bounded
// queue (the oldest is dropped when it is full), every sample that does not arrive is counted, the
// first failure is warned about, and the end waits for the last push at most a bounded time.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace ntx::live {

// A WriteRequest of every sample of a text exposition (prometheus_text's: `name{labels} value` lines,
// `# HELP` and `# TYPE` lines as the metadata), each sample stamped `timestamp_ms`; labels sorted by
// name with __name__. Serialized, not compressed. `samples` receives the number of samples.
std::string remote_write_request(std::string_view exposition, int64_t timestamp_ms, uint64_t* samples = nullptr);

// The samples of a text exposition (its lines that are neither comments nor empty).
uint64_t exposition_samples(std::string_view exposition);

class RemoteWriter {
public:
    struct Options {
        std::string url;
        size_t max_pending = 8;         // requests queued; past it the oldest is dropped
        uint64_t timeout_ms = 5000;     // one POST, connection included
        unsigned attempts = 3;          // for a 5xx, a 429 or no connection (a 4xx is not retried)
        uint64_t backoff_ms = 250;      // before the second attempt, doubled for each next one
        std::function<void(const std::string&)> warn;  // the first failure (from the writer's thread)
    };
    struct Stats {
        uint64_t requests = 0, requests_failed = 0;  // POSTs the receiver accepted (2xx); given up on
        uint64_t samples_sent = 0, samples_dropped = 0;
        std::string last_error;
    };

    explicit RemoteWriter(Options options);
    ~RemoteWriter();  // stops at once: what is still queued is dropped (finish() first to deliver it)

    // Queues one push of `exposition` taken at `timestamp_ms` (wall clock). Never blocks on the network.
    void push(std::string exposition, int64_t timestamp_ms);
    // The last push queued: waits until every queued request was sent or given up on, at most
    // `deadline` (a request still in flight then is cut off), then stops the thread.
    void finish(std::chrono::milliseconds deadline);
    Stats stats() const;

private:
    struct Pending {
        std::string exposition;
        int64_t timestamp_ms = 0;
        uint64_t samples = 0;
    };
    void run();
    // One request, with its retries, on the thread's curl handle: true when the receiver took it.
    bool deliver(void* curl, const Pending& p);
    void fail(const std::string& error);

    Options options_;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<Pending> queue_;
    bool busy_ = false;      // a request is being delivered
    bool stopping_ = false;  // no more pushes; the thread ends when the queue is empty
    std::atomic<bool> abort_{false};  // cut off the request in flight and the retries
    bool warned_ = false;
    Stats stats_;
    std::thread thread_;
};

}  // namespace ntx::live
