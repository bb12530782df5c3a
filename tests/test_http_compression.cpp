// The http plugin's response decoding through the fake host: Accept-Encoding by default, gzip, deflate
// (zlib and raw) and br bodies decoded before save-as, a decompressed-size limit (a bomb is a `limit`
// error), truncated or corrupt bodies a `protocol` error, wire bytes still counted as received.
#include "support/plugin_harness.hpp"

#include <brotli/encode.h>
#include <catch2/catch.hpp>
#include <zlib.h>

#include <string>

using ntx::test::FakeHost;
using ntx::test::Params;

namespace {

const char *const kPluginPath = NTX_TEST_PLUGIN_DIR "/ntx_http.so";

// windowBits: 16 + 15 gzip, 15 zlib, -15 raw deflate.
std::string deflate_with(const std::string &text, int window_bits) {
    z_stream z{};
    REQUIRE(deflateInit2(&z, 9, Z_DEFLATED, window_bits, 9, Z_DEFAULT_STRATEGY) == Z_OK);
    std::string out(deflateBound(&z, static_cast<uLong>(text.size())) + 64, '\0');
    z.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(text.data()));
    z.avail_in = static_cast<uInt>(text.size());
    z.next_out = reinterpret_cast<Bytef *>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

std::string brotli(const std::string &text) {
    std::size_t size = BrotliEncoderMaxCompressedSize(text.size()) + 16;
    std::string out(size, '\0');
    REQUIRE(BrotliEncoderCompress(BROTLI_DEFAULT_QUALITY, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, text.size(),
                                  reinterpret_cast<const uint8_t *>(text.data()), &size,
                                  reinterpret_cast<uint8_t *>(out.data())) == BROTLI_TRUE);
    out.resize(size);
    return out;
}

std::string response(const std::string &coding, const std::string &body) {
    return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" +
           (coding.empty() ? std::string() : "Content-Encoding: " + coding + "\r\n") +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

struct Harness : ntx::test::PluginHarness {
    explicit Harness(const std::string &config = "{}") : PluginHarness(kPluginPath, config) {}

    const ntx::test::Outcome &fetch(const std::string &resp, Params extra = {}) {
        Params p{{"url", "http://h/data"}};
        p.insert(p.end(), extra.begin(), extra.end());
        const auto id = start_connected(1, "get", std::move(p));
        REQUIRE(host.deliver(host.last_socket().id, resp));
        REQUIRE(host.ended(id));
        return host.outcome(id);
    }
};

const std::string kJson = R"({"items":[)" + [] {
    std::string s;
    for (int i = 0; i < 200; ++i) s += (i ? "," : "") + std::string(R"({"id":)") + std::to_string(i) + R"(,"name":"item"})";
    return s;
}() + "]}";

}  // namespace

TEST_CASE("requests ask for gzip, deflate and br unless compression is off", "[http][compression]") {
    Harness h;
    h.fetch(response("", "{}"));
    CHECK(h.host.socket(0).sent.find("\r\nAccept-Encoding: gzip, deflate, br\r\n") != std::string::npos);
    Harness off(R"({"compression": false})");
    off.fetch(response("", "{}"));
    CHECK(off.host.socket(0).sent.find("Accept-Encoding") == std::string::npos);
    // A script's own Accept-Encoding replaces the plugin's.
    Harness own;
    own.fetch(response("", "{}"), {{"headers.Accept-Encoding", "gzip"}});
    CHECK(own.host.socket(0).sent.find("\r\nAccept-Encoding: gzip\r\n") != std::string::npos);
    CHECK(own.host.socket(0).sent.find("br") == std::string::npos);
}

TEST_CASE("gzip, deflate and br bodies are decoded; the wire bytes are counted", "[http][compression]") {
    const auto [coding, body] = GENERATE(table<std::string, std::string>({
        {"gzip", deflate_with(kJson, 16 + 15)},
        {"x-gzip", deflate_with(kJson, 16 + 15)},
        {"deflate", deflate_with(kJson, 15)},
        {"deflate", deflate_with(kJson, -15)},  // raw deflate, as some servers send it
        {"br", brotli(kJson)},
        {"gzip", deflate_with(kJson.substr(0, 100), 16 + 15) + deflate_with(kJson.substr(100), 16 + 15)},  // two members
    }));
    CAPTURE(coding);
    REQUIRE(body.size() < kJson.size());
    Harness h;
    const std::string resp = response(coding, body);
    const auto &o = h.fetch(resp);
    CHECK(o.ok);
    CHECK(o.field("body") == kJson);
    CHECK(o.field("wire_body_bytes") == std::to_string(body.size()));
    CHECK(o.field("headers.content-encoding") == coding);  // the header says what came over the wire
    CHECK(o.bytes_received == resp.size());
}

TEST_CASE("compression: false keeps the body as received; an unknown coding stays as it is", "[http][compression]") {
    const std::string gz = deflate_with(kJson, 16 + 15);
    Harness h;
    CHECK(h.fetch(response("gzip", gz), {{"compression", "false"}}).field("body") == gz);
    Harness u;
    CHECK(u.fetch(response("zstd", "abc")).field("body") == "abc");
    Harness i;
    CHECK(i.fetch(response("identity", "abc")).field("body") == "abc");
}

TEST_CASE("a decompression bomb is a limit error, bounded by max-decoded-bytes", "[http][compression]") {
    const std::string zeros(8 * 1024 * 1024, '\0');
    const std::string coding = GENERATE("gzip", "br");
    const std::string body = coding == "gzip" ? deflate_with(zeros, 16 + 15) : brotli(zeros);
    REQUIRE(body.size() < 64 * 1024);  // 8 MiB from a few KiB
    Harness h(R"({"max-decoded-bytes": 1048576})");
    const auto &o = h.fetch(response(coding, body));
    CHECK_FALSE(o.ok);
    CHECK(o.code == NTX_E_LIMIT);
    // The same body within the limit decodes.
    Harness big(R"({"max-decoded-bytes": 8388608})");
    CHECK(big.fetch(response(coding, body)).field("body").size() == zeros.size());
}

TEST_CASE("a truncated or corrupt compressed body is a protocol error", "[http][compression]") {
    const std::string gz = deflate_with(kJson, 16 + 15);
    const std::string br = brotli(kJson);
    std::string corrupt = gz;
    corrupt[corrupt.size() / 2] = static_cast<char>(corrupt[corrupt.size() / 2] ^ 0x55);
    corrupt[corrupt.size() / 2 + 1] = static_cast<char>(corrupt[corrupt.size() / 2 + 1] ^ 0x55);
    const auto [coding, body] = GENERATE_COPY(table<std::string, std::string>({
        {"gzip", gz.substr(0, gz.size() / 2)},
        {"gzip", corrupt},
        {"gzip", "not gzip at all"},
        {"br", br.substr(0, br.size() / 2)},
        {"br", "\xff\xff\xff\xff garbage"},
        {"deflate", gz.substr(10, 20)},
    }));
    CAPTURE(coding, body.size());
    Harness h;
    const auto &o = h.fetch(response(coding, body));
    CHECK_FALSE(o.ok);
    CHECK(o.code == NTX_E_PROTOCOL);
    // The user goes on: the next response decodes.
    const auto next = h.host.run(1, "get", {{"url", "http://h/data"}});
    if (h.host.socket_count() == 2) REQUIRE(h.host.connect(h.host.socket(1).id));
    REQUIRE(h.host.deliver(h.host.last_socket().id, response("gzip", gz)));
    CHECK(h.host.outcome(next).field("body") == kJson);
}

TEST_CASE("without save-as the body is neither kept nor decoded", "[http][compression]") {
    Harness h(R"({"max-decoded-bytes": 10})");
    h.host.action_flags = 0;
    const auto &o = h.fetch(response("gzip", deflate_with(kJson, 16 + 15)));
    CHECK(o.ok);  // nothing reads the body: the limit never applies
    CHECK(o.fields.empty());
}
