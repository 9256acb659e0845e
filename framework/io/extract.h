// Text extraction from container formats: Word .docx (libzip + libxml2) and text-layer .pdf
// (poppler-cpp). The decode stage calls these for documents whose file name says .docx or .pdf;
// every other file goes through charset decoding unchanged.
//
// Offsets rule: for an extracted document the "source" is the extracted UTF-8 text itself. The
// document's charset is the format name ("docx" or "pdf"), its text is exactly the extracted text
// and text_to_bytes is the identity, so sink fields such as source_begin/source_end are byte
// offsets into the extracted text (reproducible by extracting the same file again), not into the
// zip or PDF bytes on disk. source.size and content_hash still describe the file on disk.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ds {

enum class SourceFormat { kText, kDocx, kPdf };

// The format a file name asks for, from its extension (case-insensitive): ".docx" -> kDocx,
// ".pdf" -> kPdf, anything else -> kText (charset decoding). The bytes are never sniffed, so a
// .txt file is always decoded as text.
SourceFormat source_format(std::string_view path);

// "docx" or "pdf"; "" for kText. This is also the charset recorded for an extracted document.
std::string_view format_name(SourceFormat format);

// True for the charset names format_name() gives, i.e. a document whose text was extracted.
bool is_extracted_charset(std::string_view charset);

// What an extraction produced. Per-document failures are values, never exceptions.
struct Extraction {
  std::string text;                   // valid UTF-8; lines end with '\n'
  std::vector<std::string> warnings;  // non-fatal problems, without a stage prefix
  std::string error;                  // empty on success, else the reason the file gives no text
  bool ok() const { return error.empty(); }
};

// Paragraphs of word/document.xml (the part the package's officeDocument relationship names),
// one line each: w:t text, w:tab -> '\t', w:br / w:cr -> '\n'; table rows one line each with cells
// separated by '\t' (paragraphs inside a cell joined by spaces); text boxes after their paragraph.
// Tracked changes are read as accepted: deleted text (w:del, w:moveFrom) is skipped, inserted text
// (w:ins, w:moveTo) kept. Field codes, headers, footers, footnotes and comments are not read.
// Errors: empty file, not a zip (also: a password-protected .docx, which is an OLE container),
// a missing main part, an encrypted or unreadable zip entry, XML that is not well-formed.
// Thread-safe.
Extraction extract_docx(std::string_view bytes);

// The text layer page by page in reading order (poppler's non-raw, non-physical layout: the order
// `pdftotext` uses without -layout). Each page ends with '\n'; pages are separated by a line
// holding a form feed ("\f\n"), so page N starts after the (N-1)th form feed.
// Errors: empty file, a PDF poppler cannot open (the reason includes poppler's own message),
// encryption that needs a user password, no pages, and no text on any page ("no text layer
// (scanned PDF?); OCR is not supported"). Pages without text in an otherwise textual PDF, and
// control characters replaced by U+FFFD, are warnings. Poppler's messages never reach stderr.
// Thread-safe: calls into poppler are serialized by a process-wide mutex.
Extraction extract_pdf(std::string_view bytes);

// Dispatches on `format`; kText returns an error (nothing to extract).
Extraction extract_text(SourceFormat format, std::string_view bytes);

// Makes extracted text safe for every later stage: ill-formed UTF-8, NUL and the other C0 control
// characters except '\t', '\n' and '\f', and DEL become U+FFFD; "\r\n" and lone '\r' become '\n'.
// Returns how many characters were replaced by U+FFFD.
size_t clean_extracted_text(std::string& text);

}  // namespace ds
