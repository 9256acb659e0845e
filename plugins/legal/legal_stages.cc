#include "legal_stages.h"

#include "amount_parser.h"

namespace ds::legal {

namespace text = ds::sdk::text;

constexpr size_t kHeadingAttributeBytes = 120;

ds::sdk::StageInfo ClausesStage::spec() {
  return {"clauses",
          "classify contract clauses by heading keywords (zh/en keyword baseline)",
          {ds::sdk::option_float("min_score", 0.5, "drop clauses scored below this", 0.0, 1.0),
           ds::sdk::option_enum("language", "auto", {"auto", "zh", "en"}, "which keyword set to use")},
          DS_FIELD_NORMALIZED | DS_FIELD_SEGMENTS,
          DS_FIELD_ANNOTATIONS};
}

ClausesStage::ClausesStage(const ds::sdk::Config& config)
    : min_score_(config.get_float("min_score")), language_(parse_language(config.get_string("language"))) {}

void ClausesStage::process(ds::sdk::DocumentView& doc, ds::sdk::Output& out) {
  for (const ds::sdk::SegmentView& seg : doc.segments()) {
    if (seg.kind != "clause" && seg.kind != "heading") continue;
    std::string_view heading = clause_heading(seg.text, seg.number);
    std::string_view trimmed = text::trim(seg.text);
    size_t newline = trimmed.find('\n');
    std::string_view body = newline == std::string_view::npos ? std::string_view() : trimmed.substr(newline + 1);
    auto match = classify_clause(heading, body, language_);
    if (!match || match->score < min_score_) continue;
    out.add(match->category, seg.begin, seg.end, match->score,
            {{"number", std::string(seg.number)},
             {"heading", std::string(text::utf8_truncate(heading, kHeadingAttributeBytes))},
             {"keyword", match->keyword},
             {"method", "keyword"}});
  }
}

ds::sdk::StageInfo AmountsStage::spec() {
  return {"amounts",
          "find money amounts (¥/RMB/人民币/USD/$ ..., 万/亿) and normalize them to value + currency",
          {ds::sdk::option_enum("yen_sign", "CNY", {"CNY", "JPY"}, "the currency the ¥ sign stands for")},
          DS_FIELD_NORMALIZED,
          DS_FIELD_ANNOTATIONS};
}

AmountsStage::AmountsStage(const ds::sdk::Config& config) : yen_sign_(config.get_string("yen_sign")) {}

void AmountsStage::process(ds::sdk::DocumentView& doc, ds::sdk::Output& out) {
  for (const MoneyAmount& a : find_money_amounts(doc.normalized(), yen_sign_)) {
    out.add("amount", a.begin, a.end, 0.9,
            {{"value", format_money_value(a.value)}, {"currency", a.currency}, {"method", "pattern"}});
  }
}

}  // namespace ds::legal
