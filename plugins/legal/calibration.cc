#include "calibration.h"

#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace ds::legal {

Calibration Calibration::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("[legal.calibration] cannot read " + path);
  std::ostringstream content;
  content << in.rdbuf();
  return parse(content.str(), path);
}

Calibration Calibration::parse(std::string_view text, const std::string& origin) {
  using nlohmann::json;
  json doc = json::parse(text.begin(), text.end(), nullptr, false);
  auto fail = [&](const std::string& what) {
    throw std::runtime_error("[legal.calibration] " + origin + ": " + what);
  };
  if (doc.is_discarded()) fail("not valid JSON");
  if (!doc.is_object() || doc.value("format", "") != "deepseek-legal-calibration")
    fail("\"format\" must be \"deepseek-legal-calibration\"");
  if (!doc.contains("heads") || !doc["heads"].is_object()) fail("\"heads\" must be an object");
  Calibration c;
  for (const auto& [head, labels] : doc["heads"].items()) {
    if (!labels.is_object()) fail("heads." + head + " must be an object");
    for (const auto& [label, ab] : labels.items()) {
      const std::string key = "heads." + head + "." + label;
      if (!ab.is_object() || !ab.contains("a") || !ab.contains("b") || !ab["a"].is_number() || !ab["b"].is_number())
        fail(key + " must be {\"a\": number, \"b\": number}");
      const double a = ab["a"].get<double>(), b = ab["b"].get<double>();
      if (!std::isfinite(a) || !std::isfinite(b)) fail(key + " has a non-finite value");
      c.scales_[head + "/" + label] = {a, b};
    }
  }
  return c;
}

double Calibration::probability(std::string_view head, std::string_view label, double logit) const {
  std::string key;
  key.reserve(head.size() + label.size() + 1);
  key.append(head).append("/").append(label);
  auto it = scales_.find(key);
  const double z = it == scales_.end() ? logit : it->second.a * logit + it->second.b;
  return 1.0 / (1.0 + std::exp(-z));
}

}  // namespace ds::legal
