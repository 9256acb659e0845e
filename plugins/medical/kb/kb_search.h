// Searching a KB file: embedding similarity re-ranked with full-text scores, or full-text alone.
//
// Ranking (the why is in plugins/medical/README.md, "Ranking"):
//   text(e)  = max(sub(e), kFtsShare * fts(e) + (1 - kFtsShare) * sub(e)), where fts is the
//              entry's bm25 (title 10, aliases 5, symptoms 2, body 1) divided by the best bm25 of the
//              query, times the share of the query's full-text terms found in the KB at all (0 when
//              full text found nothing, e.g. all terms shorter than 3 characters), and
//              sub the substring score (kb_search.cc) divided by the best one; all in [0, 1];
//   score(e) = kEmbeddingWeight * cos(q, e) + kTextWeight * text(e)   with a query vector of the KB's model,
//   score(e) = text(e)                                               without one;
//   then, with lang auto, entries not in the query's language are multiplied by kOtherLanguageFactor
//   and of a translation pair that both made it only the one in the query's language is kept.
// Candidates: the kEmbeddingCandidates nearest entries by cosine, plus every full-text and
// substring hit (each candidate gets both scores: all vectors are held in memory).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kb_entry.h"
#include "kb_file.h"

namespace ds::medical::kb {

constexpr double kEmbeddingWeight = 0.6;
constexpr double kTextWeight = 0.4;
constexpr double kFtsShare = 0.5;
constexpr double kOtherLanguageFactor = 0.8;
constexpr size_t kEmbeddingCandidates = 50;
constexpr size_t kFtsCandidates = 100;

// Which entries a search prefers: auto (the query's script: any Chinese character means zh, else
// en; other-language entries are down-weighted), zh or en (only that language), any (no preference).
enum class LangMode { kAuto, kZh, kEn, kAny };
std::optional<LangMode> parse_lang_mode(std::string_view text);  // "auto" | "zh" | "en" | "any"

// What to do when the query vector's model is not the KB's (or the KB has no vectors).
enum class OnModelMismatch { kFallBack, kError };

struct QueryVector {
  std::string model_sha256;   // "sha256:<hex>" of the model that made it
  std::vector<float> values;  // L2-normalized, as the model's embedding head outputs it
};

struct SearchOptions {
  size_t top_k = 3;
  LangMode lang = LangMode::kAuto;
  std::optional<QueryVector> query_vector;  // none: full-text only
  OnModelMismatch on_mismatch = OnModelMismatch::kFallBack;
};

struct Hit {
  Entry entry;
  double score = 0;      // the final score (see the formula above)
  double cosine = 0;     // cos(query vector, entry vector); 0 without embeddings
  double fts = 0;        // normalized bm25, [0, 1]
  double substring = 0;  // normalized substring score, [0, 1]
  // How it was found: "embedding+fts", "embedding+substring", "embedding", "fts" or "substring"
  // (fts when both full-text and substring matched).
  std::string method;
};

struct SearchResult {
  std::vector<Hit> hits;  // best first, at most top_k
  bool used_embedding = false;
  std::string lang;                   // the preferred language: "zh", "en" or "any"
  std::vector<std::string> warnings;  // e.g. the query vector's model is not the KB's
};

// A KB file opened read-only. Loads the entries' search fields and the vectors into memory at open.
// Not thread-safe: one instance per thread (the medical.answer stage has one per worker).
class KnowledgeBase {
 public:
  // Throws KbError naming the file if it is missing, not a KB file, or of another schema version.
  explicit KnowledgeBase(const std::filesystem::path& path);
  ~KnowledgeBase();
  KnowledgeBase(const KnowledgeBase&) = delete;
  KnowledgeBase& operator=(const KnowledgeBase&) = delete;

  const KbInfo& info() const { return info_; }

  // Never throws for any query text (FTS5 syntax in it is quoted away). Throws KbError only for
  // a model mismatch with on_mismatch kError, or for a damaged file.
  SearchResult search(std::string_view query, const SearchOptions& options);

  // The stored entry, or nullopt.
  std::optional<Entry> entry(const std::string& id);

 private:
  struct Row {
    int64_t rowid = 0;
    std::string id, lang, translation_of;
    std::string title;                           // search_text (lowercased)
    std::vector<std::string> aliases, symptoms;  // search_text, one per item
    int64_t vector = -1;                         // index into vectors_, or -1
  };
  Entry load(int64_t rowid);

  std::unique_ptr<Db> db_;
  KbInfo info_;
  std::vector<Row> rows_;
  std::unordered_map<int64_t, size_t> by_rowid_;
  std::unordered_map<std::string, size_t> by_id_;
  std::vector<float> vectors_;  // rows of info_.embedding->dim
};

}  // namespace ds::medical::kb
