// The text layer of a PDF through poppler's C++ API. See extract.h for the contract.
#include <poppler-document.h>
#include <poppler-global.h>
#include <poppler-page.h>

#include <algorithm>
#include <climits>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "io/extract.h"

namespace ds {
namespace {

// Poppler keeps global state (its GlobalParams, font and CMap caches, the error callback), so one
// document is handled at a time. Text extraction is fast next to tokenizing and the model.
std::mutex& poppler_mutex() {
  static std::mutex m;
  return m;
}

// Poppler's error messages for the document being read; guarded by poppler_mutex().
std::vector<std::string>& poppler_messages() {
  static std::vector<std::string> messages;
  return messages;
}

void capture_poppler_message(const std::string& message, void*) {
  auto& messages = poppler_messages();
  if (messages.size() < 20) messages.push_back(message);
}

// The first distinct messages poppler gave, for an error reason ("" if it said nothing).
std::string poppler_said() {
  std::string out;
  std::vector<std::string> seen;
  for (std::string m : poppler_messages()) {
    // poppler-cpp formats them as "error (<byte offset>): <message>" or "error: <message>".
    if (m.rfind("error", 0) == 0) {
      size_t colon = m.find(": ");
      if (colon != std::string::npos && colon < 32) m.erase(0, colon + 2);
    }
    // It writes control characters as "<0a>".
    while (m.size() >= 4 && m.compare(m.size() - 4, 4, "<0a>") == 0) m.erase(m.size() - 4);
    while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
    if (m.empty() || std::find(seen.begin(), seen.end(), m) != seen.end()) continue;
    seen.push_back(m);
    if (seen.size() > 3) break;
    out += out.empty() ? " (poppler: " : "; ";
    out += m;
  }
  return out.empty() ? out : out + ")";
}

// Fonts with predefined Chinese, Japanese or Korean CMaps (no ToUnicode map) are mapped to text
// through the poppler-data package; without it poppler says "Missing language pack for
// 'Adobe-GB1' mapping" or cannot find the CMap.
bool missing_language_pack() {
  for (const std::string& m : poppler_messages())
    if (m.find("Missing language pack") != std::string::npos || m.find("Unknown CMap") != std::string::npos ||
        m.find("CMap file") != std::string::npos)
      return true;
  return false;
}

bool is_blank_char(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

// "3, 5-7, 9" from 1-based page numbers in ascending order (at most `max_items` items).
std::string page_ranges(const std::vector<int>& pages, size_t max_items = 10) {
  std::string out;
  size_t items = 0;
  for (size_t i = 0; i < pages.size();) {
    size_t j = i;
    while (j + 1 < pages.size() && pages[j + 1] == pages[j] + 1) ++j;
    if (items == max_items) {
      out += ", ...";
      break;
    }
    if (!out.empty()) out += ", ";
    out += std::to_string(pages[i]);
    if (j > i) out += "-" + std::to_string(pages[j]);
    ++items;
    i = j + 1;
  }
  return out;
}

}  // namespace

Extraction extract_pdf(std::string_view bytes) {
  Extraction x;
  if (bytes.empty()) {
    x.error = "empty file (0 bytes), not a PDF";
    return x;
  }
  if (bytes.size() > static_cast<size_t>(INT_MAX)) {
    x.error = "PDF over 2 GiB, too large to read";
    return x;
  }
  std::lock_guard<std::mutex> lock(poppler_mutex());
  static std::once_flag silence;
  std::call_once(silence, [] { poppler::set_debug_error_function(&capture_poppler_message, nullptr); });
  poppler_messages().clear();

  // Poppler reads `bytes` in place; the document must die before this function returns.
  std::unique_ptr<poppler::document> doc(
      poppler::document::load_from_raw_data(bytes.data(), static_cast<int>(bytes.size())));
  if (!doc) {
    std::string head(bytes.substr(0, 5));
    x.error = head == "%PDF-" ? "corrupt PDF: poppler cannot open it" + poppler_said()
                              : "corrupt PDF: the file does not start with %PDF-" + poppler_said();
    return x;
  }
  if (doc->is_locked()) {
    x.error = "encrypted PDF: needs a password";
    return x;
  }
  int pages = doc->pages();
  if (pages <= 0) {
    x.error = "corrupt PDF: no pages" + poppler_said();
    return x;
  }

  std::vector<int> textless;    // 1-based page numbers without text
  std::vector<int> unreadable;  // pages poppler could not open
  for (int i = 0; i < pages; ++i) {
    if (i > 0) x.text += "\f\n";
    std::unique_ptr<poppler::page> page(doc->create_page(i));
    if (!page) {
      unreadable.push_back(i + 1);
      continue;
    }
    poppler::byte_array utf8 = page->text(poppler::rectf(), poppler::page::non_raw_non_physical_layout).to_utf8();
    std::string text(utf8.begin(), utf8.end());
    // Poppler ends a page with blank lines and its own form feed; ours separate the pages.
    while (!text.empty() && is_blank_char(text.back())) text.pop_back();
    if (text.empty()) {
      textless.push_back(i + 1);
      continue;
    }
    x.text += text;
    x.text += '\n';
  }

  int with_text = pages - static_cast<int>(textless.size() + unreadable.size());
  if (with_text == 0) {
    x.text.clear();
    if (!unreadable.empty() && textless.empty()) {
      x.error = "corrupt PDF: no page can be read" + poppler_said();
    } else if (missing_language_pack()) {
      x.error = "no text could be mapped to Unicode: the fonts need the CJK maps of the poppler-data package, "
                "which is not installed" + poppler_said();
    } else {
      x.error = "no text layer (scanned PDF?); OCR is not supported (" + std::to_string(pages) +
                (pages == 1 ? " page)" : " pages)");
    }
    return x;
  }
  bool told = false;  // poppler's messages are quoted once
  if (missing_language_pack()) {
    x.warnings.push_back("some fonts need the CJK maps of the poppler-data package, which is not installed: their "
                         "text may be missing" + poppler_said());
    told = true;
  }
  if (!textless.empty()) {
    x.warnings.push_back("no text layer on page(s) " + page_ranges(textless) + " of " + std::to_string(pages) +
                         " (scanned?); OCR is not supported");
  }
  if (!unreadable.empty()) {
    x.warnings.push_back("page(s) " + page_ranges(unreadable) + " of " + std::to_string(pages) + " cannot be read" +
                         (told ? "" : poppler_said()));
    told = true;
  }
  // A damaged file that poppler repaired (a broken cross-reference table, a bad object) still gives
  // text, but perhaps not all of it.
  if (!told && !poppler_messages().empty()) {
    x.warnings.push_back("poppler reported problems reading the file; the text may be incomplete" + poppler_said());
  }
  if (size_t replaced = clean_extracted_text(x.text)) {
    x.warnings.push_back(std::to_string(replaced) +
                         " control character(s) or invalid UTF-8 sequence(s) in the text layer replaced by U+FFFD");
  }
  return x;
}

}  // namespace ds
