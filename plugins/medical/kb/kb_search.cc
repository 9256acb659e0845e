#include "kb_search.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>

#include "kb_query.h"
#include "kb_sqlite.h"

namespace ds::medical::kb {
namespace {

// Field weights of the substring score and of bm25: a hit in the title says most about the topic,
// then an alias (what people type), then a symptom line, then an imported answer's body.
constexpr double kSubTitle = 1.0, kSubAlias = 0.9, kSubSymptom = 0.5;
constexpr const char* kBm25 = "bm25(entries_fts, 10.0, 5.0, 2.0, 1.0)";

bool is_ascii_alnum(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// How well `term` matches inside `item`: 0 if absent, else 0.5 + 0.5 * (share of the item it
// covers), so an exact match scores 1 and a term inside a long line about 0.5. ASCII terms must
// start a word ("ear" does not match inside "heart").
double coverage(const std::string& item, const std::string& term, size_t term_chars) {
  const bool ascii = is_ascii_alnum(term[0]);
  for (size_t pos = item.find(term); pos != std::string::npos; pos = item.find(term, pos + 1)) {
    if (ascii && pos > 0 && is_ascii_alnum(item[pos - 1])) continue;
    const size_t item_chars = std::max<size_t>(utf8_length(item), 1);
    return 0.5 + 0.5 * std::min(1.0, double(term_chars) / double(item_chars));
  }
  return 0.0;
}

}  // namespace

std::optional<LangMode> parse_lang_mode(std::string_view t) {
  if (t == "auto") return LangMode::kAuto;
  if (t == "zh") return LangMode::kZh;
  if (t == "en") return LangMode::kEn;
  if (t == "any") return LangMode::kAny;
  return std::nullopt;
}

KnowledgeBase::KnowledgeBase(const std::filesystem::path& path) : db_(open_kb_read_only(path)) {
  info_ = read_info(*db_);
  Stmt s(*db_, "SELECT rowid, id, lang, translation_of, title, aliases, symptoms FROM entries ORDER BY rowid",
         "load entries");
  while (s.step()) {
    Row r;
    r.rowid = s.column_int(0);
    r.id = s.column_text(1);
    r.lang = s.column_text(2);
    r.translation_of = s.column_text(3);
    r.title = search_text(s.column_text(4));
    for (const auto& a : nlohmann::json::parse(s.column_text(5)))
      r.aliases.push_back(search_text(a.get<std::string>()));
    for (const auto& a : nlohmann::json::parse(s.column_text(6)))
      r.symptoms.push_back(search_text(a.get<std::string>()));
    by_rowid_[r.rowid] = rows_.size();
    by_id_[r.id] = rows_.size();
    rows_.push_back(std::move(r));
  }
  if (info_.embedding) {
    const size_t dim = static_cast<size_t>(info_.embedding->dim);
    Stmt v(*db_, "SELECT entry_id, vector FROM embeddings WHERE model_sha256 = ? AND dim = ?", "load vectors");
    v.bind(1, info_.embedding->sha256).bind(2, static_cast<int64_t>(dim));
    while (v.step()) {
      auto it = by_id_.find(v.column_text(0));
      const auto blob = v.column_blob(1);
      if (it == by_id_.end() || blob.size() != dim * sizeof(float)) continue;
      rows_[it->second].vector = static_cast<int64_t>(vectors_.size() / dim);
      const size_t at = vectors_.size();
      vectors_.resize(at + dim);
      std::memcpy(vectors_.data() + at, blob.data(), blob.size());
    }
  }
}

KnowledgeBase::~KnowledgeBase() = default;

Entry KnowledgeBase::load(int64_t rowid) {
  Stmt s(*db_, "SELECT " + std::string(kEntryColumns) + " FROM entries WHERE rowid = ?", "load entry");
  s.bind(1, rowid);
  if (!s.step()) throw KbError("[medical.kb] " + db_->path() + ": entry row " + std::to_string(rowid) + " vanished");
  return entry_from_row(s);
}

std::optional<Entry> KnowledgeBase::entry(const std::string& id) {
  Stmt s(*db_, "SELECT " + std::string(kEntryColumns) + " FROM entries WHERE id = ?", "load entry");
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return entry_from_row(s);
}

SearchResult KnowledgeBase::search(std::string_view query, const SearchOptions& options) {
  SearchResult result;
  const QueryTerms terms = analyze_query(query);
  const std::string preferred = options.lang == LangMode::kZh    ? "zh"
                                : options.lang == LangMode::kEn  ? "en"
                                : options.lang == LangMode::kAny ? ""
                                : terms.has_cjk                  ? "zh"
                                                                 : "en";
  result.lang = preferred.empty() ? "any" : preferred;
  const bool filter = options.lang == LangMode::kZh || options.lang == LangMode::kEn;
  auto allowed = [&](const Row& r) { return !filter || r.lang == preferred; };

  struct Candidate {
    double cosine = 0, fts = 0, sub = 0;
    bool by_embedding = false;
  };
  std::map<size_t, Candidate> cands;  // row index -> scores

  // (a) Embedding: only with a vector of the KB's own model.
  const float* q = nullptr;
  if (options.query_vector) {
    const QueryVector& qv = *options.query_vector;
    std::string problem;
    if (!info_.embedding)
      problem = "the KB " + info_.path + " has no embeddings (built without --model)";
    else if (qv.model_sha256 != info_.embedding->sha256)
      problem = "the query vector comes from model " + qv.model_sha256 + ", but the KB's embeddings come from " +
                info_.embedding->sha256 + " (" + info_.embedding->file +
                "); vectors of different models are not comparable";
    else if (static_cast<int>(qv.values.size()) != info_.embedding->dim)
      problem = "the query vector has " + std::to_string(qv.values.size()) + " values, the KB's embeddings " +
                std::to_string(info_.embedding->dim);
    if (!problem.empty()) {
      if (options.on_mismatch == OnModelMismatch::kError) throw KbError("[medical.kb] " + problem);
      result.warnings.push_back(problem + ": searching full-text only");
    } else {
      q = qv.values.data();
      result.used_embedding = true;
    }
  }
  std::vector<double> cosine(rows_.size(), 0.0);
  if (q) {
    const size_t dim = static_cast<size_t>(info_.embedding->dim);
    std::vector<std::pair<double, size_t>> order;
    for (size_t i = 0; i < rows_.size(); ++i) {
      if (rows_[i].vector < 0 || !allowed(rows_[i])) continue;
      const float* v = vectors_.data() + static_cast<size_t>(rows_[i].vector) * dim;
      double dot = 0;
      for (size_t k = 0; k < dim; ++k) dot += double(q[k]) * double(v[k]);
      cosine[i] = dot;  // both sides are L2-normalized
      order.emplace_back(dot, i);
    }
    const size_t n = std::min(order.size(), kEmbeddingCandidates);
    std::partial_sort(
        order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n), order.end(),
        [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
    for (size_t k = 0; k < n; ++k) cands[order[k].second].by_embedding = true;
  }

  // (b) Full text: trigram MATCH, bm25. `coverage` is the share of the query's full-text terms
  // (by length) that occur in the KB at all: when only a filler trigram of a Chinese sentence
  // matches (我头痛得厉害: just 得厉害), the best bm25 hit is a weak one, and dividing by it alone
  // would make it look perfect.
  double best_fts = 0, fts_coverage = 0;
  if (const std::string match = fts_match_expression(terms.fts); !match.empty()) {
    Stmt any(*db_, "SELECT 1 FROM entries_fts WHERE entries_fts MATCH ?1 LIMIT 1", "full-text term");
    double found = 0, total = 0;
    for (const std::string& t : terms.fts) {
      any.bind(1, fts_match_expression({t}));
      if (any.step()) found += double(t.size());
      any.reset();
      total += double(t.size());
    }
    fts_coverage = total > 0 ? found / total : 0.0;
    Stmt s(*db_,
           "SELECT f.rowid, " + std::string(kBm25) +
               " AS rank FROM entries_fts f JOIN entries e ON e.rowid = f.rowid "
               "WHERE entries_fts MATCH ?1 AND (?2 = '' OR e.lang = ?2) ORDER BY rank LIMIT ?3",
           "full-text search");
    s.bind(1, match).bind(2, filter ? preferred : std::string()).bind(3, static_cast<int64_t>(kFtsCandidates));
    while (s.step()) {
      auto it = by_rowid_.find(s.column_int(0));
      if (it == by_rowid_.end()) continue;
      const double v = -s.column_double(1);  // bm25() is negative, lower is better
      cands[it->second].fts = v;
      best_fts = std::max(best_fts, v);
    }
  }

  // (c) Substring: the short terms (which the trigram index cannot match) and every word. It
  // also says how much of a title or alias the query covers, which bm25 does not.
  std::vector<std::string> sub_terms = terms.substring;
  for (const std::string& w : terms.words)
    if (std::find(sub_terms.begin(), sub_terms.end(), w) == sub_terms.end()) sub_terms.push_back(w);
  double best_sub = 0;
  if (!sub_terms.empty()) {
    // A term weighs its UTF-8 byte length: a Chinese character (3 bytes) says about as much as
    // three Latin letters, so 头痛 (6) and "headache" (8) count alike in a mixed query.
    std::vector<size_t> lengths;
    double total = 0;
    for (const std::string& t : sub_terms) {
      lengths.push_back(utf8_length(t));
      total += double(t.size());
    }
    for (size_t i = 0; i < rows_.size(); ++i) {
      const Row& r = rows_[i];
      if (!allowed(r)) continue;
      double sum = 0;
      for (size_t k = 0; k < sub_terms.size(); ++k) {
        double best = kSubTitle * coverage(r.title, sub_terms[k], lengths[k]);
        for (const std::string& a : r.aliases) best = std::max(best, kSubAlias * coverage(a, sub_terms[k], lengths[k]));
        for (const std::string& a : r.symptoms)
          best = std::max(best, kSubSymptom * coverage(a, sub_terms[k], lengths[k]));
        sum += double(sub_terms[k].size()) * best;
      }
      if (sum <= 0) continue;
      const double v = sum / total;
      cands[i].sub = v;
      best_sub = std::max(best_sub, v);
    }
  }

  // Combine.
  std::vector<Hit> hits;
  std::vector<size_t> hit_rows;
  for (auto& [i, c] : cands) {
    const double fts = best_fts > 0 ? fts_coverage * c.fts / best_fts : 0.0;
    const double sub = best_sub > 0 ? c.sub / best_sub : 0.0;
    const double text = std::max(sub, kFtsShare * fts + (1 - kFtsShare) * sub);
    double score = q ? kEmbeddingWeight * cosine[i] + kTextWeight * text : text;
    if (!q && text <= 0) continue;
    if (!preferred.empty() && !filter && rows_[i].lang != preferred) score *= kOtherLanguageFactor;
    Hit h;
    h.score = score;
    h.cosine = q ? cosine[i] : 0.0;
    h.fts = fts;
    h.substring = sub;
    const char* lexical = fts > 0 ? "fts" : sub > 0 ? "substring" : "";
    h.method = q ? (*lexical ? std::string("embedding+") + lexical : std::string("embedding")) : std::string(lexical);
    hits.push_back(std::move(h));
    hit_rows.push_back(i);
  }
  std::vector<size_t> order(hits.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (hits[a].score != hits[b].score) return hits[a].score > hits[b].score;
    return rows_[hit_rows[a]].rowid < rows_[hit_rows[b]].rowid;
  });

  // Of a translation pair keep the preferred language's entry (auto mode), then the top k.
  std::vector<std::string> kept_ids;
  for (size_t k : order) {
    if (result.hits.size() >= options.top_k) break;
    const Row& r = rows_[hit_rows[k]];
    if (options.lang == LangMode::kAuto) {
      bool partner_wins = false;
      for (size_t m : order) {
        const Row& o = rows_[hit_rows[m]];
        const bool pair = (!r.translation_of.empty() && o.id == r.translation_of) ||
                          (!o.translation_of.empty() && o.translation_of == r.id);
        if (pair && r.lang != preferred && o.lang == preferred) partner_wins = true;
      }
      if (partner_wins) continue;
    }
    Hit h = std::move(hits[k]);
    h.entry = load(r.rowid);
    result.hits.push_back(std::move(h));
  }
  return result;
}

}  // namespace ds::medical::kb
