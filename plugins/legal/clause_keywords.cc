#include "clause_keywords.h"

#include <array>

#include "ds/plugin_text.h"

namespace ds::legal {
namespace {

namespace text = ds::sdk::text;

constexpr size_t kTitleMaxBytes = 60;

bool title_like(std::string_view line) {
  if (line.empty() || line.size() > kTitleMaxBytes) return false;
  for (std::string_view end : {".", ";", "。", "；", ":"})
    if (line.size() >= end.size() && line.substr(line.size() - end.size()) == end) return false;
  return true;
}

struct Flat {
  std::vector<std::string> keywords;
  std::vector<size_t> category;  // per keyword
};

const Flat& flat_table(Language language) {
  static const std::array<Flat, 3> tables = [] {
    std::array<Flat, 3> out;
    const auto& cats = clause_categories();
    for (size_t c = 0; c < cats.size(); ++c) {
      for (const std::string& k : cats[c].keywords) {
        const bool ascii = text::is_ascii(k);
        for (int l = 0; l < 3; ++l) {
          if ((l == 1 && ascii) || (l == 2 && !ascii)) continue;
          out[l].keywords.push_back(k);
          out[l].category.push_back(c);
        }
      }
    }
    return out;
  }();
  return tables[static_cast<int>(language)];
}

std::optional<ClauseMatch> best_in(std::string_view place, Language language, double score) {
  const Flat& table = flat_table(language);
  auto hits = text::find_keywords(place, table.keywords);
  if (hits.empty()) return std::nullopt;
  // Sorted by begin, longest first: the first hit is the earliest, longest keyword.
  const auto& hit = hits.front();
  return ClauseMatch{clause_categories()[table.category[hit.keyword]].id,
                     std::string(place.substr(hit.begin, hit.end - hit.begin)), score};
}

}  // namespace

const std::vector<ClauseCategory>& clause_categories() {
  static const std::vector<ClauseCategory> kCategories = {
      {"parties", {"甲方:", "乙方:", "当事人", "合同双方", "parties", "party a:", "party b:"}},
      {"effective", {"生效", "effective date", "effectiveness", "commencement date"}},
      {"renewal", {"续期", "续签", "续约", "renewal"}},
      {"governing_law", {"适用法律", "法律适用", "管辖法律", "governing law", "applicable law"}},
      {"dispute", {"争议解决", "争议", "纠纷", "仲裁", "诉讼", "管辖", "dispute*", "arbitration", "jurisdiction"}},
      {"liquidated", {"违约金", "滞纳金", "liquidated damages", "penalt*"}},
      {"deposit", {"定金", "deposit"}},
      {"compensation", {"赔偿", "损失", "compensation", "indemnif*", "damages"}},
      {"liability_cap", {"责任限制", "责任上限", "免责", "limitation of liability", "liability cap", "exclusion of liability"}},
      {"breach", {"违约责任", "违约", "breach", "event of default", "events of default"}},
      {"termination", {"解除", "终止", "terminat*", "rescission"}},
      {"force_majeure", {"不可抗力", "force majeure"}},
      {"confidentiality", {"保密", "机密", "confidential*", "non-disclosure"}},
      {"ip", {"知识产权", "专利", "著作权", "intellectual property"}},
      {"non_compete", {"竞业", "排他", "禁止招揽", "non-compet*", "exclusivity", "non-solicit*"}},
      {"payment", {"付款", "支付", "结算", "发票", "payment", "invoic*"}},
      {"price", {"价款", "价格", "合同金额", "报酬", "price", "fees", "remuneration"}},
      {"term", {"期限", "有效期", "term", "duration"}},
      {"subject", {"合同标的", "标的", "subject matter", "scope of work", "scope of supply"}},
      {"performance", {"履行", "交付", "交货", "delivery", "performance"}},
      {"quality", {"质量", "验收", "检验", "quality", "acceptance", "inspection"}},
      {"warranty", {"质保", "保修", "warrant*"}},
      {"assignment", {"转让", "控制权变更", "assign*", "change of control"}},
      {"notice", {"通知", "送达", "notice*", "notification*"}},
      {"insurance", {"保险", "insurance"}},
      {"audit", {"审计", "audit*"}},
      {"signature", {"签字", "盖章", "签署", "signature*", "in witness whereof"}},
  };
  return kCategories;
}

std::optional<ClauseMatch> classify_clause(std::string_view heading, std::string_view body, Language language) {
  if (auto m = best_in(heading, language, title_like(heading) ? 0.9 : 0.7)) return m;
  return best_in(body, language, 0.4);
}

std::string_view clause_heading(std::string_view clause_text, std::string_view number) {
  std::string_view line = text::trim(clause_text);
  line = line.substr(0, line.find('\n'));
  line = text::trim(line);
  if (!number.empty() && line.substr(0, number.size()) == number) {
    line.remove_prefix(number.size());
  } else if (line.substr(0, 3) == "第") {
    // "第八条" / "第十二章": the numbering runs to the first 条, 章 or 节 within a few characters.
    for (std::string_view unit : {"条", "章", "节"}) {
      size_t at = line.find(unit);
      if (at != std::string_view::npos && at <= 24) {
        line.remove_prefix(at + unit.size());
        break;
      }
    }
  }
  // Leftover numbering and separators: "1.2", "(a)", "、", ".", ":".
  while (!line.empty()) {
    char c = line.front();
    if (text::is_ascii_digit(c) || c == '.' || c == '(' || c == ')' || c == ':' || c == ' ' || c == '\t') {
      line.remove_prefix(1);
    } else if (line.substr(0, 3) == "、" || line.substr(0, 3) == "\xE3\x80\x80") {
      line.remove_prefix(3);
    } else if (line.size() >= 2 && text::is_ascii_alpha(c) && line[1] == ')') {
      line.remove_prefix(2);
    } else {
      break;
    }
  }
  return text::trim(line);
}

}  // namespace ds::legal
