#include "io/extract.h"

#include <algorithm>
#include <cctype>

namespace ds {
namespace {

bool ends_with_ci(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         std::equal(suffix.begin(), suffix.end(), s.end() - suffix.size(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
         });
}

// Length of the well-formed UTF-8 sequence at the start of `s`, 0 if it is ill-formed.
size_t utf8_length(std::string_view s) {
  auto b0 = static_cast<unsigned char>(s[0]);
  if (b0 < 0x80) return 1;
  size_t need = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (s.size() <= need) return 0;
  for (size_t i = 1; i <= need; ++i) {
    auto b = static_cast<unsigned char>(s[i]);
    if (b < lo || b > hi) return 0;
    lo = 0x80;
    hi = 0xBF;
  }
  return need + 1;
}

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

}  // namespace

SourceFormat source_format(std::string_view path) {
  if (ends_with_ci(path, ".docx")) return SourceFormat::kDocx;
  if (ends_with_ci(path, ".pdf")) return SourceFormat::kPdf;
  return SourceFormat::kText;
}

std::string_view format_name(SourceFormat format) {
  switch (format) {
    case SourceFormat::kDocx: return "docx";
    case SourceFormat::kPdf: return "pdf";
    case SourceFormat::kText: break;
  }
  return "";
}

bool is_extracted_charset(std::string_view charset) { return charset == "docx" || charset == "pdf"; }

Extraction extract_text(SourceFormat format, std::string_view bytes) {
  switch (format) {
    case SourceFormat::kDocx: return extract_docx(bytes);
    case SourceFormat::kPdf: return extract_pdf(bytes);
    case SourceFormat::kText: break;
  }
  Extraction x;
  x.error = "plain text has nothing to extract";
  return x;
}

size_t clean_extracted_text(std::string& text) {
  std::string out;
  out.reserve(text.size());
  size_t replaced = 0;
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      size_t len = utf8_length(std::string_view(text).substr(i));
      if (len) {
        out.append(text, i, len);
        i += len;
      } else {
        out += kReplacement;
        ++replaced;
        ++i;
      }
    } else if (c == '\r') {
      out += '\n';
      i += (i + 1 < text.size() && text[i + 1] == '\n') ? 2 : 1;
    } else if ((c < 0x20 && c != '\t' && c != '\n' && c != '\f') || c == 0x7F) {
      out += kReplacement;
      ++replaced;
      ++i;
    } else {
      out += static_cast<char>(c);
      ++i;
    }
  }
  text.swap(out);
  return replaced;
}

}  // namespace ds
