#include "request_body.hpp"

#include <boost/json.hpp>

#include <cstdint>
#include <functional>

namespace ntx::http {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";

void append_form_encoded(std::string &out, std::string_view text) {
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
            c == '_' || c == '*') {
            out.push_back(c);
        } else if (c == ' ') {
            out.push_back('+');
        } else {
            out.push_back('%');
            out.push_back(kHex[u >> 4]);
            out.push_back(kHex[u & 15]);
        }
    }
}

// A quoted-string's content for Content-Disposition (RFC 7578 4.2: '"' and CR/LF percent-encoded,
// as browsers do).
void append_disposition_value(std::string &out, std::string_view text) {
    for (char c : text) {
        if (c == '"') {
            out.append("%22");
        } else if (c == '\r') {
            out.append("%0D");
        } else if (c == '\n') {
            out.append("%0A");
        } else {
            out.push_back(c);
        }
    }
}

bool looks_like_number(std::string_view v) noexcept {
    if (v.empty()) return false;
    const char c = v.front();
    return c == '-' || (c >= '0' && c <= '9');
}

boost::json::value scalar_value(std::string_view v) {
    if (v == "true") return true;
    if (v == "false") return false;
    if (v == "null") return nullptr;
    if (looks_like_number(v)) {
        boost::json::error_code ec;
        boost::json::value n = boost::json::parse(boost::json::string_view(v.data(), v.size()), ec);
        if (!ec && n.is_number()) return n;
    }
    return boost::json::string(v.data(), v.size());
}

}  // namespace

Error add_part(std::string_view key, std::string_view value, std::vector<Part> &parts) {
    std::string_view name = key;
    std::string_view attr;
    for (std::string_view a : {".file", ".filename", ".content-type"}) {
        if (key.size() > a.size() && key.ends_with(a)) {
            name = key.substr(0, key.size() - a.size());
            attr = a.substr(1);
            break;
        }
    }
    if (name.empty()) return Error{NTX_E_INVALID, "http: empty multipart part name"};
    if (attr.empty() && name.find('.') != std::string_view::npos) {
        return Error{NTX_E_INVALID, "http: multipart part '" + std::string(name) +
                                        "': a file part takes file, filename and content-type"};
    }
    Part *part = nullptr;
    for (Part &p : parts) {
        if (p.name == name) part = &p;
    }
    if (!part) {
        parts.push_back(Part{name, {}, false, false, {}, {}});
        part = &parts.back();
    }
    const bool taken = attr.empty() || attr == "file";
    if (taken && (part->text || part->file)) {
        return Error{NTX_E_INVALID, "http: multipart part '" + std::string(name) + "' given twice"};
    }
    if (attr.empty()) {
        part->text = true;
        part->value = value;
    } else if (attr == "file") {
        part->file = true;
        part->value = value;
    } else if (attr == "filename") {
        part->filename = value;
    } else {
        for (char c : value) {
            if (c == '\r' || c == '\n' || c == '\0') {
                return Error{NTX_E_INVALID, "http: multipart content-type contains CR, LF or NUL"};
            }
        }
        part->content_type = value;
    }
    return {};
}

Error check_parts(const std::vector<Part> &parts) {
    for (const Part &p : parts) {
        if (!p.file && !p.text) {
            return Error{NTX_E_INVALID, "http: multipart part '" + std::string(p.name) + "' has no file"};
        }
        if (p.text && (!p.filename.empty() || !p.content_type.empty())) {
            return Error{NTX_E_INVALID, "http: multipart part '" + std::string(p.name) +
                                            "' is text: filename and content-type belong to a file part"};
        }
    }
    return {};
}

void build_form(const ParamPairs &fields, std::string &out) {
    out.clear();
    for (const auto &[k, v] : fields) {
        if (!out.empty()) out.push_back('&');
        append_form_encoded(out, k);
        out.push_back('=');
        append_form_encoded(out, v);
    }
}

void build_multipart(const std::vector<Part> &parts, std::string &out, std::string &content_type) {
    // A boundary from the content's hash; changed until no part contains it (RFC 2046 5.1.1).
    std::size_t seed = 0;
    for (const Part &p : parts) seed = seed * 31 + std::hash<std::string_view>{}(p.value);
    std::string boundary;
    for (unsigned attempt = 0;; ++attempt) {
        boundary.assign("ntx-");
        std::uint64_t x = static_cast<std::uint64_t>(seed) + attempt * 0x9E3779B97F4A7C15ull;
        for (int i = 0; i < 16; ++i, x >>= 4) boundary.push_back(kHex[x & 15]);
        bool clash = false;
        for (const Part &p : parts) clash = clash || p.value.find(boundary) != std::string_view::npos;
        if (!clash) break;
    }
    out.clear();
    for (const Part &p : parts) {
        out.append("--").append(boundary).append("\r\nContent-Disposition: form-data; name=\"");
        append_disposition_value(out, p.name);
        out.push_back('"');
        if (p.file) {
            out.append("; filename=\"");
            append_disposition_value(out, p.filename.empty() ? p.name : p.filename);
            out.append("\"\r\nContent-Type: ")
                .append(p.content_type.empty() ? std::string_view("application/octet-stream") : p.content_type);
        }
        out.append("\r\n\r\n").append(p.value).append("\r\n");
    }
    out.append("--").append(boundary).append("--\r\n");
    content_type.assign("multipart/form-data; boundary=").append(boundary);
}

Error build_json(const ParamPairs &fields, std::string &out) {
    boost::json::object root;
    for (const auto &[key, value] : fields) {
        boost::json::object *obj = &root;
        std::string_view rest = key;
        for (;;) {
            const std::size_t dot = rest.find('.');
            const std::string_view part = rest.substr(0, dot);
            if (part.empty()) return Error{NTX_E_INVALID, "http: json key '" + std::string(key) + "' has an empty part"};
            const boost::json::string_view jpart(part.data(), part.size());
            if (dot == std::string_view::npos) {
                if (obj->contains(jpart)) {
                    return Error{NTX_E_INVALID, "http: json key '" + std::string(key) + "' is given twice"};
                }
                obj->emplace(jpart, scalar_value(value));
                break;
            }
            boost::json::value &child = (*obj)[jpart];
            if (child.is_null()) child.emplace_object();
            if (!child.is_object()) {
                return Error{NTX_E_INVALID, "http: json key '" + std::string(key) + "' is inside a value"};
            }
            obj = &child.get_object();
            rest = rest.substr(dot + 1);
        }
    }
    out.assign(boost::json::serialize(root));
    return {};
}

Error check_json(std::string_view text) {
    boost::json::error_code ec;
    boost::json::parse(boost::json::string_view(text.data(), text.size()), ec);
    if (ec) return Error{NTX_E_INVALID, "http: json is not valid JSON: " + ec.message()};
    return {};
}

void basic_auth(std::string_view user, std::string_view password, std::string &out) {
    static constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string plain;
    plain.reserve(user.size() + 1 + password.size());
    plain.append(user).push_back(':');
    plain.append(password);
    out.assign("Basic ");
    std::size_t i = 0;
    for (; i + 3 <= plain.size(); i += 3) {
        const std::uint32_t n = (static_cast<unsigned char>(plain[i]) << 16) |
                                (static_cast<unsigned char>(plain[i + 1]) << 8) | static_cast<unsigned char>(plain[i + 2]);
        out.push_back(kB64[(n >> 18) & 63]);
        out.push_back(kB64[(n >> 12) & 63]);
        out.push_back(kB64[(n >> 6) & 63]);
        out.push_back(kB64[n & 63]);
    }
    if (i < plain.size()) {
        std::uint32_t n = static_cast<unsigned char>(plain[i]) << 16;
        const bool two = i + 1 < plain.size();
        if (two) n |= static_cast<unsigned char>(plain[i + 1]) << 8;
        out.push_back(kB64[(n >> 18) & 63]);
        out.push_back(kB64[(n >> 12) & 63]);
        out.push_back(two ? kB64[(n >> 6) & 63] : '=');
        out.push_back('=');
    }
    // The plain text held the password: wipe it before it is freed.
    for (char &c : plain) c = '\0';
}

}  // namespace ntx::http
