// Content-Encoding decoding of a response body: gzip and deflate with zlib, br with libbrotli.
//
// One decoder per connection. The zlib stream is set up on the first compressed body and reset for
// the next, so a user that only ever gets identity bodies allocates nothing, and one that gets gzip
// bodies allocates zlib's state once. Brotli has no reset: its state lives for one body.
#pragma once

#include <ntx/sdk/error.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace ntx::http {

using sdk::Error;

enum class Coding : std::uint8_t { identity, gzip, deflate, br, unknown };

// The coding a Content-Encoding value names ("gzip", "x-gzip", "deflate", "br", "identity" or empty);
// `unknown` for anything else, including stacked codings ("gzip, br").
Coding coding_of(std::string_view content_encoding) noexcept;
std::string_view coding_name(Coding c) noexcept;

class BodyDecoder {
public:
    BodyDecoder();
    ~BodyDecoder();
    BodyDecoder(const BodyDecoder &) = delete;
    BodyDecoder &operator=(const BodyDecoder &) = delete;

    // Decodes `in` (a whole body in `coding`: gzip, deflate or br) into `out` (cleared first; its
    // capacity is kept). A result over `limit` bytes stops at once: NTX_E_LIMIT (a decompression
    // bomb costs at most `limit` bytes). A truncated or corrupt body: NTX_E_PROTOCOL.
    Error decode(Coding coding, std::string_view in, std::uint64_t limit, std::string &out);

private:
    Error inflate_body(bool gzip, std::string_view in, std::uint64_t limit, std::string &out);
    Error brotli_body(std::string_view in, std::uint64_t limit, std::string &out);

    struct Zlib;
    std::unique_ptr<Zlib> zlib_;  // made on the first gzip/deflate body
};

}  // namespace ntx::http
