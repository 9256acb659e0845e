// legal.values: money, dates, durations, rates and parties annotated with their normalized values.
#include <algorithm>
#include <stdexcept>

#include "amount_parser.h"
#include "legal_stages.h"
#include "normalize_money.h"
#include "normalize_rate.h"
#include "parties.h"
#include "value_format.h"

namespace ds::legal {
namespace {

namespace text = ds::sdk::text;

constexpr double kScore = 0.9;
constexpr double kScoreWithWarning = 0.6;

const std::vector<std::string> kAllKinds = {"money", "date", "duration", "rate", "party"};

struct Mention {
  int priority;  // lower wins an overlap: a date over the duration inside it, money over a rate
  size_t begin;
  size_t end;
  std::string label;
  ds::sdk::Attributes attributes;
  std::vector<std::string> warnings;
};

std::string joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

// A span moved onto character boundaries and into the text, so the host never refuses it.
void snap(std::string_view s, size_t& begin, size_t& end) {
  end = std::min(end, s.size());
  begin = std::min(begin, end);
  auto continuation = [&](size_t i) { return i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80; };
  while (begin > 0 && continuation(begin)) --begin;
  while (end < s.size() && continuation(end)) ++end;
}

Mention money_mention(const Money& m) {
  Mention out{1, m.begin, m.end, "money", {}, m.warnings};
  out.attributes = {{"value", format_money_value(m.value)},
                    {"currency", m.currency},
                    {"currency_basis", m.currency_basis},
                    {"form", m.form}};
  if (m.words_value) out.attributes.push_back({"words_value", format_money_value(*m.words_value)});
  if (m.figures_value) out.attributes.push_back({"figures_value", format_money_value(*m.figures_value)});
  return out;
}

Mention date_mention(const DateMention& d) {
  Mention out{0, d.begin, d.end, "date", {}, d.warnings};
  out.attributes = {{"value", d.value}, {"kind", d.relative ? "relative" : "absolute"}};
  if (!d.precision.empty()) out.attributes.push_back({"precision", d.precision});
  if (d.relative) {
    out.attributes.push_back({"anchor", d.anchor});
    out.attributes.push_back({"anchor_text", d.anchor_text});
    out.attributes.push_back({"offset_value", format_decimal(d.offset.value)});
    out.attributes.push_back({"offset_unit", std::string(duration_unit_name(d.offset.unit))});
    out.attributes.push_back({"direction", d.direction > 0 ? "after" : "before"});
    out.attributes.push_back({"within", d.within ? "true" : "false"});
    out.attributes.push_back({"derivation", d.derivation});
  }
  return out;
}

Mention duration_mention(const Duration& d) {
  Mention out{3, d.begin, d.end, "duration", {}, d.warnings};
  out.attributes = {{"value", format_decimal(d.value)}, {"unit", std::string(duration_unit_name(d.unit))}};
  return out;
}

Mention rate_mention(const Rate& r) {
  Mention out{2, r.begin, r.end, "rate", {}, r.warnings};
  out.attributes = {{"value", format_decimal(r.value)},
                    {"per", r.per == RatePer::kNone ? "none" : std::string(rate_per_name(r.per))}};
  if (!r.per_text.empty()) out.attributes.push_back({"per_text", r.per_text});
  return out;
}

Mention party_mention(const Party& p) {
  Mention out{-1, p.begin, p.end, "party", {}, p.warnings};
  out.attributes = {{"name", p.name}, {"role", p.role}, {"role_id", p.role_id}};
  if (!p.role_alias.empty()) out.attributes.push_back({"role_alias", p.role_alias});
  if (!p.address.empty()) out.attributes.push_back({"address", p.address});
  return out;
}

// "effective=2024-03-01" -> {"effective", 2024-03-01}.
AnchorDates parse_anchor_option(const std::vector<std::string>& items) {
  AnchorDates out;
  for (const std::string& item : items) {
    const size_t eq = item.find('=');
    const std::string name =
        eq == std::string::npos ? "" : std::string(text::trim(std::string_view(item).substr(0, eq)));
    auto date = eq == std::string::npos ? std::nullopt : from_iso(text::trim(std::string_view(item).substr(eq + 1)));
    if (name.empty() || !date)
      throw std::invalid_argument("[legal.values] anchor_dates: '" + item +
                                  "' is not NAME=YYYY-MM-DD (for example effective=2024-03-01)");
    out[name] = *date;
  }
  return out;
}

}  // namespace

ds::sdk::StageInfo ValuesStage::spec() {
  return {"values",
          "annotate money, dates, durations, rates and parties with normalized values (zh/en patterns)",
          {ds::sdk::option_enum("language", "auto", {"auto", "zh", "en"},
                                "document language for ambiguous forms (03/01/2024, ¥); auto detects it"),
           ds::sdk::option_enum("yen_sign", "auto", {"auto", "CNY", "JPY"},
                                "the currency the ¥ sign stands for; auto: CNY in Chinese documents"),
           ds::sdk::option_strings("kinds", kAllKinds, "which values to annotate: money, date, duration, rate, party"),
           ds::sdk::option_strings("anchor_dates", {},
                                   "known anchor dates as NAME=YYYY-MM-DD (effective, sign, receipt ...); they win "
                                   "over dates found in the document")},
          DS_FIELD_NORMALIZED,
          DS_FIELD_ANNOTATIONS};
}

ValuesStage::ValuesStage(const ds::sdk::Config& config)
    : language_(parse_language(config.get_string("language"))), yen_sign_(config.get_string("yen_sign")) {
  money_ = dates_ = durations_ = rates_ = parties_ = false;
  for (const std::string& kind : config.get_strings("kinds")) {
    if (kind == "money")
      money_ = true;
    else if (kind == "date")
      dates_ = true;
    else if (kind == "duration")
      durations_ = true;
    else if (kind == "rate")
      rates_ = true;
    else if (kind == "party")
      parties_ = true;
    else
      throw std::invalid_argument("[legal.values] kinds: unknown kind '" + kind +
                                  "' (expected money, date, duration, rate or party)");
  }
  anchors_ = parse_anchor_option(config.get_strings("anchor_dates"));
}

void ValuesStage::process(ds::sdk::DocumentView& doc, ds::sdk::Output& out) {
  const std::string_view s = doc.normalized();
  const Language language = resolve_language(language_, s);
  std::vector<Mention> mentions;
  if (money_) {
    MoneyOptions options;
    options.language = language;
    options.yen_sign = yen_sign_;
    for (const Money& m : find_money(s, options)) mentions.push_back(money_mention(m));
  }
  if (dates_)
    for (const DateMention& d : normalize_dates(s, language, anchors_)) mentions.push_back(date_mention(d));
  if (durations_)
    for (const Duration& d : find_durations(s)) mentions.push_back(duration_mention(d));
  if (rates_)
    for (const Rate& r : find_rates(s)) mentions.push_back(rate_mention(r));
  if (parties_)
    for (const Party& p : find_parties(s)) mentions.push_back(party_mention(p));

  // Overlaps: the higher-priority mention stays (parties, priority -1, never compete: their spans
  // are whole lines that contain other values).
  std::stable_sort(mentions.begin(), mentions.end(),
                   [](const Mention& a, const Mention& b) { return a.priority < b.priority; });
  std::vector<const Mention*> kept;
  for (const Mention& m : mentions) {
    const bool overlaps = m.priority >= 0 && std::any_of(kept.begin(), kept.end(), [&](const Mention* k) {
                            return k->priority >= 0 && m.begin < k->end && k->begin < m.end;
                          });
    if (!overlaps) kept.push_back(&m);
  }
  std::stable_sort(kept.begin(), kept.end(), [](const Mention* a, const Mention* b) { return a->begin < b->begin; });
  for (const Mention* m : kept) {
    size_t begin = m->begin, end = m->end;
    snap(s, begin, end);
    ds::sdk::Attributes attributes = m->attributes;
    if (!m->warnings.empty()) attributes.push_back({"warning", joined(m->warnings)});
    attributes.push_back({"method", "pattern"});
    out.add(m->label, begin, end, m->warnings.empty() ? kScore : kScoreWithWarning, attributes);
  }
}

}  // namespace ds::legal
