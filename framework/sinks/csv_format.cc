#include "sinks/csv_format.h"

namespace ds {

bool looks_like_formula(std::string_view value) {
  if (value.empty()) return false;
  char c = value.front();
  return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r';
}

std::string csv_guarded(std::string_view value) {
  if (!looks_like_formula(value)) return std::string(value);
  std::string out = "'";
  out.append(value);
  return out;
}

std::string csv_field(std::string_view value, char delimiter, bool guard_formula) {
  bool formula = guard_formula && looks_like_formula(value);
  bool quote = formula || value.find_first_of(std::string{delimiter, '"', '\r', '\n'}) != std::string_view::npos;
  if (!quote) return std::string(value);
  std::string out = "\"";
  if (formula) out += '\'';
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

CsvParse parse_csv(std::string_view text, char delimiter) {
  CsvParse result;
  CsvRecord record;
  std::string field;
  size_t pos = 0;
  size_t record_begin = 0;
  bool in_quotes = false;
  bool after_quote = false;  // just closed a quoted field: only delimiter or line end may follow
  while (pos < text.size()) {
    char c = text[pos];
    if (in_quotes) {
      if (c == '"') {
        if (pos + 1 < text.size() && text[pos + 1] == '"') {
          field += '"';
          pos += 2;
          continue;
        }
        in_quotes = false;
        after_quote = true;
      } else {
        field += c;
      }
      ++pos;
      continue;
    }
    if (c == delimiter) {
      record.fields.push_back(std::move(field));
      field.clear();
      after_quote = false;
      ++pos;
      continue;
    }
    if (c == '\n' || (c == '\r' && pos + 1 < text.size() && text[pos + 1] == '\n')) {
      pos += c == '\r' ? 2 : 1;
      record.fields.push_back(std::move(field));
      field.clear();
      after_quote = false;
      record.begin = record_begin;
      record.end = pos;
      result.records.push_back(std::move(record));
      record = CsvRecord{};
      record_begin = pos;
      result.complete_bytes = pos;
      continue;
    }
    if (c == '\r' && pos + 1 == text.size()) break;  // CR of a CRLF cut in two: torn
    if (after_quote) {
      result.error = "offset " + std::to_string(pos) + ": text after a closing quote";
      return result;
    }
    if (c == '"') {
      if (!field.empty()) {
        result.error = "offset " + std::to_string(pos) + ": quote inside an unquoted field";
        return result;
      }
      in_quotes = true;
      ++pos;
      continue;
    }
    field += c;
    ++pos;
  }
  return result;
}

}  // namespace ds
