// The paragraphs of a Word .docx: libzip opens the package in memory, libxml2 parses the main
// document part. See extract.h for the contract.
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <zip.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "io/extract.h"

namespace ds {
namespace {

// A document part larger than this once uncompressed is refused (a zip bomb, or not a contract).
constexpr uint64_t kMaxPartBytes = 256ull << 20;

constexpr std::string_view kDefaultMainPart = "word/document.xml";

// Namespaces of WordprocessingML (transitional and strict), markup compatibility and package
// relationships.
constexpr const char* kWordNs[] = {"http://schemas.openxmlformats.org/wordprocessingml/2006/main",
                                   "http://purl.oclc.org/ooxml/wordprocessingml/main"};
constexpr const char* kMcNs = "http://schemas.openxmlformats.org/markup-compatibility/2006";
constexpr const char* kRelsNs = "http://schemas.openxmlformats.org/package/2006/relationships";

// --- zip -------------------------------------------------------------------------------------------

struct ZipDiscard {
  void operator()(zip_t* z) const { zip_discard(z); }
};
using ZipPtr = std::unique_ptr<zip_t, ZipDiscard>;

struct ZipFileClose {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};

// Opens `bytes` (which must outlive the archive) as a zip; on failure sets `error`.
ZipPtr open_zip(std::string_view bytes, std::string& error) {
  zip_error_t zerr;
  zip_error_init(&zerr);
  zip_source_t* src = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &zerr);
  if (!src) {
    error = std::string("cannot read the zip: ") + zip_error_strerror(&zerr);
    zip_error_fini(&zerr);
    return nullptr;
  }
  zip_t* z = zip_open_from_source(src, ZIP_RDONLY, &zerr);
  if (!z) {
    zip_source_free(src);
    int code = zip_error_code_zip(&zerr);
    std::string why = zip_error_strerror(&zerr);
    zip_error_fini(&zerr);
    // A password-protected Word file is an OLE compound file holding an encrypted package, and a
    // legacy .doc is one too.
    if (bytes.substr(0, 8) == std::string_view("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8)) {
      error = "encrypted DOCX (password-protected) or a legacy .doc file renamed .docx: neither is supported";
    } else if (code == ZIP_ER_NOZIP) {
      error = "corrupt DOCX: not a zip archive (truncated or damaged file?)";
    } else {
      error = "corrupt DOCX: " + why;
    }
    return nullptr;
  }
  zip_error_fini(&zerr);
  return ZipPtr(z);
}

// Reads one entry (name compared case-insensitively, as OPC part names are). Returns false and sets
// `error` if it cannot; `missing` tells that the entry does not exist.
bool read_entry(zip_t* z, std::string_view name, std::string& out, std::string& error, bool& missing) {
  missing = false;
  std::string n(name);
  zip_int64_t index = zip_name_locate(z, n.c_str(), ZIP_FL_NOCASE);
  if (index < 0) {
    missing = true;
    error = n + " is missing";
    return false;
  }
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(z, static_cast<zip_uint64_t>(index), 0, &st) == 0 && (st.valid & ZIP_STAT_SIZE) &&
      st.size > kMaxPartBytes) {
    error = n + " is " + std::to_string(st.size >> 20) + " MiB uncompressed, over the " +
            std::to_string(kMaxPartBytes >> 20) + " MiB limit";
    return false;
  }
  std::unique_ptr<zip_file_t, ZipFileClose> f(zip_fopen_index(z, static_cast<zip_uint64_t>(index), 0));
  if (!f) {
    int code = zip_error_code_zip(zip_get_error(z));
    error = code == ZIP_ER_NOPASSWD || code == ZIP_ER_WRONGPASSWD
                ? n + " is encrypted in the zip (needs a password)"
                : "cannot open " + n + ": " + zip_error_strerror(zip_get_error(z));
    return false;
  }
  out.clear();
  char buffer[64 * 1024];
  for (;;) {
    zip_int64_t got = zip_fread(f.get(), buffer, sizeof buffer);
    if (got < 0) {
      error = "cannot read " + n + ": " + zip_error_strerror(zip_file_get_error(f.get()));
      return false;
    }
    if (got == 0) break;
    // The size in the zip directory can lie; the limit holds for what is actually inflated.
    if (out.size() + static_cast<uint64_t>(got) > kMaxPartBytes) {
      error = n + " is over the " + std::to_string(kMaxPartBytes >> 20) + " MiB limit uncompressed";
      return false;
    }
    out.append(buffer, static_cast<size_t>(got));
  }
  return true;
}

// --- XML -------------------------------------------------------------------------------------------

struct XmlDocFree {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
using XmlDocPtr = std::unique_ptr<xmlDoc, XmlDocFree>;

struct XmlCtxtFree {
  void operator()(xmlParserCtxt* c) const { xmlFreeParserCtxt(c); }
};

// Parses without network access, external DTDs or entity expansion, and without printing
// anything: the error comes back in `error` ("line L: message").
XmlDocPtr parse_xml(const std::string& xml, const std::string& name, std::string& error) {
  static std::once_flag init;
  std::call_once(init, [] { xmlInitParser(); });
  std::unique_ptr<xmlParserCtxt, XmlCtxtFree> ctxt(xmlNewParserCtxt());
  if (!ctxt) {
    error = "out of memory parsing " + name;
    return nullptr;
  }
  if (xml.size() > static_cast<size_t>(INT32_MAX)) {
    error = name + " is too large";
    return nullptr;
  }
  XmlDocPtr doc(xmlCtxtReadMemory(ctxt.get(), xml.data(), static_cast<int>(xml.size()), name.c_str(), nullptr,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
  if (!doc || !ctxt->wellFormed) {
    std::string message = "not well-formed XML";
    if (const xmlError* e = xmlCtxtGetLastError(ctxt.get()); e && e->message) {
      message = "line " + std::to_string(e->line) + ": " + e->message;
      while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    }
    error = name + " is not well-formed XML (" + message + ")";
    return nullptr;
  }
  return doc;
}

bool in_ns(const xmlNode* n, const char* ns) {
  return n->ns && n->ns->href && std::strcmp(reinterpret_cast<const char*>(n->ns->href), ns) == 0;
}

bool is_word(const xmlNode* n, const char* local) {
  if (n->type != XML_ELEMENT_NODE || std::strcmp(reinterpret_cast<const char*>(n->name), local) != 0) return false;
  return in_ns(n, kWordNs[0]) || in_ns(n, kWordNs[1]);
}

bool is_mc(const xmlNode* n, const char* local) {
  return n->type == XML_ELEMENT_NODE && std::strcmp(reinterpret_cast<const char*>(n->name), local) == 0 &&
         in_ns(n, kMcNs);
}

std::string attribute(const xmlNode* n, const char* name) {
  for (const xmlAttr* a = n->properties; a; a = a->next) {
    if (std::strcmp(reinterpret_cast<const char*>(a->name), name) != 0) continue;
    xmlChar* v = xmlNodeListGetString(n->doc, a->children, 1);
    std::string out = v ? reinterpret_cast<const char*>(v) : "";
    xmlFree(v);
    return out;
  }
  return "";
}

// The main document part named by the package relationships (word/document.xml in every file Word
// writes), or "" if the package has no relationships part.
std::string main_part_from_rels(const std::string& rels_xml) {
  std::string ignored;
  XmlDocPtr rels = parse_xml(rels_xml, "_rels/.rels", ignored);
  if (!rels) return "";
  xmlNode* root = xmlDocGetRootElement(rels.get());
  if (!root) return "";
  for (xmlNode* r = root->children; r; r = r->next) {
    if (r->type != XML_ELEMENT_NODE || !in_ns(r, kRelsNs)) continue;
    std::string type = attribute(r, "Type");
    if (type.size() < 15 || type.compare(type.size() - 15, 15, "/officeDocument") != 0) continue;
    std::string target = attribute(r, "Target");
    while (!target.empty() && target.front() == '/') target.erase(0, 1);
    return target;
  }
  return "";
}

// --- WordprocessingML to text ---------------------------------------------------------------------

// Walks w:body. Lines are paragraphs and table rows; inside a table cell, paragraphs, breaks and
// tabs become spaces so that a row stays one line with its cells separated by tabs.
class BodyText {
 public:
  std::vector<std::string> lines;

  // Block-level content: paragraphs, tables, and the containers around them.
  void blocks(const xmlNode* parent, bool in_cell) {
    for (const xmlNode* n = parent->children; n; n = n->next) block(n, in_cell);
  }

  void block(const xmlNode* n, bool in_cell) {
    if (n->type != XML_ELEMENT_NODE || skipped(n)) return;
    if (is_word(n, "p")) {
      paragraph(n, in_cell);
    } else if (is_word(n, "tbl")) {
      table(n, in_cell);
    } else if (is_mc(n, "AlternateContent")) {
      if (const xmlNode* branch = alternate_branch(n)) blocks(branch, in_cell);
    } else {
      blocks(n, in_cell);  // w:sdt, w:sdtContent, w:customXml, w:ins, w:moveTo, w:txbxContent, ...
    }
  }

 private:
  // Content that is not part of the accepted text: deletions and moved-away text, field
  // instructions, properties (which hold tab stops, not tabs) and reference marks.
  static bool skipped(const xmlNode* n) {
    static const char* const kSkipped[] = {"del", "moveFrom", "delText", "delInstrText", "instrText",
                                           "pPr", "rPr", "sectPr", "tblPr", "tblGrid", "trPr", "tcPr",
                                           "sdtPr", "sdtEndPr", "fldData", "footnoteReference",
                                           "endnoteReference", "commentReference", "annotationRef"};
    for (const char* name : kSkipped)
      if (is_word(n, name)) return true;
    return false;
  }

  // mc:AlternateContent holds the same content more than once: read the first mc:Choice, else
  // mc:Fallback.
  static const xmlNode* alternate_branch(const xmlNode* n) {
    const xmlNode* fallback = nullptr;
    for (const xmlNode* c = n->children; c; c = c->next) {
      if (is_mc(c, "Choice")) return c;
      if (is_mc(c, "Fallback")) fallback = c;
    }
    return fallback;
  }

  static bool has_child(const xmlNode* n, const char* local) {
    for (const xmlNode* c = n->children; c; c = c->next)
      if (is_word(c, local)) return true;
    return false;
  }

  // A paragraph whose mark is a tracked deletion merges into the next one when changes are accepted.
  static bool mark_deleted(const xmlNode* p) {
    for (const xmlNode* c = p->children; c; c = c->next) {
      if (!is_word(c, "pPr")) continue;
      for (const xmlNode* r = c->children; r; r = r->next)
        if (is_word(r, "rPr") && has_child(r, "del")) return true;
    }
    return false;
  }

  void paragraph(const xmlNode* p, bool in_cell) {
    std::string line;
    std::vector<const xmlNode*> boxes;
    inline_content(p, line, in_cell, boxes);
    if (!(line.empty() && mark_deleted(p))) lines.push_back(std::move(line));
    // Text boxes anchored in the paragraph come after it.
    for (const xmlNode* box : boxes) block(box, in_cell);
  }

  void inline_content(const xmlNode* parent, std::string& line, bool in_cell, std::vector<const xmlNode*>& boxes) {
    for (const xmlNode* n = parent->children; n; n = n->next) {
      if (n->type != XML_ELEMENT_NODE) continue;
      if (is_word(n, "t")) {
        for (const xmlNode* t = n->children; t; t = t->next) {
          if ((t->type == XML_TEXT_NODE || t->type == XML_CDATA_SECTION_NODE) && t->content)
            line += reinterpret_cast<const char*>(t->content);
        }
      } else if (is_word(n, "tab") || is_word(n, "ptab")) {
        line += in_cell ? ' ' : '\t';
      } else if (is_word(n, "br") || is_word(n, "cr")) {
        line += in_cell ? ' ' : '\n';
      } else if (is_word(n, "noBreakHyphen")) {
        line += '-';
      } else if (is_word(n, "txbxContent") || is_word(n, "p") || is_word(n, "tbl")) {
        boxes.push_back(n);  // a text box, or block content where runs were expected
      } else if (skipped(n) || is_word(n, "softHyphen") || is_word(n, "sym")) {
        continue;
      } else if (is_mc(n, "AlternateContent")) {
        if (const xmlNode* branch = alternate_branch(n)) inline_content(branch, line, in_cell, boxes);
      } else {
        inline_content(n, line, in_cell, boxes);  // w:r, w:hyperlink, w:ins, w:smartTag, w:fldSimple, ...
      }
    }
  }

  // Rows of a table, looking through content controls and custom XML around rows and cells.
  static void collect(const xmlNode* parent, const char* local, std::vector<const xmlNode*>& out) {
    for (const xmlNode* n = parent->children; n; n = n->next) {
      if (n->type != XML_ELEMENT_NODE) continue;
      if (is_word(n, local)) {
        out.push_back(n);
      } else if (is_word(n, "sdt") || is_word(n, "sdtContent") || is_word(n, "customXml") || is_word(n, "ins") ||
                 is_word(n, "moveTo")) {
        collect(n, local, out);
      }
    }
  }

  static bool row_deleted(const xmlNode* tr) {
    for (const xmlNode* c = tr->children; c; c = c->next)
      if (is_word(c, "trPr") && has_child(c, "del")) return true;
    return false;
  }

  void table(const xmlNode* tbl, bool in_cell) {
    std::vector<const xmlNode*> rows;
    collect(tbl, "tr", rows);
    for (const xmlNode* tr : rows) {
      if (row_deleted(tr)) continue;
      std::vector<const xmlNode*> cells;
      collect(tr, "tc", cells);
      std::string row;
      for (size_t i = 0; i < cells.size(); ++i) {
        BodyText cell;
        cell.blocks(cells[i], true);
        std::string text;
        for (const std::string& l : cell.lines) {
          if (l.empty()) continue;
          if (!text.empty()) text += ' ';
          text += l;
        }
        if (i) row += in_cell ? ' ' : '\t';
        row += text;
      }
      lines.push_back(std::move(row));
    }
  }
};

}  // namespace

Extraction extract_docx(std::string_view bytes) {
  Extraction x;
  if (bytes.empty()) {
    x.error = "empty file (0 bytes), not a DOCX document";
    return x;
  }
  std::string error;
  ZipPtr zip = open_zip(bytes, error);
  if (!zip) {
    x.error = error;
    return x;
  }

  std::string part(kDefaultMainPart);
  std::string rels_xml;
  bool missing = false;
  if (read_entry(zip.get(), "_rels/.rels", rels_xml, error, missing)) {
    std::string named = main_part_from_rels(rels_xml);
    if (!named.empty()) part = named;
  }
  std::string xml;
  if (!read_entry(zip.get(), part, xml, error, missing)) {
    if (missing) {
      zip_int64_t entries = zip_get_num_entries(zip.get(), 0);
      x.error = "not a DOCX document: the zip (" + std::to_string(entries) + (entries == 1 ? " entry" : " entries") +
                ") has no " + part;
      if (part != kDefaultMainPart) x.error += " (the main part its relationships name)";
    } else {
      x.error = "corrupt DOCX: " + error;
    }
    return x;
  }

  XmlDocPtr doc = parse_xml(xml, part, error);
  if (!doc) {
    x.error = "corrupt DOCX: " + error;
    return x;
  }
  xmlNode* root = xmlDocGetRootElement(doc.get());
  if (!root || !is_word(root, "document")) {
    std::string name = root ? reinterpret_cast<const char*>(root->name) : "nothing";
    x.error = "not a Word document: " + part + " holds <" + name + ">, not <w:document>";
    return x;
  }
  BodyText body;
  for (const xmlNode* n = root->children; n; n = n->next)
    if (is_word(n, "body")) body.blocks(n, false);

  for (const std::string& line : body.lines) {
    x.text += line;
    x.text += '\n';
  }
  bool any = false;
  for (char c : x.text)
    if (c != ' ' && c != '\t' && c != '\n') any = true;
  if (!any) {
    x.text.clear();
    x.warnings.push_back("the document has no text");
  }
  if (size_t replaced = clean_extracted_text(x.text)) {
    x.warnings.push_back(std::to_string(replaced) + " control character(s) replaced by U+FFFD");
  }
  return x;
}

}  // namespace ds
