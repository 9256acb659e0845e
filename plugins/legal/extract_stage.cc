#include "extract_stage.h"

#include <algorithm>
#include <stdexcept>

#include "clause_assembly.h"

namespace ds::legal {
namespace {

namespace text = ds::sdk::text;

// Share of CJK ideographs among letters and ideographs: above 0.3 the document is Chinese.
bool looks_chinese(std::string_view s) {
  size_t cjk = 0, latin = 0;
  for (size_t i = 0; i < s.size(); i = text::utf8_next(s, i)) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      latin += text::is_ascii_alpha(static_cast<char>(c));
    } else if (c >= 0xE4 && c <= 0xE9) {  // U+4000..U+9FFF: the CJK unified ideographs block
      ++cjk;
    }
  }
  return cjk + latin > 0 && double(cjk) / double(cjk + latin / 4 + 1) > 0.3;
}

// The span trimmed of surrounding whitespace (tokens carry SentencePiece's leading space).
std::pair<size_t, size_t> trimmed(std::string_view normalized, size_t begin, size_t end) {
  std::string_view s = normalized.substr(begin, end - begin);
  std::string_view t = text::trim(s);
  if (t.empty()) return {begin, begin};
  const size_t b = begin + static_cast<size_t>(t.data() - s.data());
  return {b, b + t.size()};
}

// Per segment: does a token start inside it? The model.encode stage gives segment s the tokens
// [first token starting at or after its begin, first starting at or after its end).
std::vector<bool> segments_with_tokens(const ds::sdk::DocumentView& doc,
                                       const std::vector<ds::sdk::SegmentView>& segs) {
  const size_t T = doc.token_count();
  auto first_at_or_after = [&](size_t byte) {
    size_t lo = 0, hi = T;
    while (lo < hi) {
      const size_t mid = (lo + hi) / 2;
      if (doc.token(mid).begin < byte) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  std::vector<bool> out(segs.size());
  for (size_t s = 0; s < segs.size(); ++s) out[s] = first_at_or_after(segs[s].begin) < first_at_or_after(segs[s].end);
  return out;
}

const char* entity_label(std::string_view type) {
  if (type == "PARTY") return "party";
  if (type == "DATE") return "date";
  if (type == "AMOUNT") return "amount";
  if (type == "DURATION") return "duration";
  return nullptr;
}

}  // namespace

ds::sdk::StageInfo ExtractStage::spec() {
  return {"extract",
          "clauses (unified taxonomy + CUAD) and party/date/amount/duration entities from the legal model",
          {ds::sdk::option_float("min_confidence", 0.5, "drop items below this calibrated confidence (0: keep all)",
                                 0.0, 1.0),
           ds::sdk::option_float("join", 0.5, "neighbouring segments at or above this probability form one clause",
                                 0.0, 1.0),
           ds::sdk::option_strings("categories", {}, "keep only these taxonomy ids or CUAD names (empty: all)"),
           ds::sdk::option_enum("language", "auto", {"auto", "zh", "en"}, "document language (auto: by script)"),
           ds::sdk::option_path("calibration", "", "calibration JSON shipped with the model (empty: raw sigmoid)")},
          DS_FIELD_NORMALIZED | DS_FIELD_SEGMENTS | DS_FIELD_TOKENS | DS_FIELD_OUTPUTS,
          DS_FIELD_ANNOTATIONS};
}

ExtractStage::ExtractStage(const ds::sdk::Config& config)
    : min_confidence_(config.get_float("min_confidence")),
      join_(config.get_float("join")),
      categories_(config.get_strings("categories")),
      language_(config.get_string("language")),
      taxonomy_(Taxonomy::builtin()) {
  if (!config.get_string("calibration").empty()) calibration_ = Calibration::load(config.get_string("calibration"));
  for (const std::string& c : categories_)
    if (!taxonomy_.find(c) && taxonomy_.id_of_cuad(c).empty())
      throw std::invalid_argument("[legal.extract] categories: '" + c +
                                  "' is neither a taxonomy id (plugins/legal/taxonomy.tsv) nor a CUAD category");
}

bool ExtractStage::wanted(const Row& row) const {
  if (row.confidence < min_confidence_) return false;
  if (categories_.empty()) return true;
  return std::find(categories_.begin(), categories_.end(), row.category) != categories_.end() ||
         (!row.cuad.empty() && std::find(categories_.begin(), categories_.end(), row.cuad) != categories_.end());
}

std::vector<ExtractStage::Row> ExtractStage::clause_rows(std::string_view normalized, const ds::sdk::TensorView& t,
                                                         const std::vector<ds::sdk::SegmentView>& segs,
                                                         const std::vector<bool>& has_tokens,
                                                         const std::string& head, bool is_cuad, bool chinese) const {
  const size_t S = segs.size();
  if (t.shape.size() != 2 || static_cast<size_t>(t.shape[0]) != S || static_cast<size_t>(t.shape[1]) != t.labels.size())
    throw std::runtime_error("[legal.extract] tensor '" + head + "' must be [segments=" + std::to_string(S) +
                             ", labels] with its labels named (a legal model from data/models)");
  const size_t C = t.labels.size();
  std::vector<Row> rows;
  std::vector<double> probs(S);
  for (size_t j = 0; j < C; ++j) {
    const std::string label(t.labels[j]);
    const std::string category = is_cuad ? std::string(taxonomy_.id_of_cuad(label)) : label;
    if (category.empty() || !taxonomy_.find(category)) continue;  // a label this plug-in does not know
    // A segment no token starts in gets a zero row from the model (SPEC section 5): no evidence.
    for (size_t s = 0; s < S; ++s)
      probs[s] = has_tokens[s] ? calibration_.probability(head, label, t.data[s * C + j]) : 0.0;
    // Even at min_confidence 0, a segment without evidence (probability 0) is no candidate.
    for (const SegmentRun& run : assemble_runs(probs, join_, std::max(min_confidence_, 1e-9))) {
      auto [b, e] = trimmed(normalized, segs[run.first].begin, segs[run.last].end);
      if (b == e) continue;
      Row row{category, is_cuad ? label : (chinese ? std::string(taxonomy_.sole_cuad(category)) : std::string()),
              head, std::string(segs[run.first].number), b, e, run.first, run.last, run.confidence};
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

void ExtractStage::process(ds::sdk::DocumentView& doc, ds::sdk::Output& out) {
  const std::string_view normalized = doc.normalized();
  const std::vector<ds::sdk::SegmentView> segs = doc.segments();
  auto clauses = doc.tensor("clauses");
  if (!clauses)
    throw std::runtime_error("[legal.extract] the document has no 'clauses' model output: run model.encode with the "
                             "legal model (data/models/legal-small.safetensors) before legal.extract");
  const bool chinese = language_ == "zh" || (language_ == "auto" && looks_chinese(normalized));
  const std::vector<bool> has_tokens = segments_with_tokens(doc, segs);

  std::vector<Row> rows;
  if (!chinese) {
    if (auto cuad = doc.tensor("cuad")) rows = clause_rows(normalized, *cuad, segs, has_tokens, "cuad", true, false);
  }
  const size_t cuad_rows = rows.size();
  for (Row& r : clause_rows(normalized, *clauses, segs, has_tokens, "clauses", false, chinese)) {
    // A CUAD row already covers this clause: keep the one row, with its CUAD name.
    bool covered = false;
    for (size_t i = 0; i < cuad_rows && !covered; ++i)
      covered = rows[i].category == r.category && span_jaccard(rows[i].begin, rows[i].end, r.begin, r.end) >= 0.5;
    if (!covered) rows.push_back(std::move(r));
  }

  for (const Row& r : rows) {
    if (!wanted(r)) continue;
    const TaxonomyCategory* c = taxonomy_.find(r.category);
    ds::sdk::Attributes attrs{{"kind", "clause"},
                              {"label", c->label},
                              {"label_zh", c->label_zh},
                              {"head", r.head},
                              {"segments", std::to_string(r.first_segment) + "-" + std::to_string(r.last_segment)},
                              {"method", "model"}};
    if (!r.cuad.empty()) attrs.emplace_back("cuad", r.cuad);
    if (!r.number.empty()) attrs.emplace_back("number", r.number);
    out.add(r.category, r.begin, r.end, r.confidence, attrs);
  }

  auto tags = doc.tensor("tags");
  if (!tags) return;
  const size_t T = doc.token_count();
  std::vector<std::string_view> labels(tags->labels.begin(), tags->labels.end());
  if (tags->shape.size() != 2 || static_cast<size_t>(tags->shape[0]) != T)
    throw std::runtime_error("[legal.extract] tensor 'tags' must be [tokens=" + std::to_string(T) + ", labels]");
  for (const TaggedEntity& e : decode_bio(tags->data, T, labels)) {
    const char* label = entity_label(e.type);
    if (!label || e.confidence < min_confidence_) continue;
    auto [b, end] = trimmed(normalized, doc.token(e.first).begin, doc.token(e.last).end);
    if (b == end) continue;
    Row probe{std::string(label) == "party" ? "parties" : "", std::string(label) == "party" && !chinese ? "Parties" : "",
              "tags", "", b, end, 0, 0, e.confidence};
    if (!categories_.empty() && (probe.category.empty() || !wanted(probe))) continue;
    ds::sdk::Attributes attrs{{"kind", "entity"}, {"method", "model"}, {"head", "tags"}};
    if (!probe.category.empty()) attrs.emplace_back("category", probe.category);
    if (!probe.cuad.empty()) attrs.emplace_back("cuad", probe.cuad);
    out.add(label, b, end, e.confidence, attrs);
  }
}

}  // namespace ds::legal
