#include "scheduler/extractor.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include "dsl/extract_regex.hpp"

namespace ntx::scheduler {

namespace json = boost::json;

// The parser and its scratch (and the regex's): the parser's own stack and the parsed values both live in `buffer`
// (a monotonic resource over it, rewound per body); a larger body spills to the heap for that parse.
struct Extractor::Json {
    std::unique_ptr<unsigned char[]> temp = std::make_unique<unsigned char[]>(4096);
    std::unique_ptr<unsigned char[]> values = std::make_unique<unsigned char[]>(kScratchBytes);
    json::parser parser{json::storage_ptr(), json::parse_options(), temp.get(), 4096};
    // A regex search's sub-matches: reused, so a search allocates nothing once it has grown.
    boost::match_results<std::string_view::const_iterator> match;
};

Extractor::Extractor() : json_(std::make_unique<Json>()) {}
Extractor::~Extractor() = default;

std::optional<std::string_view> result_field(const ntx_result_t& result, std::string_view key) {
    for (size_t i = 0; i < result.field_count; ++i) {
        const ntx_kv_t& kv = result.fields[i];
        if (std::string_view(kv.key.ptr ? kv.key.ptr : "", kv.key.len) == key)
            return std::string_view(kv.value.ptr ? kv.value.ptr : "", kv.value.len);
    }
    return std::nullopt;
}

namespace {

// The regex's group (or whole match) in `text`, into `out`; null, or why there is none.
const char* search(const dsl::CompiledRegex& rx, std::string_view text, std::string& out, const char* no_match,
                   boost::match_results<std::string_view::const_iterator>& m) {
    if (!boost::regex_search(text.begin(), text.end(), m, rx.re)) return no_match;
    const auto& g = m[rx.group];
    if (!g.matched) return "the regex matched, but its first group took no part";  // (x)?y
    out.assign(g.first, g.second);
    return nullptr;
}

}  // namespace

ExtractMiss Extractor::run(const dsl::ActionSpec& a, const ntx_result_t& result, dsl::Fields& out) {
    ExtractMiss miss;
    // The body is parsed once for all json extracts, on the first that needs it.
    json::monotonic_resource mr(json_->values.get(), kScratchBytes);
    // On `mr` from the start: a value assigned from another resource would be copied, not moved.
    json::value doc(json::storage_ptr{&mr});
    bool parsed = false, parse_failed = false;
    uint64_t parse_offset = 0;
    std::string_view body;
    bool have_body = false;
    auto get_body = [&] {
        if (!have_body) {
            body = result_field(result, "body").value_or(std::string_view{});
            have_body = true;
        }
        return body;
    };
    for (size_t i = 0; i < a.extracts.size(); ++i) {
        const dsl::ExtractSpec& x = a.extracts[i];
        auto& [key, value] = out[i];
        if (key != x.name) key.assign(x.name);
        value.clear();
        const char* why = nullptr;
        size_t token = 0;
        switch (x.source) {
        case dsl::ExtractSpec::Source::json: {
            if (!parsed) {
                parsed = true;
                json_->parser.reset(&mr);
                boost::system::error_code ec;
                std::string_view b = get_body();
                size_t used = json_->parser.write(b.data(), b.size(), ec);
                if (!ec) doc = json_->parser.release();
                else {
                    parse_failed = true;
                    parse_offset = used;
                }
            }
            if (parse_failed) {
                why = get_body().empty() ? "the body is empty, not JSON" : "the body is not JSON";
                break;
            }
            const json::value* v = &doc;
            for (; token < x.pointer.tokens.size(); ++token) {
                const auto& t = x.pointer.tokens[token];
                if (const json::object* o = v->if_object()) {
                    auto it = o->find(t.key);
                    if (it == o->end()) {
                        why = "no such member";
                        break;
                    }
                    v = &it->value();
                } else if (const json::array* arr = v->if_array()) {
                    if (!t.index || *t.index >= arr->size()) {
                        why = "no such element";
                        break;
                    }
                    v = &(*arr)[*t.index];
                } else {
                    why = "not an object or array";
                    break;
                }
            }
            if (why) break;
            if (const json::string* s = v->if_string()) value.assign(s->data(), s->size());
            else value = json::serialize(*v);  // numbers, booleans, null, objects and arrays as JSON text
            break;
        }
        case dsl::ExtractSpec::Source::header: {
            auto h = result_field(result, x.header_field);
            if (!h) why = "no such header";
            else if (!x.regex) value.assign(*h);
            else why = search(*x.regex, *h, value, "the regex does not match the header", json_->match);
            break;
        }
        case dsl::ExtractSpec::Source::body:
            why = search(*x.regex, get_body(), value, "the regex does not match the body", json_->match);
            break;
        }
        if (!why) continue;
        if (x.default_value) {
            value.assign(*x.default_value);
            continue;
        }
        if (!miss) {
            miss.spec = &x;
            miss.why = why;
            miss.token = token;
            miss.offset = parse_offset;
        }
    }
    // `doc` (declared after `mr`) goes first; the parser lets go of `mr` too.
    json_->parser.reset();
    return miss;
}

std::string ExtractMiss::describe() const {
    if (!spec) return {};
    std::string where;
    if (spec->source == dsl::ExtractSpec::Source::json) {
        if (std::string_view(why).starts_with("the body")) where = fmt::format(" (stopped at byte {})", offset);
        else {
            std::string at;
            for (size_t i = 0; i < token; ++i) at += "/" + spec->pointer.tokens[i].key;
            where = fmt::format(": '{}' at {}", spec->pointer.tokens[token].key, at.empty() ? "the root" : at);
        }
    }
    return fmt::format("extract '{}' {}: {}{}", spec->name, spec->written, why, where);
}

}  // namespace ntx::scheduler
