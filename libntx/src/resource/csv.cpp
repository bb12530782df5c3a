#include "resource/csv.hpp"

#include <cstdint>

namespace ntx::resource {

namespace {

bool blank(char c) { return c == ' ' || c == '\t'; }

}  // namespace

bool parse_csv(std::string_view s, std::vector<CsvRecord>& out, CsvError& error, size_t max_records) {
    enum class State : uint8_t {
        record_start,  // at the start of a line: a comment, a blank line or the first field
        field_start,   // after a comma (or at a record's first non-blank character)
        unquoted,      // inside an unquoted field
        quoted,        // inside quotes
        after_quote,   // a quote inside quotes: a doubled quote, or the field's end
    };
    if (s.substr(0, 3) == "\xEF\xBB\xBF") s.remove_prefix(3);  // UTF-8 BOM
    State state = State::record_start;
    int line = 1, column = 1;
    CsvRecord record;
    CsvField field;
    size_t trailing = 0;  // unquoted: the blanks at the field's end, trimmed when it ends
    auto end_field = [&] {
        if (state == State::unquoted) field.text.resize(field.text.size() - trailing);
        record.fields.push_back(std::move(field));
        field = CsvField{};
        trailing = 0;
    };
    auto end_record = [&] {
        end_field();
        out.push_back(std::move(record));
        record = CsvRecord{};
    };
    auto start_field = [&](int l, int c) {
        field.line = l;
        field.column = c;
    };
    const size_t first = out.size();
    for (size_t i = 0; i < s.size() && out.size() - first < max_records; ++i) {
        const char c = s[i];
        const bool newline = c == '\n' || c == '\r';
        if (c == '\r' && i + 1 < s.size() && s[i + 1] == '\n' && state != State::quoted) {
            continue;  // CRLF: the LF ends the line
        }
        switch (state) {
        case State::record_start:
            if (newline) break;
            if (blank(c)) break;
            if (c == '#') {  // a comment: skip to the end of the line
                while (i + 1 < s.size() && s[i + 1] != '\n') ++i;
                break;
            }
            record.line = line;
            state = State::field_start;
            [[fallthrough]];
        case State::field_start:
            if (blank(c)) break;
            start_field(line, column);
            if (c == '"') {
                state = State::quoted;
            } else if (c == ',') {
                end_field();
                start_field(line, column + 1);
            } else if (newline) {
                state = State::unquoted;  // an empty last field
                end_record();
                state = State::record_start;
            } else {
                field.text += c;
                state = State::unquoted;
            }
            break;
        case State::unquoted:
            if (c == ',') {
                end_field();
                start_field(line, column + 1);
                state = State::field_start;
            } else if (newline) {
                end_record();
                state = State::record_start;
            } else if (c == '"') {
                error = {"a quote inside an unquoted field (quote the whole field and double the quote: \"a\"\"b\")", line,
                         column};
                return false;
            } else {
                trailing = blank(c) ? trailing + 1 : 0;
                field.text += c;
            }
            break;
        case State::quoted:
            if (c == '"') state = State::after_quote;
            else field.text += c;  // commas and line breaks (CRLF kept as written) included
            break;
        case State::after_quote:
            if (c == '"') {
                field.text += '"';
                state = State::quoted;
            } else if (c == ',') {
                end_field();
                start_field(line, column + 1);
                state = State::field_start;
            } else if (newline) {
                end_record();
                state = State::record_start;
            } else if (!blank(c)) {
                error = {"text after a closing quote (double a quote inside a quoted field: \"a\"\"b\")", line, column};
                return false;
            }
            break;
        }
        if (c == '\n' || (c == '\r' && !(i + 1 < s.size() && s[i + 1] == '\n'))) {
            ++line;
            column = 1;
        } else {
            ++column;
        }
    }
    if (out.size() - first >= max_records) return true;
    switch (state) {
    case State::record_start: break;
    case State::quoted:
        error = {"unterminated quote", field.line, field.column};
        return false;
    case State::field_start:
    case State::unquoted:
    case State::after_quote: end_record(); break;
    }
    return true;
}

}  // namespace ntx::resource
