#include "triage.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ds::medical {

namespace {

constexpr std::array<std::string_view, kTriageLevels> kLevelNames = {"self_care", "routine", "urgent", "emergency"};

size_t index(TriageLevel level) { return static_cast<size_t>(level); }

// The code point starting at s[i] and its length; an invalid sequence reads as one byte, U+FFFD.
std::pair<char32_t, size_t> decode(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > s.size()) return {0xFFFD, 1};
  char32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
  for (size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xC0) != 0x80) return {0xFFFD, 1};
    cp = (cp << 6) | (b(k) & 0x3F);
  }
  return {cp, n};
}

bool is_cjk_ideograph(char32_t cp) {
  return (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xF900 && cp <= 0xFAFF) ||
         (cp >= 0x20000 && cp <= 0x2FA1F);
}

}  // namespace

std::string_view triage_level_name(TriageLevel level) { return kLevelNames[index(level)]; }

std::optional<TriageLevel> parse_triage_level(std::string_view name) {
  for (size_t i = 0; i < kTriageLevels; ++i)
    if (kLevelNames[i] == name) return static_cast<TriageLevel>(i);
  return std::nullopt;
}

const std::array<TriageLevel, kTriageLevels>& levels_most_urgent_first() {
  static const std::array<TriageLevel, kTriageLevels> order = {TriageLevel::kEmergency, TriageLevel::kUrgent,
                                                               TriageLevel::kRoutine, TriageLevel::kSelfCare};
  return order;
}

TriageLevel model_level(const LevelProbs& probs, const TriageThresholds& thresholds) {
  // Most urgent first with a strict '>', so a tie keeps the more urgent level ("when in doubt, higher").
  TriageLevel best = TriageLevel::kEmergency;
  for (TriageLevel l : levels_most_urgent_first())
    if (probs[index(l)] > probs[index(best)]) best = l;
  const double p_emergency = probs[index(TriageLevel::kEmergency)];
  if (p_emergency >= thresholds.emergency) return TriageLevel::kEmergency;
  if (best < TriageLevel::kUrgent && p_emergency + probs[index(TriageLevel::kUrgent)] >= thresholds.urgent)
    return TriageLevel::kUrgent;
  return best;
}

std::vector<double> softmax(std::span<const float> logits) {
  std::vector<double> out(logits.size());
  if (logits.empty()) return out;
  double max = -std::numeric_limits<double>::infinity();
  for (float x : logits) {
    if (!std::isfinite(x)) return std::vector<double>(logits.size(), std::numeric_limits<double>::quiet_NaN());
    max = std::max(max, static_cast<double>(x));
  }
  double sum = 0;
  for (size_t i = 0; i < logits.size(); ++i) sum += out[i] = std::exp(static_cast<double>(logits[i]) - max);
  for (double& p : out) p /= sum;
  return out;
}

TriageOutcome combine(TriageLevel model, const std::vector<FiredRule>& rules) {
  TriageOutcome o;
  o.model_level = model;
  o.level = model;
  for (const FiredRule& r : rules) o.level = std::max(o.level, r.level);
  if (o.level > model) {
    for (const FiredRule& r : rules)
      if (r.level == o.level && std::find(o.raised_by.begin(), o.raised_by.end(), r.id) == o.raised_by.end())
        o.raised_by.push_back(r.id);
  }
  return o;
}

std::string detect_language(std::string_view text) {
  size_t cjk = 0, latin = 0;
  for (size_t i = 0; i < text.size();) {
    auto [cp, n] = decode(text, i);
    i += n;
    if (is_cjk_ideograph(cp)) ++cjk;
    else if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z')) ++latin;
  }
  // About four letters make an English word, about one ideograph a Chinese one: Chinese when most
  // words are. On the labelled questions every zh text scores >= 0.75 and every en text 0.
  return cjk > 0 && double(cjk) / (double(cjk) + double(latin) / 4.0 + 1.0) > 0.5 ? "zh" : "en";
}

std::string advice(TriageLevel level, std::string_view language, std::string_view number, std::string_view department) {
  const std::string num(number), dept(department);
  if (language == "zh") {
    switch (level) {
      case TriageLevel::kEmergency: return "立即拨打" + num + "（或马上去最近的急诊科），不要等待。";
      case TriageLevel::kUrgent: return "请在24小时内就医（" + dept + "）；如加重请立即去急诊。";
      case TriageLevel::kRoutine: return "请预约" + dept + "门诊。";
      case TriageLevel::kSelfCare: return "可先居家护理观察；如加重或不见好转请就医。";
    }
  }
  switch (level) {
    case TriageLevel::kEmergency: return "Call " + num + " now (or go to the nearest emergency department). Do not wait.";
    case TriageLevel::kUrgent:
      return "See a doctor within 24 hours (" + dept + "); go to the emergency department if it gets worse.";
    case TriageLevel::kRoutine: return "Book an appointment with " + dept + ".";
    case TriageLevel::kSelfCare: return "Self-care at home should do; see a doctor if it gets worse or does not improve.";
  }
  return "";
}

}  // namespace ds::medical
