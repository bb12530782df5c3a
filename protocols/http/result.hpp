// Storage for the fields of an ntx_result_t, built before action_complete / action_fail.
//
// One object per connection, reused for every action: clear() forgets the fields but keeps every
// string's capacity, so once a response of a given shape has been seen, building the next one's
// fields allocates nothing.
#pragma once

#include <ntx/plugin_abi.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ntx::http {

class ResultFields {
public:
    void clear() noexcept { used_ = 0; }
    std::size_t size() const noexcept { return used_; }

    void add(std::string_view key, std::string_view value);
    // A field whose value is not copied: `value` must stay valid until the result was handed over.
    void add_borrowed(std::string_view key, std::string_view value);
    // "<prefix><name>" = value (cookies.<name>).
    void add_prefixed(std::string_view prefix, std::string_view name, std::string_view value);
    void add_uint(std::string_view key, std::uint64_t value);
    // Milliseconds with three decimals; a negative or NaN duration reads 0.000.
    void add_ms(std::string_view key, double ms);
    // "headers.<lowercased name>" = value, or ", value" appended to that field if the header repeats.
    void add_header(std::string_view name, std::string_view value);

    // The result as the ABI wants it. Valid until this object is modified or destroyed.
    // `status` is the response's status code (0 = none), which the host counts by class.
    // `protocol` (ABI 1.6, e.g. "h2") must outlive the handover, like borrowed fields.
    const ntx_result_t *finish(std::uint64_t bytes_sent, std::uint64_t bytes_received, std::uint32_t status,
                               std::string_view protocol = {});

    // A result with the byte counts and the status only (nobody reads fields); no storage involved.
    static ntx_result_t counts_only(std::uint64_t bytes_sent, std::uint64_t bytes_received,
                                    std::uint32_t status, std::string_view protocol = {}) noexcept {
        ntx_result_t r{};
        r.size = sizeof(ntx_result_t);
        r.bytes_sent = bytes_sent;
        r.bytes_received = bytes_received;
        r.status = status;
        r.protocol = ntx_str_t{protocol.data(), protocol.size()};
        return r;
    }

private:
    struct Field {
        std::string key;
        std::string value;
        std::string_view borrowed;
        bool is_borrowed = false;
    };
    Field &next();  // the next free slot, key and value cleared (capacity kept)

    std::vector<Field> fields_;  // [0, used_) are this result's; the rest are spare slots
    std::size_t used_ = 0;
    std::vector<ntx_kv_t> views_;
    ntx_result_t result_{};
};

}  // namespace ntx::http
