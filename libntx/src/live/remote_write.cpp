#include "live/remote_write.hpp"

#include <curl/curl.h>
#include <fmt/format.h>
#include <snappy.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>

#include "live/remote_write.pb.h"
#include "ntx/version.hpp"

namespace ntx::live {

namespace {

// Reads the text format as prometheus_text() writes it (and as the format allows: label values with
// \\, \" and \n escaped; NaN, +Inf, -Inf). The exposition is ours, so a line that does not parse is a
// bug: it is skipped rather than sent half-read.
struct LineReader {
    std::string_view s;
    size_t i = 0;
    bool done() const { return i >= s.size(); }
    char peek() const { return i < s.size() ? s[i] : '\0'; }
    std::string_view name() {
        const size_t b = i;
        while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_' || s[i] == ':')) ++i;
        return s.substr(b, i - b);
    }
    bool quoted(std::string& out) {
        if (peek() != '"') return false;
        ++i;
        while (i < s.size() && s[i] != '"') {
            if (s[i] == '\\' && i + 1 < s.size()) {
                ++i;
                out += s[i] == 'n' ? '\n' : s[i];
            } else {
                out += s[i];
            }
            ++i;
        }
        if (i >= s.size()) return false;
        ++i;
        return true;
    }
};

bool parse_value(std::string_view t, double& v) {
    if (t == "NaN") v = std::numeric_limits<double>::quiet_NaN();
    else if (t == "+Inf" || t == "Inf") v = std::numeric_limits<double>::infinity();
    else if (t == "-Inf") v = -std::numeric_limits<double>::infinity();
    else {
        if (!t.empty() && t.front() == '+') t.remove_prefix(1);
        const auto r = std::from_chars(t.data(), t.data() + t.size(), v);
        return r.ec == std::errc() && r.ptr == t.data() + t.size();
    }
    return true;
}

bool parse_sample(std::string_view line, int64_t timestamp_ms, prometheus::TimeSeries& ts) {
    LineReader r{line};
    const std::string_view metric = r.name();
    if (metric.empty()) return false;
    std::vector<std::pair<std::string, std::string>> labels{{"__name__", std::string(metric)}};
    if (r.peek() == '{') {
        ++r.i;
        while (r.peek() != '}') {
            std::string name(r.name());
            if (name.empty() || r.peek() != '=') return false;
            ++r.i;
            std::string value;
            if (!r.quoted(value)) return false;
            labels.emplace_back(std::move(name), std::move(value));
            if (r.peek() == ',') ++r.i;
            else if (r.peek() != '}') return false;
        }
        ++r.i;
    }
    while (r.peek() == ' ') ++r.i;
    std::string_view rest = line.substr(r.i);
    rest = rest.substr(0, rest.find(' '));  // a timestamp of the text format is not ours to keep
    double v = 0;
    if (!parse_value(rest, v)) return false;
    // Remote write wants the labels sorted by name (and a series' label names unique).
    std::sort(labels.begin(), labels.end());
    for (const auto& [name, value] : labels) {
        auto* l = ts.add_labels();
        l->set_name(name);
        l->set_value(value);
    }
    auto* smp = ts.add_samples();
    smp->set_value(v);
    smp->set_timestamp(timestamp_ms);
    return true;
}

prometheus::MetricMetadata::MetricType metric_type(std::string_view t) {
    if (t == "counter") return prometheus::MetricMetadata::COUNTER;
    if (t == "gauge") return prometheus::MetricMetadata::GAUGE;
    if (t == "histogram") return prometheus::MetricMetadata::HISTOGRAM;
    if (t == "summary") return prometheus::MetricMetadata::SUMMARY;
    return prometheus::MetricMetadata::UNKNOWN;
}

std::string unescape_help(std::string_view h) {
    std::string out;
    for (size_t i = 0; i < h.size(); ++i) {
        if (h[i] == '\\' && i + 1 < h.size()) out += h[++i] == 'n' ? '\n' : h[i];
        else out += h[i];
    }
    return out;
}

template <typename F>
void for_each_line(std::string_view text, F&& f) {
    size_t b = 0;
    while (b < text.size()) {
        size_t e = text.find('\n', b);
        if (e == std::string_view::npos) e = text.size();
        if (e > b) f(text.substr(b, e - b));
        b = e + 1;
    }
}

size_t collect_body(char* data, size_t size, size_t n, void* user) {
    auto* out = static_cast<std::string*>(user);
    if (out->size() < 512) out->append(data, std::min(size * n, 512 - out->size()));
    return size * n;
}

int abort_check(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<const std::atomic<bool>*>(user)->load() ? 1 : 0;
}

}  // namespace

uint64_t exposition_samples(std::string_view exposition) {
    uint64_t n = 0;
    for_each_line(exposition, [&](std::string_view line) { n += line.front() != '#'; });
    return n;
}

std::string remote_write_request(std::string_view exposition, int64_t timestamp_ms, uint64_t* samples) {
    prometheus::WriteRequest req;
    std::map<std::string, std::string, std::less<>> help;
    uint64_t n = 0;
    for_each_line(exposition, [&](std::string_view line) {
        if (line.starts_with("# HELP ")) {
            line.remove_prefix(7);
            const size_t sp = line.find(' ');
            help[std::string(line.substr(0, sp))] = sp == std::string_view::npos ? "" : unescape_help(line.substr(sp + 1));
        } else if (line.starts_with("# TYPE ")) {
            line.remove_prefix(7);
            const size_t sp = line.find(' ');
            if (sp == std::string_view::npos) return;
            const std::string_view family = line.substr(0, sp);
            auto* m = req.add_metadata();
            m->set_metric_family_name(std::string(family));
            m->set_type(metric_type(line.substr(sp + 1)));
            if (auto h = help.find(family); h != help.end()) m->set_help(h->second);
        } else if (line.front() != '#') {
            prometheus::TimeSeries ts;
            if (parse_sample(line, timestamp_ms, ts)) {
                *req.add_timeseries() = std::move(ts);
                ++n;
            }
        }
    });
    if (samples) *samples = n;
    return req.SerializeAsString();
}

RemoteWriter::RemoteWriter(Options options) : options_(std::move(options)) {
    static std::once_flag curl_init;
    std::call_once(curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    thread_ = std::thread([this] { run(); });
}

RemoteWriter::~RemoteWriter() {
    if (!thread_.joinable()) return;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        abort_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

void RemoteWriter::push(std::string exposition, int64_t timestamp_ms) {
    Pending p{std::move(exposition), timestamp_ms, 0};
    p.samples = exposition_samples(p.exposition);
    {
        std::lock_guard lock(mutex_);
        if (stopping_) {
            stats_.samples_dropped += p.samples;
            return;
        }
        // A receiver far behind: the oldest push goes, the newest counts are what it should see.
        if (queue_.size() >= std::max<size_t>(1, options_.max_pending)) {
            stats_.samples_dropped += queue_.front().samples;
            queue_.pop_front();
        }
        queue_.push_back(std::move(p));
    }
    cv_.notify_all();
}

void RemoteWriter::finish(std::chrono::milliseconds deadline) {
    if (!thread_.joinable()) return;
    std::unique_lock lock(mutex_);
    stopping_ = true;
    cv_.notify_all();
    cv_.wait_for(lock, deadline, [&] { return queue_.empty() && !busy_; });
    abort_ = true;  // a request still in flight is cut off (counted as failed)
    lock.unlock();
    cv_.notify_all();
    thread_.join();
    lock.lock();
    for (const auto& p : queue_) stats_.samples_dropped += p.samples;
    if (!queue_.empty() && stats_.last_error.empty()) stats_.last_error = "the end's deadline passed";
    queue_.clear();
}

RemoteWriter::Stats RemoteWriter::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

void RemoteWriter::run() {
    CURL* curl = curl_easy_init();
    for (;;) {
        Pending p;
        {
            std::unique_lock lock(mutex_);
            cv_.wait(lock, [&] { return !queue_.empty() || stopping_ || abort_.load(); });
            if (abort_.load() || queue_.empty()) break;
            p = std::move(queue_.front());
            queue_.pop_front();
            busy_ = true;
        }
        const bool ok = curl && deliver(curl, p);
        if (!curl) fail("libcurl could not make a handle");
        {
            std::lock_guard lock(mutex_);
            busy_ = false;
            if (ok) {
                ++stats_.requests;
                stats_.samples_sent += p.samples;
            } else {
                ++stats_.requests_failed;
                stats_.samples_dropped += p.samples;
            }
        }
        cv_.notify_all();
    }
    if (curl) curl_easy_cleanup(curl);
}

void RemoteWriter::fail(const std::string& error) {
    bool first = false;
    {
        std::lock_guard lock(mutex_);
        stats_.last_error = error;
        first = !warned_;
        warned_ = true;
    }
    if (first && options_.warn)
        options_.warn(fmt::format("prometheus-rw {}: {}; the samples of a push that fails are dropped and counted, the run goes on",
                                  options_.url, error));
}

bool RemoteWriter::deliver(void* handle, const Pending& p) {
    CURL* curl = static_cast<CURL*>(handle);
    const std::string request = remote_write_request(p.exposition, p.timestamp_ms);
    std::string body;
    snappy::Compress(request.data(), request.size(), &body);  // the block format, as remote write wants

    curl_slist* headers = nullptr;
    headers = curl_slist_append(headers, "Content-Type: application/x-protobuf");
    headers = curl_slist_append(headers, "Content-Encoding: snappy");
    headers = curl_slist_append(headers, "X-Prometheus-Remote-Write-Version: 0.1.0");
    headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
    const std::string agent = fmt::format("ntx/{}", NTX_VERSION_STRING);
    std::string response;

    bool ok = false;
    std::string error;
    const unsigned attempts = std::max(1u, options_.attempts);
    for (unsigned attempt = 0; attempt < attempts && !abort_.load(); ++attempt) {
        if (attempt > 0) {
            std::unique_lock lock(mutex_);
            cv_.wait_for(lock, std::chrono::milliseconds(options_.backoff_ms << std::min(attempt - 1, 6u)), [&] { return abort_.load(); });
            if (abort_.load()) break;
        }
        response.clear();
        curl_easy_reset(curl);
        curl_easy_setopt(curl, CURLOPT_URL, options_.url.c_str());
        curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(curl, CURLOPT_USERAGENT, agent.c_str());
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout_ms));
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min<uint64_t>(options_.timeout_ms, 2000)));
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_body);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
        curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, abort_check);
        curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &abort_);
        const CURLcode rc = curl_easy_perform(curl);
        if (rc != CURLE_OK) {
            error = rc == CURLE_ABORTED_BY_CALLBACK ? "cut off at the end's deadline" : curl_easy_strerror(rc);
            continue;  // no connection, a timeout: worth another try
        }
        long status = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200 && status < 300) {
            ok = true;
            break;
        }
        while (!response.empty() && (response.back() == '\n' || response.back() == '\r')) response.pop_back();
        error = fmt::format("HTTP {}{}{}", status, response.empty() ? "" : ": ", response);
        if (status != 429 && status < 500) break;  // the receiver refuses this request: retrying cannot help
    }
    curl_slist_free_all(headers);
    if (!ok) fail(error.empty() ? "cut off at the end's deadline" : error);
    return ok;
}

}  // namespace ntx::live
