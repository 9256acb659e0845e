#include "kb_command.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <stdexcept>

#include "kb_build.h"
#include "kb_embedder.h"
#include "kb_paths.h"
#include "kb_search.h"
#include "sinks/json_writer.h"

namespace ds::apps {
namespace {

namespace fs = std::filesystem;
namespace kb = ds::medical::kb;
using Clock = std::chrono::steady_clock;

constexpr int kOk = 0, kError = 1, kUsage = 2;

const char* const kKbHelp = R"(usage: deepseek kb <command> [options]

The medical knowledge base: the project's entries (data/kb/entries/*.yaml) compiled into one
SQLite file with a trigram full-text index and, with --model, one embedding per entry.

commands:
  build                      compile the entries into a KB file
  search QUERY...            look a question up (embedding re-ranked by full text, or full text)
  import medquad DIR --out F add the MedQuAD XML folder's answered pairs to a KB file
  info                       describe a KB file

exit codes: 0 done, 1 error, 2 usage error. 'deepseek kb <command> --help' for options.
)";

const char* const kBuildHelp = R"(usage: deepseek kb build [--entries DIR] [--out FILE] [--model FILE] [options]

Validates the entries (errors name file, line and key) and writes a fresh KB file (into FILE.tmp,
then renamed, so a failed build leaves the old file alone). With --model each entry's passage
(title, aliases and symptoms) is embedded through normalize -> tokenize -> model.encode, and the
model's sha256 is recorded: the KB is then searched only with query vectors of that model.
Without --model the KB has no embeddings and search is full-text only.

options:
  --entries DIR     entry files (default: data/kb/entries of the source tree)
  --out FILE        KB file to write (default: data/kb/medical-kb.sqlite of the source tree, ignored by git)
  --model FILE      model with an embedding head (e.g. data/models/medical-small.safetensors)
  --head NAME       the embedding head (default: embed)
  --tokenizer FILE  SentencePiece model the model was trained with (default: data/models/tokenizer.model)
  --threads N       encoder threads (default 0: all cores)
  --json            print the report as JSON
)";

const char* const kSearchHelp =
    R"(usage: deepseek kb search QUERY... [--kb FILE] [--model FILE] [-k N] [--lang auto|zh|en|any] [--json]

Looks QUERY (the words are joined with spaces) up in a KB file. With --model the query is
embedded and the nearest entries are re-ranked with full-text scores; the model must be the one
the KB was built with (otherwise: a warning and full-text only, or with --strict-model an error).
Without --model: full-text only (FTS5 trigram + bm25, substring fallback for 1-2 character terms
such as 头痛). The ranking formula is in plugins/medical/README.md.

options:
  --kb FILE         KB file (default: data/kb/medical-kb.sqlite)
  --model FILE      model for the query vector (the KB's own model)
  --head NAME       embedding head (default: embed)
  --tokenizer FILE  tokenizer (default: data/models/tokenizer.model)
  -k N              hits to show (default 5)
  --lang L          auto: prefer the query's language (default); zh / en: only that language; any
  --strict-model    a query vector of another model is an error (exit 1), not a warning
  --json            print the hits as JSON
)";

const char* const kImportHelp = R"(usage: deepseek kb import medquad DIR --out FILE [--model FILE] [options]

Imports the MedQuAD XML layout under DIR (collection folders such as 1_CancerGov_QA/ holding one
<Document> per XML file) into FILE: each question-answer pair with a non-empty answer becomes an
entry "medquad:<collection>:<qid>" (title: the question; aliases: the focus and its synonyms;
body: the answer). FILE is created when missing; otherwise entries are added to it (same id:
replaced), in one transaction. Pairs with an empty answer are skipped and counted; a malformed
XML file is reported with its path and skipped, and the import goes on.
If FILE holds embeddings, --model must be that model (the new entries are embedded with it).

options:
  --out FILE        KB file to add to (required)
  --model FILE      embed the imported passages (question + answer) with this model
  --head NAME       embedding head (default: embed)
  --tokenizer FILE  tokenizer (default: data/models/tokenizer.model)
  --threads N       encoder threads (default 0: all cores)
  --json            print the report as JSON
)";

const char* const kInfoHelp = R"(usage: deepseek kb info [--kb FILE] [--json]

Describes a KB file: schema version, entry counts, the embedding model, build metadata.
)";

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Args {
  std::vector<std::string> positional;
  std::optional<std::string> entries, out, model, head, tokenizer, kb, lang;
  int threads = 0;
  int k = 5;
  bool json = false, help = false, strict_model = false;
};

int parse_count(const std::string& flag, const std::string& v, int min) {
  try {
    size_t used = 0;
    const int n = std::stoi(v, &used);
    if (used != v.size() || n < min) throw std::invalid_argument(v);
    return n;
  } catch (const std::exception&) {
    throw UsageError(flag + " expects an integer >= " + std::to_string(min) + ", got '" + v + "'");
  }
}

Args parse(const std::vector<std::string>& words, const std::vector<std::string>& allowed) {
  Args a;
  auto ok = [&](const std::string& flag) {
    for (const std::string& f : allowed)
      if (f == flag) return;
    throw UsageError("unknown option '" + flag + "' (see --help)");
  };
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= words.size()) throw UsageError(w + " needs a value");
      return words[++i];
    };
    if (w == "-h" || w == "--help") {
      a.help = true;
    } else if (w == "--") {
      for (++i; i < words.size(); ++i) a.positional.push_back(words[i]);
    } else if (w.size() > 1 && w[0] == '-') {
      ok(w);
      if (w == "--json")
        a.json = true;
      else if (w == "--strict-model")
        a.strict_model = true;
      else if (w == "--entries")
        a.entries = value();
      else if (w == "--out")
        a.out = value();
      else if (w == "--model")
        a.model = value();
      else if (w == "--head")
        a.head = value();
      else if (w == "--tokenizer")
        a.tokenizer = value();
      else if (w == "--kb")
        a.kb = value();
      else if (w == "--lang")
        a.lang = value();
      else if (w == "--threads")
        a.threads = parse_count(w, value(), 0);
      else if (w == "-k")
        a.k = parse_count(w, value(), 1);
    } else {
      a.positional.push_back(w);
    }
  }
  return a;
}

kb::EmbedSettings embed_settings(const Args& a) {
  kb::EmbedSettings s;
  if (a.model) s.model = fs::path(*a.model);
  if (a.tokenizer) s.tokenizer = *a.tokenizer;
  if (a.head) s.head = *a.head;
  s.threads = a.threads;
  return s;
}

void log_line(const std::string& line) { std::cerr << line << std::endl; }

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

void write_model(JsonWriter& w, const std::optional<kb::EmbeddingModel>& m) {
  if (!m) {
    w.null();
    return;
  }
  w.begin_object();
  w.key("sha256").value(m->sha256);
  w.key("file").value(m->file);
  w.key("head").value(m->head);
  w.key("dim").value(m->dim);
  w.end_object();
}

int cmd_build(const Args& a) {
  if (a.help) return std::cout << kBuildHelp, kOk;
  if (!a.positional.empty()) throw UsageError("build takes no positional arguments (got '" + a.positional[0] + "')");
  kb::BuildOptions o;
  if (a.entries) o.entries_dir = *a.entries;
  if (a.out) o.out = *a.out;
  o.embed = embed_settings(a);
  o.log = log_line;
  const kb::BuildReport r = kb::build_kb(o);
  if (a.json) {
    JsonWriter w;
    w.begin_object();
    w.key("out").value(r.out.string());
    w.key("entries").value(static_cast<uint64_t>(r.entries));
    w.key("zh").value(static_cast<uint64_t>(r.zh));
    w.key("en").value(static_cast<uint64_t>(r.en));
    w.key("embedded").value(static_cast<uint64_t>(r.embedded));
    w.key("model");
    write_model(w, r.model);
    w.key("seconds").value(r.seconds);
    w.key("embed_seconds").value(r.embed_seconds);
    w.key("bytes").value(r.bytes);
    w.end_object();
    std::cout << w.str() << "\n";
    return kOk;
  }
  std::cout << "wrote " << r.out.string() << ": " << r.entries << " entries (" << r.zh << " zh, " << r.en << " en), "
            << r.bytes << " bytes, " << fmt("%.2f", r.seconds) << " s\n";
  if (r.model)
    std::cout << "embeddings: " << r.embedded << " vectors of dim " << r.model->dim << " from " << r.model->file << " ("
              << r.model->sha256 << "), " << fmt("%.2f", r.embed_seconds) << " s\n";
  else
    std::cout << "embeddings: none (no --model): search on this KB is full-text only\n";
  return kOk;
}

void print_hit_text(size_t rank, const kb::Hit& h) {
  const kb::Entry& e = h.entry;
  std::cout << rank << ". " << e.title << "  [" << e.id << ", " << e.lang << "]  score " << fmt("%.3f", h.score) << " ("
            << h.method << ")\n";
  if (!e.department.empty() || !e.usual_urgency.empty())
    std::cout << "   department: " << e.department << "   usual urgency: " << e.usual_urgency << "\n";
  if (!e.self_care.empty()) {
    std::cout << "   self-care:\n";
    for (const std::string& s : e.self_care) std::cout << "     - " << s << "\n";
  }
  if (!e.see_doctor_when.empty()) {
    std::cout << "   see a doctor:\n";
    for (const kb::SeeDoctor& s : e.see_doctor_when) std::cout << "     [" << s.level << "] " << s.when << "\n";
  }
  if (!e.body.empty()) {
    const std::string shown = e.body.size() > 600 ? e.body.substr(0, e.body.rfind(' ', 600)) + " ..." : e.body;
    std::cout << "   answer: " << shown << "\n";
  }
  std::cout << "   source: " << e.source
            << (e.url.empty() || e.source.find(e.url) != std::string::npos ? "" : " " + e.url)
            << "\n   reviewer: " << e.reviewer << "\n";
}

void write_hit_json(JsonWriter& w, const kb::Hit& h) {
  const kb::Entry& e = h.entry;
  auto strings = [&](const char* key, const std::vector<std::string>& v) {
    w.key(key).begin_array();
    for (const std::string& s : v) w.value(s);
    w.end_array();
  };
  w.begin_object();
  w.key("id").value(e.id);
  w.key("kind").value(e.kind);
  w.key("lang").value(e.lang);
  w.key("title").value(e.title);
  w.key("score").value(h.score);
  w.key("method").value(h.method);
  w.key("cosine").value(h.cosine);
  w.key("fts").value(h.fts);
  w.key("substring").value(h.substring);
  if (!e.translation_of.empty()) w.key("translation_of").value(e.translation_of);
  strings("aliases", e.aliases);
  strings("symptoms", e.symptoms);
  strings("self_care", e.self_care);
  w.key("see_doctor_when").begin_array();
  for (const kb::SeeDoctor& s : e.see_doctor_when)
    w.begin_object().key("level").value(s.level).key("when").value(s.when).end_object();
  w.end_array();
  w.key("department").value(e.department);
  w.key("usual_urgency").value(e.usual_urgency);
  strings("red_flags", e.red_flags);
  if (e.kind == "medquad") {
    w.key("answer").value(e.body);
    w.key("qtype").value(e.qtype);
    w.key("url").value(e.url);
  }
  w.key("source").value(e.source);
  w.key("reviewer").value(e.reviewer);
  w.end_object();
}

int cmd_search(const Args& a) {
  if (a.help) return std::cout << kSearchHelp, kOk;
  if (a.positional.empty()) throw UsageError("search needs a QUERY");
  std::string query;
  for (const std::string& p : a.positional) query += (query.empty() ? "" : " ") + p;
  kb::SearchOptions options;
  options.top_k = static_cast<size_t>(a.k);
  if (a.lang) {
    auto lang = kb::parse_lang_mode(*a.lang);
    if (!lang) throw UsageError("--lang expects auto, zh, en or any, got '" + *a.lang + "'");
    options.lang = *lang;
  }
  options.on_mismatch = a.strict_model ? kb::OnModelMismatch::kError : kb::OnModelMismatch::kFallBack;

  const fs::path file = a.kb ? fs::path(*a.kb) : kb::default_kb_file();
  auto t0 = Clock::now();
  kb::KnowledgeBase base(file);
  const double open_ms = ms_since(t0);
  double embed_ms = 0;
  if (a.model) {
    t0 = Clock::now();
    const kb::EmbedSettings s = embed_settings(a);
    kb::Embedder embedder(*s.model, s.tokenizer.empty() ? kb::default_tokenizer() : s.tokenizer, s.head, a.threads);
    options.query_vector = embedder.embed_query(query);
    embed_ms = ms_since(t0);
  }
  t0 = Clock::now();
  const kb::SearchResult r = base.search(query, options);
  const double search_ms = ms_since(t0);
  const kb::KbInfo& info = base.info();

  std::string mode_note;
  if (r.used_embedding)
    mode_note = "embedding re-ranked by full text";
  else if (!a.model)
    mode_note = info.embedding ? "full-text only (no --model given; the KB has vectors of " + info.embedding->file + ")"
                               : "full-text only (the KB has no embeddings and no --model was given)";
  else
    mode_note = "full-text only (see the warning)";
  for (const std::string& w : r.warnings) std::cerr << "deepseek kb: warning: " << w << "\n";

  if (a.json) {
    JsonWriter w;
    w.begin_object();
    w.key("query").value(query);
    w.key("kb").value(info.path);
    w.key("entries").value(info.entries);
    w.key("mode").value(r.used_embedding ? "embedding+text" : "text");
    w.key("mode_note").value(mode_note);
    w.key("lang").value(r.lang);
    w.key("warnings").begin_array();
    for (const std::string& s : r.warnings) w.value(s);
    w.end_array();
    w.key("open_ms").value(open_ms);
    w.key("embed_ms").value(embed_ms);
    w.key("search_ms").value(search_ms);
    w.key("hits").begin_array();
    for (const kb::Hit& h : r.hits) write_hit_json(w, h);
    w.end_array();
    w.end_object();
    std::cout << w.str() << "\n";
    return kOk;
  }
  std::cout << "KB " << info.path << ": " << info.entries << " entries; " << mode_note << "; prefer " << r.lang << "\n";
  if (r.hits.empty()) std::cout << "no entry matches '" << query << "'\n";
  for (size_t i = 0; i < r.hits.size(); ++i) print_hit_text(i + 1, r.hits[i]);
  std::cout << "(" << r.hits.size() << " hits; search " << fmt("%.1f", search_ms) << " ms"
            << (a.model ? ", query embedding " + fmt("%.0f", embed_ms) + " ms" : "") << ", open "
            << fmt("%.1f", open_ms) << " ms)\n";
  return kOk;
}

int cmd_import(const Args& a) {
  if (a.help) return std::cout << kImportHelp, kOk;
  if (a.positional.empty() || a.positional[0] != "medquad")
    throw UsageError("import supports one format: deepseek kb import medquad DIR --out FILE");
  if (a.positional.size() != 2) throw UsageError("import medquad takes exactly one DIR");
  if (!a.out) throw UsageError("import medquad needs --out FILE");
  kb::ImportOptions o;
  o.dir = a.positional[1];
  o.out = *a.out;
  o.embed = embed_settings(a);
  o.log = log_line;
  const kb::ImportReport r = kb::import_medquad(o);
  if (a.json) {
    JsonWriter w;
    w.begin_object();
    w.key("out").value(r.out.string());
    w.key("created").value(r.created);
    w.key("files").value(static_cast<uint64_t>(r.files));
    w.key("imported").value(static_cast<uint64_t>(r.imported));
    w.key("skipped_empty_answer").value(static_cast<uint64_t>(r.empty_answers));
    w.key("skipped_duplicate").value(static_cast<uint64_t>(r.duplicates));
    w.key("embedded").value(static_cast<uint64_t>(r.embedded));
    w.key("bad_files").begin_array();
    for (const std::string& b : r.bad_files) w.value(b);
    w.end_array();
    w.key("seconds").value(r.seconds);
    w.key("bytes").value(r.bytes);
    w.end_object();
    std::cout << w.str() << "\n";
    return kOk;
  }
  std::cout << (r.created ? "created " : "added to ") << r.out.string() << ": " << r.imported << " pairs imported from "
            << r.files << " files; skipped " << r.empty_answers << " with an empty answer, " << r.duplicates
            << " duplicate ids; " << r.bad_files.size() << " bad files; " << r.embedded << " embedded; " << r.bytes
            << " bytes; " << fmt("%.1f", r.seconds) << " s\n";
  for (const std::string& b : r.bad_files) std::cout << "  bad file: " << b << "\n";
  return kOk;
}

int cmd_info(const Args& a) {
  if (a.help) return std::cout << kInfoHelp, kOk;
  kb::KnowledgeBase base(a.kb ? fs::path(*a.kb) : kb::default_kb_file());
  const kb::KbInfo& i = base.info();
  if (a.json) {
    JsonWriter w;
    w.begin_object();
    w.key("kb").value(i.path);
    w.key("schema_version").value(i.schema_version);
    w.key("entries").value(i.entries);
    w.key("ours").value(i.ours);
    w.key("imported").value(i.imported);
    w.key("embedded").value(i.embedded);
    w.key("model");
    write_model(w, i.embedding);
    w.key("meta").begin_object();
    for (const auto& [k, v] : i.meta) w.key(k).value(v);
    w.end_object();
    w.end_object();
    std::cout << w.str() << "\n";
    return kOk;
  }
  std::cout << i.path << ": KB schema " << i.schema_version << ", " << i.entries << " entries (" << i.ours << " ours, "
            << i.imported << " imported)\n";
  if (i.embedding)
    std::cout << "embeddings: " << i.embedded << " vectors, dim " << i.embedding->dim << ", head '" << i.embedding->head
              << "' of " << i.embedding->file << " (" << i.embedding->sha256 << ")\n";
  else
    std::cout << "embeddings: none (full-text search only)\n";
  for (const auto& [k, v] : i.meta)
    if (k.rfind("embed_", 0) != 0) std::cout << k << ": " << v << "\n";
  return kOk;
}

}  // namespace

const char* const kKbHelpLine =
    "  kb build|search|import|info\n"
    "                            the medical knowledge base: compile data/kb, search it, import MedQuAD";

int run_kb_command(const std::vector<std::string>& args) {
  try {
    if (args.empty()) {
      std::cerr << kKbHelp;
      return kUsage;
    }
    const std::string& cmd = args[0];
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    const std::vector<std::string> embed_flags = {"--model", "--head", "--tokenizer", "--json"};
    auto with = [&](std::vector<std::string> extra) {
      extra.insert(extra.end(), embed_flags.begin(), embed_flags.end());
      return extra;
    };
    if (cmd == "-h" || cmd == "--help" || cmd == "help") return std::cout << kKbHelp, kOk;
    if (cmd == "build") return cmd_build(parse(rest, with({"--entries", "--out", "--threads"})));
    if (cmd == "search") return cmd_search(parse(rest, with({"--kb", "-k", "--lang", "--strict-model", "--threads"})));
    if (cmd == "import") return cmd_import(parse(rest, with({"--out", "--threads"})));
    if (cmd == "info") return cmd_info(parse(rest, {"--kb", "--json"}));
    throw UsageError("unknown kb command '" + cmd + "' (build, search, import, info)");
  } catch (const UsageError& e) {
    std::cerr << "deepseek kb: " << e.what() << "\n";
    return kUsage;
  } catch (const std::exception& e) {
    std::cerr << "deepseek kb: error: " << e.what() << "\n";
    return kError;
  }
}

}  // namespace ds::apps
