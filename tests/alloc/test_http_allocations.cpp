// The http plugin allocates nothing per request for cookies and compression: once warm, a user's
// actions with the jar and decoding on cost the same number of allocations as with both off (the fake
// host's own bookkeeping is the same in both), whether the jar is empty and the bodies identity, or
// the jar holds cookies and the bodies are gzip. Counted with a replaced global operator new, which
// the dlopen'ed plugin's allocations resolve to as well. A binary of its own (ntx_alloc_tests): the
// replacement applies to everything in it.
#include "support/plugin_harness.hpp"

#include <catch2/catch.hpp>
#include <zlib.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

namespace {
std::atomic<std::uint64_t> g_news{0};
}  // namespace

void *operator new(std::size_t n) {
    g_news.fetch_add(1, std::memory_order_relaxed);
    if (void *p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void *operator new[](std::size_t n) { return operator new(n); }
void operator delete(void *p) noexcept { std::free(p); }
void operator delete[](void *p) noexcept { std::free(p); }
void operator delete(void *p, std::size_t) noexcept { std::free(p); }
void operator delete[](void *p, std::size_t) noexcept { std::free(p); }
// The nothrow forms too (Catch2 registers its test cases with them): every new of this binary pairs with
// a delete of this file, so a sanitizer's own operator new never meets free().
void *operator new(std::size_t n, const std::nothrow_t &) noexcept {
    g_news.fetch_add(1, std::memory_order_relaxed);
    return std::malloc(n ? n : 1);
}
void *operator new[](std::size_t n, const std::nothrow_t &t) noexcept { return operator new(n, t); }
void operator delete(void *p, const std::nothrow_t &) noexcept { std::free(p); }
void operator delete[](void *p, const std::nothrow_t &) noexcept { std::free(p); }

using ntx::test::Params;

namespace {

const char *const kPluginPath = NTX_TEST_PLUGIN_DIR "/ntx_http.so";

std::string gzip_of(const std::string &text) {
    z_stream z{};
    REQUIRE(deflateInit2(&z, 6, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    std::string out(deflateBound(&z, static_cast<uLong>(text.size())) + 32, '\0');
    z.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(text.data()));
    z.avail_in = static_cast<uInt>(text.size());
    z.next_out = reinterpret_cast<Bytef *>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

// Allocations of `rounds` keep-alive GETs of one user after `warm` rounds, each answered with `response`.
std::uint64_t allocations(const std::string &config, const std::string &response, bool want_result, int rounds) {
    ntx::test::PluginHarness h(kPluginPath, config);
    h.host.task_id = 1;
    h.host.action_flags = want_result ? NTX_ACTION_WANTS_RESULT : 0u;
    const Params params{{"url", "http://h.test/items"}};
    const auto first = h.start_connected(1, "get", params);
    REQUIRE(h.host.deliver(h.host.last_socket().id, response));
    REQUIRE(h.host.outcome(first).ok);
    const auto round = [&] {
        const auto id = h.host.run(1, "get", params);
        REQUIRE(h.host.deliver(h.host.socket(0).id, response));
        REQUIRE(h.host.outcome(id).ok);
    };
    for (int i = 0; i < 20; ++i) round();  // warm: every buffer has grown
    const std::uint64_t before = g_news.load();
    for (int i = 0; i < rounds; ++i) round();
    return g_news.load() - before;
}

}  // namespace

TEST_CASE("cookies and decoding add no allocation per request", "[http][alloc]") {
    const std::string json = R"({"items":[1,2,3,4,5,6,7,8,9,10],"name":"allocation check"})";
    const std::string plain = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(json.size()) + "\r\n\r\n" + json;
    const std::string gz = gzip_of(json);
    const std::string cookie_gzip = "HTTP/1.1 200 OK\r\nSet-Cookie: sid=abc123; Path=/\r\nSet-Cookie: theme=dark\r\n"
                                    "Content-Encoding: gzip\r\nContent-Length: " +
                                    std::to_string(gz.size()) + "\r\n\r\n" + gz;
    const std::string off = R"({"cookies": false, "compression": false})";
    const int n = 200;
    // Under valgrind (which puts its own operator new in place of this file's for the plugin and the
    // fake host) nothing is counted: say so rather than compare zeros.
    if (allocations(off, plain, true, 10) == 0) {
        WARN("operator new is not this test's (valgrind?): allocations cannot be counted");
        return;
    }
    for (const bool want_result : {false, true}) {
        CAPTURE(want_result);
        const std::uint64_t baseline = allocations(off, plain, want_result, n);
        // On but unused: an empty jar, identity bodies.
        CHECK(allocations("{}", plain, want_result, n) == baseline);
    }
    // Used, results not read: two cookies set and sent back on every request.
    CHECK(allocations("{}", cookie_gzip, false, n) == allocations(off, cookie_gzip, false, n));
    // Used, results read: the cookies and a gzip body decoded on every request. The fake host copies
    // the result's fields into a map (an allocation per field, more for long values), and this result
    // has more fields than the same response with both off (cookies.sid, cookies.theme,
    // wire_body_bytes) and a longer body: the plugin's own share must still be nothing per request,
    // so the difference is exactly the fake host's copies of the extra fields, the same each time.
    const std::uint64_t used = allocations("{}", cookie_gzip, true, n);
    const std::uint64_t used_twice = allocations("{}", cookie_gzip, true, 2 * n);
    const std::uint64_t raw = allocations(off, cookie_gzip, true, n);
    const std::uint64_t raw_twice = allocations(off, cookie_gzip, true, 2 * n);
    CAPTURE(used, used_twice, raw, raw_twice);
    // One map node per extra field, per request, and nothing that grows with the run.
    CHECK(used - raw == 3u * n);
    CHECK(used_twice - raw_twice == 2 * (used - raw));
}
