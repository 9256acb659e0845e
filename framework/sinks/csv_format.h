// RFC 4180 CSV: quoting one field for output, and parsing records back (quotes, doubled quotes and
// embedded CR/LF honoured). Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ds {

// True if a spreadsheet would read `value` as a formula: it starts with = + - @, TAB or CR.
bool looks_like_formula(std::string_view value);

// `value` as one CSV field. Quoted (with '"' doubled) when it holds the delimiter, '"', CR or LF.
// With `guard_formula`, a value that looks_like_formula() is written as "'<value>" inside quotes, so
// Excel and LibreOffice show it as text instead of running it; readers see the leading '.
std::string csv_field(std::string_view value, char delimiter, bool guard_formula);

// `value` as csv_field() stores it once read back: prefixed by ' if it looks like a formula.
std::string csv_guarded(std::string_view value);

struct CsvRecord {
  std::vector<std::string> fields;  // unquoted values
  size_t begin = 0;                 // byte offset of the record in the parsed text
  size_t end = 0;                   // byte offset just past its line ending
};

struct CsvParse {
  std::vector<CsvRecord> records;  // complete records only (ended by LF or CRLF)
  size_t complete_bytes = 0;       // bytes covered by `records`; anything after is a torn record
  std::string error;               // non-empty if the text is not CSV ("offset N: what")
};

// Parses `text`. A record is complete only when its line ending (outside quotes) was read, so a
// final record without one is left out and counted as torn.
CsvParse parse_csv(std::string_view text, char delimiter);

}  // namespace ds
