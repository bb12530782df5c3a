// Prometheus remote write: the WriteRequest made of an exposition, decoded back with the same
// messages; a receiver that is not there costs a bounded time and counts its samples dropped. The
// end-to-end checks against a real Prometheus are tests/e2e/test_remote_write.py.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <map>

#include "live/remote_write.hpp"
#include "live/remote_write.pb.h"

using ntx::live::RemoteWriter;

namespace {

std::map<std::string, std::string> labels_of(const prometheus::TimeSeries& ts) {
    std::map<std::string, std::string> m;
    for (const auto& l : ts.labels()) m[l.name()] = l.value();
    return m;
}

// A loopback port nobody listens on: bound, then closed.
unsigned short closed_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

}  // namespace

TEST_CASE("remote write: an exposition becomes a WriteRequest with sorted labels, values and metadata", "[remote_write]") {
    const std::string text =
        "# HELP ntx_actions_total Actions ended, by outcome.\n"
        "# TYPE ntx_actions_total counter\n"
        "ntx_actions_total{run_id=\"r1\",scenario=\"shop\",action=\"get \\\"home\\\"\",outcome=\"ok\"} 42\n"
        "# HELP ntx_threshold_actual A threshold's metric.\n"
        "# TYPE ntx_threshold_actual gauge\n"
        "ntx_threshold_actual{run_id=\"r1\",threshold=\"a\\\\b\\nc\",unit=\"ms\"} NaN\n"
        "ntx_threshold_actual{run_id=\"r1\",threshold=\"x\",unit=\"ms\"} +Inf\n"
        "# TYPE ntx_action_duration_seconds histogram\n"
        "ntx_action_duration_seconds_bucket{run_id=\"r1\",le=\"0.00005\"} 3\n"
        "ntx_action_duration_seconds_sum{run_id=\"r1\"} 0.000125\n";
    uint64_t samples = 0;
    const std::string bytes = ntx::live::remote_write_request(text, 1700000000123, &samples);
    CHECK(samples == 5);
    CHECK(ntx::live::exposition_samples(text) == 5);

    prometheus::WriteRequest req;
    REQUIRE(req.ParseFromString(bytes));
    REQUIRE(req.timeseries_size() == 5);
    for (const auto& ts : req.timeseries()) {
        REQUIRE(ts.samples_size() == 1);
        CHECK(ts.samples(0).timestamp() == 1700000000123);
        for (int i = 1; i < ts.labels_size(); ++i) CHECK(ts.labels(i - 1).name() < ts.labels(i).name());
        CHECK(ts.labels(0).name() == "__name__");
    }
    const auto first = labels_of(req.timeseries(0));
    CHECK(first.at("__name__") == "ntx_actions_total");
    CHECK(first.at("action") == "get \"home\"");
    CHECK(first.at("outcome") == "ok");
    CHECK(first.size() == 5);
    CHECK(req.timeseries(0).samples(0).value() == 42);
    CHECK(labels_of(req.timeseries(1)).at("threshold") == "a\\b\nc");
    CHECK(std::isnan(req.timeseries(1).samples(0).value()));
    CHECK(std::isinf(req.timeseries(2).samples(0).value()));
    CHECK(labels_of(req.timeseries(3)).at("le") == "0.00005");
    CHECK(req.timeseries(4).samples(0).value() == Approx(0.000125));

    REQUIRE(req.metadata_size() == 3);
    CHECK(req.metadata(0).metric_family_name() == "ntx_actions_total");
    CHECK(req.metadata(0).type() == prometheus::MetricMetadata::COUNTER);
    CHECK(req.metadata(0).help() == "Actions ended, by outcome.");
    CHECK(req.metadata(1).type() == prometheus::MetricMetadata::GAUGE);
    CHECK(req.metadata(2).type() == prometheus::MetricMetadata::HISTOGRAM);
    CHECK(req.metadata(2).help().empty());
}

TEST_CASE("remote write: a receiver that is down costs a bounded time, its samples are counted dropped", "[remote_write]") {
    RemoteWriter::Options o;
    o.url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/api/v1/write";
    o.attempts = 2;
    o.backoff_ms = 50;
    o.max_pending = 2;
    std::vector<std::string> warnings;
    std::mutex m;
    o.warn = [&](const std::string& w) {
        std::lock_guard lock(m);
        warnings.push_back(w);
    };
    const auto t0 = std::chrono::steady_clock::now();
    {
        RemoteWriter w(o);
        for (int i = 0; i < 6; ++i) w.push("a{run_id=\"r\"} 1\nb{run_id=\"r\"} 2\n", 1000 + i);
        w.finish(std::chrono::milliseconds(3000));
        const auto st = w.stats();
        CHECK(st.samples_sent == 0);
        CHECK(st.requests == 0);
        CHECK(st.samples_dropped == 12);  // every push: failed, or dropped from the full queue
        CHECK(st.requests_failed >= 1);
        CHECK(st.last_error.find("onnect") != std::string::npos);
    }
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(3));
    std::lock_guard lock(m);
    REQUIRE(warnings.size() == 1);  // the first failure only
    CHECK(warnings[0].find("prometheus-rw http://127.0.0.1:") == 0);
}

TEST_CASE("remote write: the end's deadline drops what is still queued", "[remote_write]") {
    RemoteWriter::Options o;
    o.url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/api/v1/write";
    o.attempts = 100;  // would retry for long: the deadline cuts it off
    o.backoff_ms = 1000;
    RemoteWriter w(o);
    w.push("a{run_id=\"r\"} 1\n", 1);
    w.push("a{run_id=\"r\"} 2\n", 2);
    const auto t0 = std::chrono::steady_clock::now();
    w.finish(std::chrono::milliseconds(300));
    const auto took = std::chrono::steady_clock::now() - t0;
    CHECK(took < std::chrono::milliseconds(1500));
    CHECK(took >= std::chrono::milliseconds(300));
    CHECK(w.stats().samples_dropped == 2);
    CHECK(w.stats().samples_sent == 0);
}
