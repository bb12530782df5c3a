// CSV as RFC 4180 writes it, plus what manifests written by hand need: a UTF-8 byte order mark is
// skipped, CRLF and LF both end records, a quoted field may hold commas, doubled quotes and line
// breaks, spaces around an unquoted field are trimmed, and blank lines and lines starting with '#'
// (outside quotes) are skipped. Every field keeps the line and column it starts at, for diagnostics.
//
// Written by hand, not taken from Debian's libcsv: libcsv's callbacks carry no source position, and
// every manifest problem must be reported at its file:line:col. The grammar is five states.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ntx::resource {

struct CsvField {
    std::string text;
    int line = 0, column = 0;  // 1-based, where the field starts (its opening quote when quoted)
};

struct CsvRecord {
    std::vector<CsvField> fields;
    int line = 0;  // where the record starts
};

struct CsvError {
    std::string message;  // empty: none
    int line = 0, column = 0;
};

// Appends `content`'s records to `out`, at most `max_records` of them. On a malformed field (an
// unterminated quote, text after a closing quote) sets `error` and returns false; the records before
// it are kept.
bool parse_csv(std::string_view content, std::vector<CsvRecord>& out, CsvError& error,
               size_t max_records = static_cast<size_t>(-1));

}  // namespace ntx::resource
