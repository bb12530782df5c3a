#include "policy/network_allow.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace ntx::policy {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

// An address literal into 16 bytes; the kind says which family.
std::optional<AllowEntry::Kind> parse_address(std::string_view text, std::array<uint8_t, 16>& out) {
    if (text.empty() || text.size() > 45) return std::nullopt;
    char buf[46];
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    out.fill(0);
    if (inet_pton(AF_INET, buf, out.data()) == 1) return AllowEntry::Kind::v4;
    if (inet_pton(AF_INET6, buf, out.data()) == 1) return AllowEntry::Kind::v6;
    return std::nullopt;
}

bool valid_name(std::string_view name) {
    if (name.ends_with('.')) name.remove_suffix(1);  // the root's dot: "example.com." is "example.com"
    if (name.empty() || name.size() > 253) return false;
    std::string_view rest = name;
    if (rest.starts_with("*.")) rest.remove_prefix(2);
    if (rest.empty()) return false;
    size_t label = 0;
    for (char c : rest) {
        if (c == '.') {
            if (label == 0) return false;
            label = 0;
            continue;
        }
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!ok || ++label > 63) return false;
    }
    return label > 0;
}

AllowParse fail(std::string error, size_t column) {
    AllowParse p;
    p.error = std::move(error);
    p.column = column;
    return p;
}

// "80", "8000-8100", "80,443,9000-9100" starting at `base` in the entry's text.
std::optional<std::string> parse_ports(std::string_view text, size_t base, AllowEntry& e, size_t& column) {
    size_t pos = 0;
    while (true) {
        const size_t comma = text.find(',', pos);
        const std::string_view item = text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
        column = base + pos;
        const size_t dash = item.find('-');
        auto number = [](std::string_view s, uint16_t& v) {
            unsigned n = 0;
            auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
            if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || n == 0 || n > 65535) return false;
            v = static_cast<uint16_t>(n);
            return true;
        };
        uint16_t lo = 0, hi = 0;
        if (dash == std::string_view::npos) {
            if (!number(item, lo)) return "a port is a number in 1..65535, found '" + std::string(item) + "'";
            hi = lo;
        } else {
            if (!number(item.substr(0, dash), lo) || !number(item.substr(dash + 1), hi))
                return "a port range is FIRST-LAST, each in 1..65535, found '" + std::string(item) + "'";
            if (lo > hi) return "the port range '" + std::string(item) + "' ends before it starts";
        }
        e.ports.emplace_back(lo, hi);
        if (comma == std::string_view::npos) return std::nullopt;
        pos = comma + 1;
    }
}

bool prefix_matches(const std::array<uint8_t, 16>& a, const std::array<uint8_t, 16>& b, unsigned bits) {
    const unsigned whole = bits / 8;
    if (std::memcmp(a.data(), b.data(), whole) != 0) return false;
    const unsigned rest = bits % 8;
    if (rest == 0) return true;
    const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

bool port_open(const AllowEntry& e, uint16_t port) {
    if (e.ports.empty()) return true;
    return std::any_of(e.ports.begin(), e.ports.end(), [port](const auto& r) { return port >= r.first && port <= r.second; });
}

// "Example.COM." -> "example.com"
std::string normal_name(std::string_view host) {
    if (host.ends_with('.')) host.remove_suffix(1);
    return lower(host);
}

bool name_matches(const AllowEntry& e, const std::string& host) {
    if (e.name.starts_with("*.")) {
        const std::string_view suffix = std::string_view(e.name).substr(1);  // ".x"
        return host.size() > suffix.size() && host.ends_with(suffix);
    }
    return host == e.name;
}

}  // namespace

AllowParse parse_allow_entry(std::string_view text) {
    AllowEntry e;
    e.text.assign(text);
    if (text.empty()) return fail("an empty entry (an address, CIDR or host name, optionally :PORTS)", 0);
    if (text.find_first_of(" \t") != std::string_view::npos)
        return fail("an entry holds no spaces (one entry per list item)", text.find_first_of(" \t"));
    std::string_view host = text, ports;
    size_t ports_at = 0;
    if (text.front() == '[') {
        const size_t close = text.find(']');
        if (close == std::string_view::npos) return fail("'[' opens an IPv6 address that no ']' closes", 0);
        host = text.substr(1, close - 1);
        if (close + 1 < text.size()) {
            if (text[close + 1] != ':') return fail("after ']' comes ':PORTS' or nothing", close + 1);
            ports = text.substr(close + 2);
            ports_at = close + 2;
            if (ports.empty()) return fail("':' with no port after it", close + 1);
        }
    } else if (std::count(text.begin(), text.end(), ':') == 1) {
        const size_t colon = text.find(':');
        host = text.substr(0, colon);
        ports = text.substr(colon + 1);
        ports_at = colon + 1;
        if (ports.empty()) return fail("':' with no port after it", colon);
    }
    // else: no colon, or an IPv6 literal written bare (no ports then)
    const size_t host_at = text.front() == '[' ? 1 : 0;
    std::string_view address = host;
    std::optional<unsigned> prefix;
    if (const size_t slash = host.find('/'); slash != std::string_view::npos) {
        address = host.substr(0, slash);
        const std::string_view bits = host.substr(slash + 1);
        unsigned n = 0;
        auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), n);
        if (bits.empty() || ec != std::errc{} || end != bits.data() + bits.size())
            return fail("a CIDR prefix is a number of bits, found '" + std::string(bits) + "'", host_at + slash + 1);
        prefix = n;
    }
    if (auto kind = parse_address(address, e.address)) {
        e.kind = *kind;
        const unsigned max_bits = *kind == AllowEntry::Kind::v4 ? 32 : 128;
        e.prefix = prefix.value_or(max_bits);
        if (e.prefix > max_bits)
            return fail("the prefix /" + std::to_string(e.prefix) + " is longer than the address (" + std::to_string(max_bits) +
                            " bits)",
                        host_at + address.size() + 1);
        // 10.1.2.3/8: bits past the prefix are set; say so rather than guess what was meant.
        std::array<uint8_t, 16> masked{};
        for (unsigned i = 0; i < 16; ++i) masked[i] = e.address[i];
        for (unsigned bit = e.prefix; bit < max_bits; ++bit) masked[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
        if (masked != e.address)
            return fail("'" + std::string(host) + "' has address bits set past its prefix (a network is written with them "
                                                  "zero, e.g. 10.0.0.0/8)",
                        host_at);
    } else {
        if (prefix) return fail("'" + std::string(address) + "' is not an IPv4 or IPv6 address (before /" +
                                    std::to_string(*prefix) + ")",
                                host_at);
        if (host_at == 1) return fail("'" + std::string(host) + "' in brackets is not an IPv6 address", 1);
        if (!valid_name(host))
            return fail("'" + std::string(host) +
                            "' is neither an address, a CIDR (10.0.0.0/8) nor a host name (letters, digits, '-', '.'; "
                            "'*.' in front for every name under a domain)",
                        0);
        e.kind = AllowEntry::Kind::name;
        e.name = normal_name(host);
    }
    if (!ports.empty()) {
        size_t column = 0;
        if (auto error = parse_ports(ports, ports_at, e, column)) return fail(*error, column);
    }
    AllowParse p;
    p.entry = std::move(e);
    return p;
}

bool NetworkAllow::allows_name(std::string_view host, uint16_t port) const {
    if (!active_) return true;
    const std::string name = normal_name(host);
    for (const AllowEntry& e : entries_)
        if (e.kind == AllowEntry::Kind::name && port_open(e, port) && name_matches(e, name)) return true;
    return false;
}

bool NetworkAllow::allows(std::string_view host, std::string_view address, uint16_t port) const {
    if (!active_) return true;
    if (!host.empty() && allows_name(host, port)) return true;
    std::array<uint8_t, 16> bytes{};
    auto kind = parse_address(address, bytes);
    if (!kind) return false;
    // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is checked as the IPv4 address it is.
    static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (*kind == AllowEntry::Kind::v6 && std::memcmp(bytes.data(), kMapped, 12) == 0) {
        std::memmove(bytes.data(), bytes.data() + 12, 4);
        std::fill(bytes.begin() + 4, bytes.end(), 0);
        kind = AllowEntry::Kind::v4;
    }
    for (const AllowEntry& e : entries_)
        if (e.kind == *kind && port_open(e, port) && prefix_matches(e.address, bytes, e.prefix)) return true;
    return false;
}

std::string NetworkAllow::describe() const {
    std::string out;
    for (const AllowEntry& e : entries_) {
        if (!out.empty()) out += ", ";
        out += e.text;
    }
    return out.empty() ? "nothing" : out;
}

}  // namespace ntx::policy
