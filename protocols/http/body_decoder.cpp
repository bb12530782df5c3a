#include "body_decoder.hpp"

#include <brotli/decode.h>
#include <zlib.h>

#include <algorithm>

namespace ntx::http {
namespace {

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

// Output grows in steps of this much (or what is left to the limit), so a small body costs one step.
constexpr std::size_t kStep = 16 * 1024;

Error over_limit(std::uint64_t limit) {
    return Error{NTX_E_LIMIT, "http: decoded body exceeds max-decoded-bytes (" + std::to_string(limit) + ")"};
}

// Room for the next piece of output: at least one byte past the limit, so an over-limit body is seen.
bool grow(std::string &out, std::size_t used, std::uint64_t limit) {
    if (used > limit) return false;
    const std::uint64_t cap = limit == UINT64_MAX ? limit : limit + 1;
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(cap, used + std::max(kStep, used)));
    out.resize(want);
    return want > used;
}

}  // namespace

Coding coding_of(std::string_view v) noexcept {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    if (v.empty() || iequals(v, "identity")) return Coding::identity;
    if (iequals(v, "gzip") || iequals(v, "x-gzip")) return Coding::gzip;
    if (iequals(v, "deflate")) return Coding::deflate;
    if (iequals(v, "br")) return Coding::br;
    return Coding::unknown;
}

std::string_view coding_name(Coding c) noexcept {
    switch (c) {
    case Coding::gzip: return "gzip";
    case Coding::deflate: return "deflate";
    case Coding::br: return "br";
    case Coding::identity: return "identity";
    default: return "unknown";
    }
}

struct BodyDecoder::Zlib {
    z_stream z{};
    bool ready = false;
    ~Zlib() {
        if (ready) inflateEnd(&z);
    }
};

BodyDecoder::BodyDecoder() = default;
BodyDecoder::~BodyDecoder() = default;

Error BodyDecoder::decode(Coding coding, std::string_view in, std::uint64_t limit, std::string &out) {
    out.clear();
    switch (coding) {
    case Coding::gzip: return inflate_body(true, in, limit, out);
    case Coding::deflate: return inflate_body(false, in, limit, out);
    case Coding::br: return brotli_body(in, limit, out);
    default: return Error{NTX_E_INTERNAL, "http: no decoder for this coding"};
    }
}

Error BodyDecoder::inflate_body(bool gzip, std::string_view in, std::uint64_t limit, std::string &out) {
    if (!zlib_) zlib_ = std::make_unique<Zlib>();
    z_stream &z = zlib_->z;
    // gzip: the gzip wrapper (windowBits + 16). deflate: RFC 9110 says the zlib wrapper, but servers
    // send raw deflate too; 32 + 15 would accept gzip, so the zlib wrapper is tried first and raw
    // deflate when the first byte cannot start a zlib stream.
    int bits = gzip ? 16 + MAX_WBITS : MAX_WBITS;
    if (!gzip && !in.empty() && (static_cast<unsigned char>(in[0]) & 0x0F) != 8) bits = -MAX_WBITS;
    if (!zlib_->ready) {
        if (inflateInit2(&z, bits) != Z_OK) return Error{NTX_E_NOMEM, "http: cannot set up zlib"};
        zlib_->ready = true;
    } else if (inflateReset2(&z, bits) != Z_OK) {
        return Error{NTX_E_INTERNAL, "http: cannot reset zlib"};
    }
    z.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    std::size_t used = 0;
    for (;;) {
        if (!grow(out, used, limit)) {
            out.resize(used);
            return over_limit(limit);
        }
        z.next_out = reinterpret_cast<Bytef *>(out.data() + used);
        z.avail_out = static_cast<uInt>(out.size() - used);
        const int rc = inflate(&z, Z_NO_FLUSH);
        used = out.size() - z.avail_out;
        if (used > limit) {
            out.resize(used);
            return over_limit(limit);
        }
        if (rc == Z_STREAM_END) {
            // gzip allows several members one after another (RFC 1952 2.2).
            if (gzip && z.avail_in > 0) {
                if (inflateReset(&z) != Z_OK) return Error{NTX_E_INTERNAL, "http: cannot reset zlib"};
                continue;
            }
            out.resize(used);
            return {};
        }
        if (rc == Z_OK) continue;
        if (rc == Z_BUF_ERROR && z.avail_in == 0) {
            out.resize(used);
            return Error{NTX_E_PROTOCOL, std::string("http: truncated ") + (gzip ? "gzip" : "deflate") + " body"};
        }
        if (rc == Z_BUF_ERROR) continue;  // output space ran out: grow and go on
        out.resize(used);
        return Error{NTX_E_PROTOCOL, std::string("http: corrupt ") + (gzip ? "gzip" : "deflate") + " body" +
                                         (z.msg ? std::string(": ") + z.msg : std::string())};
    }
}

Error BodyDecoder::brotli_body(std::string_view in, std::uint64_t limit, std::string &out) {
    BrotliDecoderState *st = BrotliDecoderCreateInstance(nullptr, nullptr, nullptr);
    if (!st) return Error{NTX_E_NOMEM, "http: cannot set up brotli"};
    const auto *next_in = reinterpret_cast<const std::uint8_t *>(in.data());
    std::size_t avail_in = in.size();
    std::size_t used = 0;
    Error result;
    for (;;) {
        if (!grow(out, used, limit)) {
            result = over_limit(limit);
            break;
        }
        auto *next_out = reinterpret_cast<std::uint8_t *>(out.data() + used);
        std::size_t avail_out = out.size() - used;
        const BrotliDecoderResult rc = BrotliDecoderDecompressStream(st, &avail_in, &next_in, &avail_out, &next_out, nullptr);
        used = out.size() - avail_out;
        if (used > limit) {
            result = over_limit(limit);
            break;
        }
        if (rc == BROTLI_DECODER_RESULT_SUCCESS) break;
        if (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT) continue;
        if (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT) {
            result = Error{NTX_E_PROTOCOL, "http: truncated br body"};
            break;
        }
        result = Error{NTX_E_PROTOCOL, std::string("http: corrupt br body: ") +
                                           BrotliDecoderErrorString(BrotliDecoderGetErrorCode(st))};
        break;
    }
    BrotliDecoderDestroyInstance(st);
    out.resize(std::min<std::size_t>(used, out.size()));
    return result;
}

}  // namespace ntx::http
