#include "clause_assembly.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace ds::legal {

std::vector<SegmentRun> assemble_runs(std::span<const double> probabilities, double join, double floor) {
  std::vector<SegmentRun> runs;
  for (size_t i = 0; i < probabilities.size();) {
    const double p = probabilities[i];
    if (p >= join) {
      SegmentRun run{i, i, p};
      while (run.last + 1 < probabilities.size() && probabilities[run.last + 1] >= join) {
        ++run.last;
        run.confidence = std::max(run.confidence, probabilities[run.last]);
      }
      runs.push_back(run);
      i = run.last + 1;
      continue;
    }
    if (p >= floor) runs.push_back({i, i, p});
    ++i;
  }
  return runs;
}

std::vector<TaggedEntity> decode_bio(std::span<const float> logits, size_t tokens,
                                     std::span<const std::string_view> labels) {
  const size_t n = labels.size();
  if (n == 0 || logits.size() != tokens * n)
    throw std::invalid_argument("[legal.extract] tag logits hold " + std::to_string(logits.size()) +
                                " values for " + std::to_string(tokens) + " tokens x " + std::to_string(n) + " labels");
  std::vector<TaggedEntity> out;
  TaggedEntity* open = nullptr;
  double sum = 0;
  auto close = [&] {
    if (open) open->confidence = sum / double(open->last - open->first + 1);
    open = nullptr;
  };
  for (size_t t = 0; t < tokens; ++t) {
    const float* row = logits.data() + t * n;
    const size_t best = static_cast<size_t>(std::max_element(row, row + n) - row);
    double z = 0;
    for (size_t j = 0; j < n; ++j) z += std::exp(double(row[j]) - double(row[best]));
    const double prob = 1.0 / z;
    std::string_view tag = labels[best];
    const bool begin = tag.starts_with("B-"), inside = tag.starts_with("I-");
    if (!begin && !inside) {
      close();
      continue;
    }
    std::string_view type = tag.substr(2);
    if (inside && open && open->type == type) {
      open->last = t;
      sum += prob;
      continue;
    }
    close();
    out.push_back({t, t, std::string(type), 0.0});
    open = &out.back();
    sum = prob;
  }
  close();
  return out;
}

double span_jaccard(size_t b1, size_t e1, size_t b2, size_t e2) {
  const size_t lo = std::max(b1, b2), hi = std::min(e1, e2);
  const double inter = hi > lo ? double(hi - lo) : 0.0;
  const double uni = double(std::max(e1, e2) - std::min(b1, b2));
  return uni > 0 ? inter / uni : 0.0;
}

}  // namespace ds::legal
