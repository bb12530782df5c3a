// Request bodies built from params: `form` (application/x-www-form-urlencoded), `multipart`
// (multipart/form-data, text and file parts), `json` (a YAML map or a JSON text), and `auth` (HTTP
// Basic). Built once per prepared request (see PreparedRequest): a request whose params repeat is
// not built again.
#pragma once

#include <ntx/sdk/error.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ntx::http {

using sdk::Error;

// Which param family gave the body; a request has at most one.
enum class BodyKind : unsigned char { none, raw, form, multipart, json_text, json_fields };

using ParamPairs = std::vector<std::pair<std::string_view, std::string_view>>;

// One part of a multipart body, from multipart.<name> (text) or multipart.<name>.file / .filename /
// .content-type (a file part).
struct Part {
    std::string_view name;
    std::string_view value;         // text, or the file's bytes
    bool text = false;              // multipart.<name>
    bool file = false;              // multipart.<name>.file
    std::string_view filename;      // default: the part's name
    std::string_view content_type;  // default: application/octet-stream for a file part
};

// Reads one multipart.* key (without the "multipart." prefix) into `parts`: `name` adds a text
// part, `name.file`, `name.filename`, `name.content-type` fill the file part `name`.
Error add_part(std::string_view key, std::string_view value, std::vector<Part> &parts);
// After every param: each file part has its `file`.
Error check_parts(const std::vector<Part> &parts);

// k=v&k2=v2, WHATWG urlencoded (space as '+').
void build_form(const ParamPairs &fields, std::string &out);
// multipart/form-data with a boundary that none of the parts contains; `content_type` gets the header
// value (with the boundary).
void build_multipart(const std::vector<Part> &parts, std::string &out, std::string &content_type);
// A JSON object from dotted keys ("user.name" -> {"user":{"name":...}}): true, false, null and
// numbers become JSON literals, anything else a string. A key that is both a value and an object is
// NTX_E_INVALID.
Error build_json(const ParamPairs &fields, std::string &out);
// A JSON text: NTX_E_INVALID unless it parses.
Error check_json(std::string_view text);
// "Basic base64(user:password)".
void basic_auth(std::string_view user, std::string_view password, std::string &out);

}  // namespace ntx::http
