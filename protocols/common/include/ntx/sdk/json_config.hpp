// Reading a plugin's config_json (a JSON object) with Boost.JSON. The plugin compiles Boost.JSON's
// definitions into one of its translation units (#include <boost/json/src.hpp>) before this header.
#pragma once

#include "error.hpp"

#include <boost/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace ntx::sdk {

// A config_json parsed as one JSON object. object() is null when there was nothing to read (blank text
// or JSON null: every key keeps its default), so a parser starts with
//     if (Error e = doc.parse(json, "ftp"); e || !doc.object()) return e;
class ConfigObject {
public:
    // Errors are "<plugin> config: ...".
    Error parse(std::string_view json, std::string_view plugin) {
        obj_ = nullptr;
        if (json.find_first_not_of(" \t\r\n") == std::string_view::npos) return {};
        boost::system::error_code ec;
        root_ = boost::json::parse(boost::json::string_view(json.data(), json.size()), ec);
        if (ec) return Error{NTX_E_INVALID, std::string(plugin) + " config: invalid JSON: " + ec.message()};
        if (root_.is_null()) return {};
        obj_ = root_.if_object();
        if (!obj_) return Error{NTX_E_INVALID, std::string(plugin) + " config: expected a JSON object"};
        return {};
    }

    const boost::json::object *object() const noexcept { return obj_; }

private:
    boost::json::value root_;
    const boost::json::object *obj_ = nullptr;
};

// "<plugin> config: "<key>" <what>".
inline Error config_error(std::string_view plugin, std::string_view key, std::string_view what) {
    return Error{NTX_E_INVALID,
                 std::string(plugin) + " config: \"" + std::string(key) + "\" " + std::string(what)};
}

// Reads a non-negative integer no larger than `max` from `v` (an integral double counts).
inline bool read_uint(const boost::json::value &v, std::uint64_t max, std::uint64_t &out) {
    if (v.is_uint64()) {
        out = v.get_uint64();
    } else if (v.is_int64()) {
        if (v.get_int64() < 0) return false;
        out = static_cast<std::uint64_t>(v.get_int64());
    } else if (v.is_double()) {
        const double d = v.get_double();
        if (!(d >= 0.0) || !(d < 18446744073709551616.0)) return false;  // also rejects NaN
        out = static_cast<std::uint64_t>(d);
        if (static_cast<double>(out) != d) return false;  // not integral
    } else {
        return false;
    }
    return out <= max;
}

}  // namespace ntx::sdk
