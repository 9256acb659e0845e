#include "cli/legal_eval.h"

#include <zlib.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <string_view>

namespace ds::eval {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Reads a whole file, gunzipping it when it is gzip data (zlib passes other files through as is).
std::string read_maybe_gzip(const fs::path& file) {
  std::error_code ec;
  if (fs::is_directory(file, ec)) throw EvalInputError(file.string(), 0, "is a folder, not a JSONL file");
  gzFile gz = gzopen(file.c_str(), "rb");
  if (!gz) throw EvalInputError(file.string(), 0, std::string("cannot open: ") + std::strerror(errno));
  std::string out;
  char buf[1 << 16];
  for (;;) {
    int n = gzread(gz, buf, sizeof buf);
    if (n < 0) {
      int code = 0;
      std::string why = gzerror(gz, &code);
      if (code == Z_ERRNO) why = std::strerror(errno);
      gzclose(gz);
      throw EvalInputError(file.string(), 0, "cannot read: " + why);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  // gzread stops quietly at a truncated member; gzclose_r reports it as Z_BUF_ERROR.
  if (gzclose(gz) == Z_BUF_ERROR) throw EvalInputError(file.string(), 0, "truncated gzip data");
  return out;
}

// Calls fn(line_number, line) for each non-blank line (1-based numbers, '\r' stripped).
template <typename Fn>
void for_each_line(const std::string& text, Fn&& fn) {
  size_t pos = 0, number = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    ++number;
    std::string_view line(text.data() + pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") != std::string_view::npos) fn(number, line);
    pos = end + 1;
  }
}

json parse_row(const std::string& file, size_t line, std::string_view text) {
  json row;
  try {
    row = json::parse(text);
  } catch (const json::parse_error& e) {
    throw EvalInputError(file, line, "invalid JSON at byte " + std::to_string(e.byte) + " of the line");
  }
  if (!row.is_object()) throw EvalInputError(file, line, "a row must be a JSON object");
  return row;
}

int64_t integer_member(const json& obj, const char* name, const std::string& file, size_t line,
                       const std::string& where) {
  auto it = obj.find(name);
  if (it == obj.end()) throw EvalInputError(file, line, where + "missing \"" + name + "\"");
  if (!it->is_number_integer()) throw EvalInputError(file, line, where + "\"" + name + "\" must be an integer");
  return it->get<int64_t>();
}

std::string string_member(const json& obj, const char* name, const std::string& file, size_t line, bool required) {
  auto it = obj.find(name);
  if (it == obj.end() || (!required && it->is_null())) {
    if (required) throw EvalInputError(file, line, std::string("missing \"") + name + "\"");
    return "";
  }
  if (!it->is_string()) throw EvalInputError(file, line, std::string("\"") + name + "\" must be a string");
  return it->get<std::string>();
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Removes the last ".ext" of a file name, unless the name is only a dot-file name.
std::string strip_extension(const std::string& name) {
  size_t dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0) return name;
  return name.substr(0, dot);
}

struct RankedList {
  std::vector<Ranked> items;
  int64_t gold = 0;
};

// Groups of equal confidence, best first: calls fn(tp_so_far, predicted_so_far) after each group.
template <typename Fn>
void sweep(std::vector<Ranked>& ranking, Fn&& fn) {
  std::stable_sort(ranking.begin(), ranking.end(),
                   [](const Ranked& a, const Ranked& b) { return a.confidence > b.confidence; });
  int64_t tp = 0, n = 0;
  for (size_t i = 0; i < ranking.size();) {
    size_t j = i;
    while (j < ranking.size() && ranking[j].confidence == ranking[i].confidence) {
      tp += ranking[j].hit ? 1 : 0;
      ++n;
      ++j;
    }
    fn(tp, n);
    i = j;
  }
}

Metrics score(RankedList list, double min_confidence) {
  Metrics m;
  m.gold = list.gold;
  m.predicted = static_cast<int64_t>(list.items.size());
  for (const Ranked& r : list.items) {
    if (r.confidence < min_confidence) continue;
    ++m.predicted_at_threshold;
    if (r.hit) ++m.true_positives;
  }
  m.precision = m.predicted_at_threshold > 0 ? double(m.true_positives) / m.predicted_at_threshold : 0.0;
  m.recall = m.gold > 0 ? double(m.true_positives) / m.gold : 0.0;
  m.f1 = m.precision + m.recall > 0 ? 2 * m.precision * m.recall / (m.precision + m.recall) : 0.0;
  m.aupr = average_precision(list.items, list.gold);
  m.p_at_80r = precision_at_recall(std::move(list.items), list.gold, 0.8);
  return m;
}

}  // namespace

EvalInputError::EvalInputError(std::string file, size_t line, const std::string& message)
    : std::runtime_error(file + (line > 0 ? ":" + std::to_string(line) : std::string()) + ": " + message),
      file_(std::move(file)),
      line_(line) {}

double jaccard(Span a, Span b) {
  int64_t inter = std::max<int64_t>(0, std::min(a.end, b.end) - std::max(a.start, b.start));
  int64_t uni = (a.end - a.start) + (b.end - b.start) - inter;
  return uni > 0 ? double(inter) / double(uni) : 0.0;
}

std::string document_id(const std::string& document) {
  std::string name = document;
  size_t slash = name.find_last_of("/\\");
  if (slash != std::string::npos) name = name.substr(slash + 1);
  for (std::string_view z : {".gz", ".bz2", ".xz", ".zst"}) {
    if (ends_with(name, z) && name.size() > z.size()) {
      name.resize(name.size() - z.size());
      break;
    }
  }
  return strip_extension(name);
}

GoldSet load_gold(const fs::path& file, const GoldFilter& filter) {
  const std::string fname = file.string();
  std::string text = read_maybe_gzip(file);
  GoldSet gold;
  std::set<std::string> seen;
  for_each_line(text, [&](size_t line, std::string_view s) {
    json row = parse_row(fname, line, s);
    std::string id = string_member(row, "id", fname, line, true);
    if (id.empty()) throw EvalInputError(fname, line, "\"id\" is empty");
    if (!seen.insert(id).second) throw EvalInputError(fname, line, "document \"" + id + "\" appears twice");
    auto labels = row.find("labels");
    if (labels == row.end()) throw EvalInputError(fname, line, "missing \"labels\"");
    if (!labels->is_object()) throw EvalInputError(fname, line, "\"labels\" must be an object");

    if (!filter.split.empty()) {
      auto split = row.find("split");
      if (split == row.end() || !split->is_string() || split->get<std::string>() != filter.split) return;
    }
    if (filter.ids && !filter.ids->count(id)) return;

    auto& doc = gold.spans[id];
    gold.ids.push_back(id);
    for (const auto& [key, value] : labels->items()) {
      const std::string where = "labels[\"" + key + "\"]: ";
      if (!value.is_object()) throw EvalInputError(fname, line, where + "must be an object");
      auto clauses = value.find("clauses");
      if (clauses == value.end()) throw EvalInputError(fname, line, where + "missing \"clauses\"");
      if (!clauses->is_array()) throw EvalInputError(fname, line, where + "\"clauses\" must be an array");
      gold.keys.insert(key);
      std::vector<Span>& spans = doc[key];
      for (const json& c : *clauses) {
        if (!c.is_object()) throw EvalInputError(fname, line, where + "a clause must be an object");
        Span sp{integer_member(c, "start", fname, line, where), integer_member(c, "end", fname, line, where)};
        if (sp.start == -1) continue;  // a clause the data could not locate in the text
        if (sp.start < 0 || sp.end < sp.start)
          throw EvalInputError(fname, line,
                               where + "bad clause range [" + std::to_string(sp.start) + ", " +
                                   std::to_string(sp.end) + ")");
        bool dup = std::any_of(spans.begin(), spans.end(),
                               [&](const Span& o) { return o.start == sp.start && o.end == sp.end; });
        if (!dup && sp.end > sp.start) spans.push_back(sp);
      }
    }
  });
  return gold;
}

std::set<std::string> load_id_list(const fs::path& file) {
  std::string text = read_maybe_gzip(file);
  std::set<std::string> ids;
  for_each_line(text, [&](size_t, std::string_view s) {
    size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
    std::string_view id = s.substr(b, e - b + 1);
    if (id[0] != '#') ids.insert(std::string(id));
  });
  return ids;
}

std::vector<Prediction> load_predictions(const fs::path& file) {
  const std::string fname = file.string();
  std::string text = read_maybe_gzip(file);
  std::vector<Prediction> preds;
  for_each_line(text, [&](size_t line, std::string_view s) {
    json row = parse_row(fname, line, s);
    Prediction p;
    p.line = line;
    std::string document = string_member(row, "document", fname, line, true);
    p.doc_id = document_id(document);
    if (p.doc_id.empty()) throw EvalInputError(fname, line, "\"document\" names no file");
    p.category = string_member(row, "category", fname, line, false);
    p.cuad = string_member(row, "cuad", fname, line, false);
    if (p.category.empty() && p.cuad.empty())
      throw EvalInputError(fname, line, "needs \"category\" or \"cuad\" (a non-empty string)");
    p.span = {integer_member(row, "start", fname, line, ""), integer_member(row, "end", fname, line, "")};
    if (p.span.start < 0 || p.span.end < p.span.start)
      throw EvalInputError(fname, line,
                           "bad range [" + std::to_string(p.span.start) + ", " + std::to_string(p.span.end) + ")");
    auto conf = row.find("confidence");
    if (conf == row.end()) throw EvalInputError(fname, line, "missing \"confidence\"");
    if (!conf->is_number()) throw EvalInputError(fname, line, "\"confidence\" must be a number");
    p.confidence = conf->get<double>();
    if (!(p.confidence >= 0 && p.confidence <= 1))
      throw EvalInputError(fname, line, "\"confidence\" must be between 0 and 1");
    preds.push_back(std::move(p));
  });
  return preds;
}

double average_precision(std::vector<Ranked> ranking, int64_t n_gold) {
  if (n_gold <= 0) return 0;
  double area = 0, prev_recall = 0;
  sweep(ranking, [&](int64_t tp, int64_t n) {
    double recall = double(tp) / n_gold;
    area += (recall - prev_recall) * (double(tp) / n);
    prev_recall = recall;
  });
  return area;
}

double precision_at_recall(std::vector<Ranked> ranking, int64_t n_gold, double min_recall) {
  if (n_gold <= 0) return 0;
  double best = 0;
  // The tolerance keeps 4 of 5 at "80%" despite 0.8 having no exact binary form.
  sweep(ranking, [&](int64_t tp, int64_t n) {
    if (double(tp) / n_gold >= min_recall - 1e-12) best = std::max(best, double(tp) / n);
  });
  return best;
}

EvalReport evaluate(const GoldSet& gold, const std::vector<Prediction>& predictions, const EvalSettings& settings) {
  std::vector<std::string> keys;
  if (settings.categories.empty()) {
    keys.assign(gold.keys.begin(), gold.keys.end());
  } else {
    for (const std::string& k : settings.categories) {
      if (!gold.keys.count(k)) throw std::invalid_argument("category '" + k + "' is not a key of the gold file");
      if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
    }
    std::sort(keys.begin(), keys.end());
  }

  EvalReport report;
  report.gold_documents = static_cast<int64_t>(gold.ids.size());
  report.predictions = static_cast<int64_t>(predictions.size());

  // Predictions on gold documents, best first; stable so that ties keep file order.
  std::vector<const Prediction*> order;
  std::set<std::string> unknown, predicted_docs;
  for (const Prediction& p : predictions) {
    if (!gold.spans.count(p.doc_id)) {
      ++report.unknown_document_predictions;
      unknown.insert(p.doc_id);
      continue;
    }
    predicted_docs.insert(p.doc_id);
    if (!gold.keys.count(p.category) && !gold.keys.count(p.cuad)) ++report.unknown_category_predictions;
    order.push_back(&p);
  }
  report.unknown_documents.assign(unknown.begin(), unknown.end());
  report.documents_without_predictions = report.gold_documents - static_cast<int64_t>(predicted_docs.size());
  std::stable_sort(order.begin(), order.end(),
                   [](const Prediction* a, const Prediction* b) { return a->confidence > b->confidence; });

  RankedList micro;
  double sums[5] = {0, 0, 0, 0, 0};
  for (const std::string& key : keys) {
    RankedList list;
    // Gold spans of this key by document, each with a "matched" flag.
    std::map<std::string, std::pair<std::vector<Span>, std::vector<bool>>> open;
    for (const auto& [id, by_key] : gold.spans) {
      auto it = by_key.find(key);
      if (it == by_key.end() || it->second.empty()) continue;
      list.gold += static_cast<int64_t>(it->second.size());
      open[id] = {it->second, std::vector<bool>(it->second.size(), false)};
    }
    for (const Prediction* p : order) {
      if (p->cuad != key && p->category != key) continue;
      bool hit = false;
      if (auto it = open.find(p->doc_id); it != open.end()) {
        auto& [spans, matched] = it->second;
        int best = -1;
        double best_j = 0;
        for (size_t g = 0; g < spans.size(); ++g) {
          if (matched[g]) continue;
          double j = jaccard(p->span, spans[g]);
          if (j >= settings.jaccard && j > best_j) best = static_cast<int>(g), best_j = j;
        }
        if (best >= 0) matched[best] = hit = true;
      }
      list.items.push_back({p->confidence, hit});
    }

    CategoryResult result;
    result.key = key;
    result.averaged = list.gold >= std::max<int64_t>(settings.min_gold, 1);
    if (result.averaged) {
      micro.items.insert(micro.items.end(), list.items.begin(), list.items.end());
      micro.gold += list.gold;
    }
    result.metrics = score(std::move(list), settings.min_confidence);
    if (result.averaged) {
      const Metrics& m = result.metrics;
      ++report.averaged_categories;
      report.macro.gold += m.gold;
      report.macro.predicted += m.predicted;
      report.macro.predicted_at_threshold += m.predicted_at_threshold;
      report.macro.true_positives += m.true_positives;
      sums[0] += m.precision, sums[1] += m.recall, sums[2] += m.f1, sums[3] += m.aupr, sums[4] += m.p_at_80r;
    }
    report.categories.push_back(std::move(result));
  }
  if (report.averaged_categories > 0) {
    double n = static_cast<double>(report.averaged_categories);
    report.macro.precision = sums[0] / n;
    report.macro.recall = sums[1] / n;
    report.macro.f1 = sums[2] / n;
    report.macro.aupr = sums[3] / n;
    report.macro.p_at_80r = sums[4] / n;
  }
  report.micro = score(std::move(micro), settings.min_confidence);
  return report;
}

}  // namespace ds::eval
