#include "config.hpp"

// Boost.JSON, header-only: its definitions are compiled into this translation unit only.
#include <boost/json/src.hpp>

#include <ntx/sdk/json_config.hpp>

#include <limits>
#include <utility>

namespace ntx::ftp {
namespace {

using sdk::read_uint;

Error bad(std::string_view key, std::string_view what) { return sdk::config_error("ftp", key, what); }

bool has_ctl(std::string_view s) noexcept {
    for (char c : s) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
    }
    return false;
}

}  // namespace

bool parse_byte_rate(std::string_view text, std::uint64_t &bytes_per_s, std::uint64_t tick_ms) noexcept {
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
    std::size_t i = 0;
    double value = 0;
    bool digits = false;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        value = value * 10 + (text[i++] - '0');
        digits = true;
    }
    if (i < text.size() && text[i] == '.') {
        double scale = 0.1;
        for (++i; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, scale /= 10) {
            value += (text[i] - '0') * scale;
            digits = true;
        }
    }
    if (!digits) return false;
    std::string_view rest = text.substr(i);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    const std::size_t slash = rest.find('/');
    std::string_view unit = rest.substr(0, slash);
    while (!unit.empty() && unit.back() == ' ') unit.remove_suffix(1);
    if (unit == "kB") unit = "KB";
    std::string_view per = slash == std::string_view::npos ? std::string_view("s") : rest.substr(slash + 1);
    while (!per.empty() && per.front() == ' ') per.remove_prefix(1);
    static constexpr std::pair<std::string_view, double> kUnits[] = {
        {"", 1}, {"B", 1}, {"KB", 1e3}, {"KiB", 1024.0}, {"MB", 1e6}, {"MiB", 1048576.0}, {"GB", 1e9}, {"GiB", 1073741824.0}};
    double factor = 0;
    for (const auto &[name, f] : kUnits) {
        if (unit == name) factor = f;
    }
    double seconds = 0;
    if (per == "s" || per == "sec") {
        seconds = 1;
    } else if (per == "ms") {
        seconds = 0.001;
    } else if (per == "m" || per == "min") {
        seconds = 60;
    } else if (per == "tick" && tick_ms > 0) {
        seconds = static_cast<double>(tick_ms) / 1000.0;
    }
    if (factor == 0 || seconds == 0) return false;
    const double rate = value * factor / seconds;
    if (!(rate >= 0) || rate > 1e18) return false;
    bytes_per_s = static_cast<std::uint64_t>(rate);
    return true;
}

bool parse_mode(std::string_view text, Mode &out) noexcept {
    if (text == "passive") {
        out = Mode::passive;
    } else if (text == "active") {
        out = Mode::active;
    } else {
        return false;
    }
    return true;
}

Error parse_config(std::string_view json, Config &out) {
    sdk::ConfigObject doc;
    if (Error e = doc.parse(json, "ftp"); e || !doc.object()) return e;

    Config cfg = out;
    std::uint64_t n = 0;
    for (const auto &kv : *doc.object()) {
        const std::string_view key(kv.key().data(), kv.key().size());
        const boost::json::value &v = kv.value();
        if (key == "connect-timeout-ms" || key == "response-timeout-ms") {
            if (!read_uint(v, std::numeric_limits<std::uint32_t>::max(), n) || n == 0) {
                return bad(key, "must be an integer in 1..4294967295");
            }
            (key == "connect-timeout-ms" ? cfg.connect_timeout_ms : cfg.response_timeout_ms) =
                static_cast<std::uint32_t>(n);
        } else if (key == "max-body-bytes") {
            if (!read_uint(v, std::numeric_limits<std::uint64_t>::max(), n)) {
                return bad(key, "must be a non-negative integer");
            }
            cfg.max_body_bytes = n;
        } else if (key == "mode") {
            const boost::json::string *s = v.if_string();
            if (!s || !parse_mode(std::string_view(s->data(), s->size()), cfg.mode)) {
                return bad(key, "must be \"passive\" or \"active\"");
            }
        } else if (key == "active-address") {
            const boost::json::string *s = v.if_string();
            if (!s || s->empty() || has_ctl(std::string_view(s->data(), s->size()))) {
                return bad(key, "must be a non-empty string without control characters (\"-\", an address or an interface)");
            }
            cfg.active_address.assign(s->data(), s->size());
        } else if (key == "epsv") {
            if (!v.is_bool()) return bad(key, "must be true or false");
            cfg.epsv = v.get_bool();
        } else if (key == "send-rate" || key == "recv-rate") {
            std::uint64_t rate = 0;
            const boost::json::string *s = v.if_string();
            const bool ok = s ? parse_byte_rate(std::string_view(s->data(), s->size()), rate)
                              : read_uint(v, std::numeric_limits<std::int64_t>::max(), rate);
            if (!ok) return bad(key, "must be a byte rate such as 512KiB/s or 1MB/s, or bytes per second (0: unlimited)");
            (key == "send-rate" ? cfg.send_rate : cfg.recv_rate) = rate;
            (key == "send-rate" ? cfg.send_rate_set : cfg.recv_rate_set) = true;
        } else {
            return Error{NTX_E_INVALID, "ftp config: unknown key \"" + std::string(key) +
                                            "\" (known: connect-timeout-ms, response-timeout-ms, max-body-bytes, "
                                            "mode, active-address, epsv, send-rate, recv-rate)"};
        }
    }
    out = std::move(cfg);
    return {};
}

}  // namespace ntx::ftp
