// Confidence calibration for the legal model's clause heads: one Platt scaling per head label,
// p = sigmoid(a * logit + b), fitted on the dev split (model/training/calibrate_legal.py) and shipped
// as JSON next to the model:
//   {"format": "deepseek-legal-calibration", "version": 1,
//    "heads": {"clauses": {"payment": {"a": 0.8, "b": -0.3}, ...}, "cuad": {...}}}
// A label without an entry keeps the model's own sigmoid (a = 1, b = 0).
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace ds::legal {

class Calibration {
 public:
  Calibration() = default;  // identity: the model's sigmoid
  // Reads the JSON file; throws std::runtime_error naming the file and the bad key.
  static Calibration load(const std::string& path);
  static Calibration parse(std::string_view text, const std::string& origin);

  double probability(std::string_view head, std::string_view label, double logit) const;
  size_t size() const { return scales_.size(); }

 private:
  struct Platt {
    double a = 1.0, b = 0.0;
  };
  std::map<std::string, Platt, std::less<>> scales_;  // "<head>/<label>"
};

}  // namespace ds::legal
