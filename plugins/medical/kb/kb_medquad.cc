#include "kb_medquad.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <algorithm>
#include <initializer_list>
#include <memory>

namespace ds::medical::kb {
namespace {

namespace fs = std::filesystem;

// A few files (e.g. 6_NINDS_QA/0000007.xml) use an older layout: <doc docid corpus url>,
// <doctitle-focus>, <qaPairs><pair><question><answer>; 9_CDC_QA/0000397.xml has the root
// <DiseaseFile fid source url>. Each name below lists every spelling.
using Names = std::initializer_list<const char*>;

bool is(const xmlNode* n, Names names) {
  if (n->type != XML_ELEMENT_NODE) return false;
  for (const char* name : names)
    if (xmlStrcmp(n->name, reinterpret_cast<const xmlChar*>(name)) == 0) return true;
  return false;
}

const xmlNode* child(const xmlNode* n, Names names) {
  for (const xmlNode* c = n ? n->children : nullptr; c; c = c->next)
    if (is(c, names)) return c;
  return nullptr;
}

std::string attribute(const xmlNode* n, Names names) {
  for (const char* name : names) {
    xmlChar* v = xmlGetProp(n, reinterpret_cast<const xmlChar*>(name));
    std::string out = v ? reinterpret_cast<const char*>(v) : "";
    xmlFree(v);
    if (!out.empty()) return out;
  }
  return "";
}

constexpr Names kFocus = {"Focus", "doctitle-focus"}, kPairs = {"QAPairs", "qaPairs"}, kPair = {"QAPair", "pair"},
                kQuestion = {"Question", "question"}, kAnswer = {"Answer", "answer"};

// The element's text with each line trimmed and runs of spaces, tabs and blank lines collapsed
// (the files indent their answers heavily); paragraphs stay on their own lines.
std::string text_of(const xmlNode* n) {
  if (!n) return "";
  xmlChar* raw = xmlNodeGetContent(n);
  std::string in = raw ? reinterpret_cast<const char*>(raw) : "";
  xmlFree(raw);
  std::string out, line;
  auto end_line = [&] {
    while (!line.empty() && line.back() == ' ') line.pop_back();
    if (!line.empty()) out += (out.empty() ? "" : "\n") + line;
    line.clear();
  };
  for (char c : in) {
    if (c == '\n' || c == '\r') {
      end_line();
    } else if (c == ' ' || c == '\t') {
      if (!line.empty() && line.back() != ' ') line += ' ';
    } else {
      line += c;
    }
  }
  end_line();
  return out;
}

}  // namespace

std::vector<fs::path> medquad_files(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw KbError("[medical.kb] " + dir.string() + ": not a folder (the unpacked MedQuAD layout)");
  std::vector<fs::path> files;
  for (auto it = fs::recursive_directory_iterator(
           dir, fs::directory_options::skip_permission_denied | fs::directory_options::follow_directory_symlink, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (it->is_regular_file(ec) && it->path().extension() == ".xml") files.push_back(it->path());
  }
  if (ec) throw KbError("[medical.kb] " + dir.string() + ": cannot list: " + ec.message());
  if (files.empty())
    throw KbError("[medical.kb] " + dir.string() + ": no .xml files (expected the unpacked MedQuAD layout)");
  std::sort(files.begin(), files.end());
  return files;
}

MedquadFile parse_medquad_file(const fs::path& path, const std::string& relative) {
  std::unique_ptr<xmlParserCtxt, decltype(&xmlFreeParserCtxt)> ctxt(xmlNewParserCtxt(), xmlFreeParserCtxt);
  if (!ctxt) throw KbError("[medical.kb] " + path.string() + ": cannot create an XML parser");
  // No network, no entity expansion, no messages on stderr: the error comes back through the context.
  std::unique_ptr<xmlDoc, decltype(&xmlFreeDoc)> doc(
      xmlCtxtReadFile(ctxt.get(), path.c_str(), nullptr, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING),
      xmlFreeDoc);
  if (!doc || !ctxt->wellFormed) {
    const xmlError* err = xmlCtxtGetLastError(ctxt.get());
    std::string msg = err && err->message ? err->message : "not well-formed XML";
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    throw KbError("[medical.kb] " + path.string() + (err && err->line > 0 ? ":" + std::to_string(err->line) : "") +
                  ": " + msg);
  }
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  // The root is <Document> in most files, <doc> or <DiseaseFile> in a few: what counts is the pairs.
  if (!root || !child(root, kPairs))
    throw KbError("[medical.kb] " + path.string() + ": no <QAPairs> under the root element (not a MedQuAD document)");

  const std::string collection = fs::path(relative).has_parent_path()
                                     ? fs::path(relative).parent_path().filename().string()
                                     : std::string("medquad");
  const std::string source_name = attribute(root, {"source", "corpus"});
  const std::string url = attribute(root, {"url"});
  std::vector<std::string> aliases;
  if (std::string focus = text_of(child(root, kFocus)); !focus.empty()) aliases.push_back(focus);
  for (const xmlNode* s = child(child(child(root, {"FocusAnnotations"}), {"Synonyms"}), {"Synonym"}); s; s = s->next)
    if (is(s, {"Synonym"}))
      if (std::string syn = text_of(s); !syn.empty() && std::find(aliases.begin(), aliases.end(), syn) == aliases.end())
        aliases.push_back(syn);

  MedquadFile out;
  for (const xmlNode* pair = child(child(root, kPairs), kPair); pair; pair = pair->next) {
    if (!is(pair, kPair)) continue;
    const xmlNode* q = child(pair, kQuestion);
    Entry e;
    e.kind = "medquad";
    e.lang = "en";
    e.title = text_of(q);
    e.body = text_of(child(pair, kAnswer));
    if (e.body.empty() || e.title.empty()) {
      ++out.empty_answers;
      continue;
    }
    std::string qid = q ? attribute(q, {"qid"}) : "";
    if (qid.empty()) qid = attribute(root, {"id", "docid", "fid"}) + "-" + attribute(pair, {"pid"});
    e.id = "medquad:" + collection + ":" + qid;
    e.qtype = q ? attribute(q, {"qtype"}) : "";
    e.aliases = aliases;
    e.url = url;
    e.source = "MedQuAD (CC BY 4.0, Ben Abacha & Demner-Fushman 2019)" +
               (source_name.empty() ? std::string() : ", " + source_name) + (url.empty() ? std::string() : ": " + url);
    e.reviewer = "unreviewed (imported)";
    e.origin = relative;
    out.entries.push_back(std::move(e));
  }
  return out;
}

}  // namespace ds::medical::kb
