#include "io/extract.h"

#include <algorithm>
#include <cctype>

#include "core/utf8.h"

namespace ds {
namespace {

bool ends_with_ci(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         std::equal(suffix.begin(), suffix.end(), s.end() - suffix.size(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
         });
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
      size_t bad = 0;
      size_t len = utf8_sequence(reinterpret_cast<const unsigned char*>(text.data()) + i, text.size() - i, bad);
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
