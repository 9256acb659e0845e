#include "completeness.h"

#include <algorithm>
#include <initializer_list>

#include "ds/plugin_text.h"
#include "normalize_date.h"
#include "normalize_duration.h"
#include "normalize_money.h"
#include "normalize_rate.h"
#include "numerals.h"
#include "parties.h"
#include "scan.h"

namespace ds::legal {
namespace {

namespace text = ds::sdk::text;

using Words = std::initializer_list<const char*>;

constexpr size_t kSentenceBytes = 300;

// The first keyword of `zh` or `en` (as `language` allows) in `s`, as written; "" if none. ASCII
// keywords match as words (see ds::sdk::text::find_keywords).
std::string first_keyword(std::string_view s, Words zh, Words en, Language language) {
  std::vector<std::string> keys;
  if (language != Language::kEn)
    for (const char* k : zh) keys.emplace_back(k);
  if (language != Language::kZh)
    for (const char* k : en) keys.emplace_back(k);
  auto hits = text::find_keywords(s, keys);
  if (hits.empty()) return "";
  return std::string(s.substr(hits.front().begin, hits.front().end - hits.front().begin));
}

const ClauseLabel* label(const std::vector<ClauseLabel>& clauses, std::initializer_list<std::string_view> ids) {
  for (const ClauseLabel& c : clauses)
    if (std::find(ids.begin(), ids.end(), c.id) != ids.end()) return &c;
  return nullptr;
}

bool inside(const std::vector<ClauseLabel>& clauses, std::initializer_list<std::string_view> ids, size_t begin,
            size_t end) {
  for (const ClauseLabel& c : clauses)
    if (std::find(ids.begin(), ids.end(), c.id) != ids.end() && begin >= c.begin && end <= c.end) return true;
  return false;
}

std::string quoted(std::string_view s) {
  std::string out = "'";  // appended piecewise: "'" + std::string(s) trips GCC 12's -Wrestrict
  out += s;
  out += '\'';
  return out;
}

std::string join(const std::string& a, const std::string& b) { return a.empty() || b.empty() ? a + b : a + "; " + b; }

ElementCheck make(const char* id, const char* title) {
  ElementCheck e;
  e.id = id;
  e.title_zh = title;
  return e;
}

void set(ElementCheck& e, ElementStatus status, std::string basis, std::string note = "") {
  e.status = status;
  e.basis = std::move(basis);
  e.note = std::move(note);
}

ElementCheck check_parties(std::string_view s, const std::vector<ClauseLabel>& clauses, Language language) {
  ElementCheck e = make("parties", "当事人的姓名或者名称和住所");
  size_t named = 0;
  std::vector<std::string> no_address;
  for (const Party& p : find_parties(s)) {
    if (p.name.empty()) continue;
    ++named;
    if (p.address.empty()) no_address.push_back(p.role);
  }
  if (named >= 2) {
    const std::string basis = std::to_string(named) + " named parties";
    if (no_address.empty()) {
      set(e, ElementStatus::kPresent, basis + " with addresses");
    } else {
      std::string roles;
      for (const std::string& r : no_address) roles += (roles.empty() ? "" : ", ") + r;
      set(e, ElementStatus::kAmbiguous, basis, "no domicile (住所/address) found for " + roles);
    }
  } else if (named == 1) {
    set(e, ElementStatus::kAmbiguous, "1 named party", "only one party is named");
  } else if (const ClauseLabel* l = label(clauses, {"parties"})) {
    set(e, ElementStatus::kAmbiguous, "clause label " + quoted(l->id), "parties are mentioned but no names were found");
  } else if (auto k = first_keyword(s, {"甲方", "乙方", "当事人"}, {"between", "parties"}, language); !k.empty()) {
    set(e, ElementStatus::kAmbiguous, "keyword " + quoted(k), "parties are mentioned but no names were found");
  } else {
    set(e, ElementStatus::kAbsent, "", "no party block or party definitions");
  }
  return e;
}

ElementCheck check_subject(std::string_view s, const std::vector<ClauseLabel>& clauses, Language language) {
  ElementCheck e = make("subject", "标的");
  if (const ClauseLabel* l = label(clauses, {"subject"})) {
    set(e, ElementStatus::kPresent, "clause label " + quoted(l->id));
  } else if (auto k =
                 first_keyword(s,
                               {"合同标的", "标的物", "标的", "租赁物", "租赁房屋", "货物名称", "产品名称", "服务内容",
                                "服务范围", "服务项目", "工作内容", "委托事项", "项目名称", "工程名称", "借款金额"},
                               {"subject matter", "scope of work", "scope of services", "scope of supply",
                                "the products", "the goods", "the services", "the premises", "the software"},
                               language);
             !k.empty()) {
    set(e, ElementStatus::kPresent, "keyword " + quoted(k));
  } else if (auto w = first_keyword(s, {"产品", "货物", "服务", "设备", "房屋", "软件", "工程"},
                                    {"goods", "products", "services", "equipment", "software"}, language);
             !w.empty()) {
    set(e, ElementStatus::kAmbiguous, "keyword " + quoted(w), "only general words; the subject matter is not named");
  } else {
    set(e, ElementStatus::kAbsent, "");
  }
  return e;
}

// A number directly followed by a measure word: 10台, 五吨, "500 units".
std::string measured_quantity(std::string_view s, Language language) {
  static constexpr std::string_view kZh[] = {"台",     "件",     "套", "吨", "箱", "批", "千克", "公斤",
                                             "平方米", "立方米", "辆", "株", "瓶", "桶", "卷"};
  static constexpr std::string_view kEn[] = {
      "units", "pieces",        "pcs",           "tons",     "tonnes",   "kg",     "kilograms", "sets",
      "boxes", "square meters", "square metres", "licenses", "licences", "copies", "seats",     "cartons"};
  for (size_t i = 0; i < s.size(); i = text::utf8_next(s, i)) {
    if (number_continues_before(s, i)) continue;
    auto n = parse_chinese_number(s, i);
    if (!n) continue;
    if (language != Language::kEn)
      for (std::string_view w : kZh)
        if (s.substr(n->end, w.size()) == w) return std::string(s.substr(i, n->end + w.size() - i));
    if (language != Language::kZh && n->figures) {
      const size_t p = scan::skip_blanks(s, n->end, 1);
      for (std::string_view w : kEn)
        if (p > n->end && scan::word_at(s, p, w)) return std::string(s.substr(i, p + w.size() - i));
    }
  }
  return "";
}

ElementCheck check_quantity(std::string_view s, const std::vector<ClauseLabel>& clauses, Language language) {
  ElementCheck e = make("quantity", "数量");
  if (const ClauseLabel* l = label(clauses, {"quantity"})) {
    set(e, ElementStatus::kPresent, "clause label " + quoted(l->id));
  } else if (auto k = first_keyword(s, {"数量"}, {"quantity", "quantities", "number of units"}, language); !k.empty()) {
    set(e, ElementStatus::kPresent, "keyword " + quoted(k));
  } else if (auto q = measured_quantity(s, language); !q.empty()) {
    set(e, ElementStatus::kPresent, "number with a measure word " + quoted(q));
  } else {
    set(e, ElementStatus::kAbsent, "", "no quantity words or measured numbers (often implicit in service contracts)");
  }
  return e;
}

ElementCheck check_quality(std::string_view s, const std::vector<ClauseLabel>& clauses, Language language) {
  ElementCheck e = make("quality", "质量");
  if (const ClauseLabel* l = label(clauses, {"quality", "warranty"})) {
    set(e, ElementStatus::kPresent, "clause label " + quoted(l->id));
  } else if (auto k = first_keyword(
                 s,
                 {"质量标准", "质量要求", "国家标准", "行业标准", "技术标准", "验收标准", "GB/T", "规格型号", "规格",
                  "型号", "质量"},
                 {"quality", "specification", "specifications", "standards", "acceptance criteria", "conform to"},
                 language);
             !k.empty()) {
    set(e, ElementStatus::kPresent, "keyword " + quoted(k));
  } else if (auto w = first_keyword(s, {"验收", "检验"}, {"acceptance", "inspection"}, language); !w.empty()) {
    set(e, ElementStatus::kAmbiguous, "keyword " + quoted(w), "acceptance is mentioned but no quality standard");
  } else {
    set(e, ElementStatus::kAbsent, "");
  }
  return e;
}

ElementCheck check_price(std::string_view s, const std::vector<ClauseLabel>& clauses, Language language) {
  ElementCheck e = make("price", "价款或者报酬");
  MoneyOptions options;
  options.language = language == Language::kAuto ? detect_language(s) : language;
  const auto money = find_money(s, options);
  // Not "compensation": under an English "Compensation" heading that is the salary or the fee.
  const std::initializer_list<std::string_view> breach_ids = {"breach", "liquidated", "deposit", "liability_cap"};
  const Money* in_price_clause = nullptr;
  const Money* outside_breach = nullptr;
  for (const Money& m : money) {
    if (!in_price_clause && inside(clauses, {"price", "payment"}, m.begin, m.end)) in_price_clause = &m;
    if (!outside_breach && !inside(clauses, breach_ids, m.begin, m.end)) outside_breach = &m;
  }
  const ClauseLabel* l = label(clauses, {"price", "payment"});
  auto amount = [&](const Money& m) { return quoted(s.substr(m.begin, m.end - m.begin)); };
  if (l && in_price_clause) {
    set(e, ElementStatus::kPresent, "clause label " + quoted(l->id) + " with amount " + amount(*in_price_clause));
  } else if (outside_breach) {
    set(e, ElementStatus::kPresent, "money amount " + amount(*outside_breach));
  } else if (l) {
    set(e, ElementStatus::kAmbiguous, "clause label " + quoted(l->id),
        "a price or payment clause without an amount (a formula or a reference?)");
  } else if (auto k = first_keyword(s, {"价款", "报酬", "价格", "租金", "服务费", "合同金额", "总价", "单价", "费用"},
                                    {"price", "fee", "fees", "remuneration", "rent"}, language);
             !k.empty()) {
    set(e, ElementStatus::kAmbiguous, "keyword " + quoted(k), "price words but no amount");
  } else {
    set(e, ElementStatus::kAbsent, "");
  }
  return e;
}

ElementCheck check_performance(std::string_view s, const std::vector<ClauseLabel>& clauses, Language language) {
  ElementCheck e = make("performance", "履行期限、地点和方式");
  const std::initializer_list<std::string_view> ids = {"performance", "term", "payment"};
  const ClauseLabel* l = label(clauses, {"performance"});
  // Time: a deadline keyword, or a date or duration (inside a performance, term or payment clause
  // when there are such labels).
  std::string time = first_keyword(
      s, {"履行期限", "交货期", "交付时间", "交货时间", "交付日期", "工期", "租赁期", "租期", "服务期", "期限"},
      {"delivery date", "time of delivery", "time for performance", "no later than"}, language);
  if (time.empty()) {
    const bool labelled = label(clauses, ids) != nullptr;
    for (const DateMention& d : find_dates(s, language == Language::kAuto ? detect_language(s) : language))
      if (!labelled || inside(clauses, ids, d.begin, d.end)) {
        time = std::string(s.substr(d.begin, d.end - d.begin));
        break;
      }
    if (time.empty())
      for (const Duration& d : find_durations(s))
        if (!labelled || inside(clauses, ids, d.begin, d.end)) {
          time = std::string(s.substr(d.begin, d.end - d.begin));
          break;
        }
  }
  const std::string place = first_keyword(
      s, {"履行地点", "交货地点", "交付地点", "服务地点", "交付地", "地点", "送至", "运至", "交付至", "交货至"},
      {"place of delivery", "place of performance", "delivered to", "deliver to", "delivery to", "location"}, language);
  const std::string manner = first_keyword(
      s,
      {"履行方式", "交付方式", "交货方式", "运输方式", "付款方式", "支付方式", "结算方式", "银行转账", "转账", "方式"},
      {"manner", "method of", "wire transfer", "bank transfer", "installments", "instalments", "shipped by",
       "incoterms", "FOB", "CIF"},
      language);
  std::string found, missing;
  for (const auto& [name, hit] :
       {std::pair<const char*, const std::string*>{"time", &time}, {"place", &place}, {"manner", &manner}}) {
    std::string& list = hit->empty() ? missing : found;
    list += (list.empty() ? "" : ", ") + std::string(name) + (hit->empty() ? "" : " " + quoted(*hit));
  }
  const int count = !time.empty() + !place.empty() + !manner.empty();
  const std::string basis = join(l ? "clause label " + quoted(l->id) : "", found);
  if (count == 3 || (count == 2 && l)) {
    set(e, ElementStatus::kPresent, basis, missing.empty() ? "" : "not found: " + missing);
  } else if (count > 0 || l) {
    set(e, ElementStatus::kAmbiguous, basis, "not found: " + missing);
  } else {
    set(e, ElementStatus::kAbsent, "", "no time, place or manner of performance");
  }
  return e;
}

ElementCheck check_breach(std::string_view s, const std::vector<ClauseLabel>& clauses, Language language) {
  ElementCheck e = make("breach", "违约责任");
  if (const ClauseLabel* l = label(clauses, {"breach", "liquidated", "deposit", "compensation"})) {
    set(e, ElementStatus::kPresent, "clause label " + quoted(l->id));
  } else if (auto k =
                 first_keyword(s, {"违约责任", "违约金", "赔偿损失", "违约", "定金", "赔偿"},
                               {"breach", "liquidated damages", "event of default", "indemnif*", "damages"}, language);
             !k.empty()) {
    set(e, ElementStatus::kPresent, "keyword " + quoted(k));
  } else {
    set(e, ElementStatus::kAbsent, "");
  }
  return e;
}

// Negotiation or mediation of disputes: inside a dispute clause any 协商/negotiate counts; elsewhere
// only in a sentence about disputes (经协商一致 is how contracts are made, not how disputes end).
std::string negotiation(std::string_view scope, bool labelled, Language language) {
  const Words zh = {"协商", "调解"}, en = {"negotiat*", "mediat*", "amicabl*"};
  if (labelled) return first_keyword(scope, zh, en, language);
  std::vector<std::string> keys;
  for (const char* k : zh) keys.emplace_back(k);
  for (const char* k : en) keys.emplace_back(k);
  for (const auto& hit : text::find_keywords(scope, keys)) {
    const size_t from = scan::clause_start(scope, hit.begin, kSentenceBytes, false);
    const size_t to = scan::clause_end(scope, hit.end, kSentenceBytes, false);
    if (!first_keyword(scope.substr(from, to - from), {"争议", "纠纷"}, {"dispute*"}, language).empty())
      return std::string(scope.substr(hit.begin, hit.end - hit.begin));
  }
  return "";
}

ElementCheck check_dispute(std::string_view s, const std::vector<ClauseLabel>& clauses, Language language) {
  ElementCheck e = make("dispute", "解决争议的方法");
  const ClauseLabel* l = label(clauses, {"dispute"});
  // Within the dispute clauses when they are labelled, else the whole text.
  std::string scope;
  if (l) {
    for (const ClauseLabel& c : clauses)
      if (c.id == "dispute" && c.begin <= c.end && c.end <= s.size())
        scope += std::string(s.substr(c.begin, c.end - c.begin)) + "\n";
  } else {
    scope = std::string(s);
  }
  const Words arb_zh = {"仲裁"}, arb_en = {"arbitration", "arbitrat*"};
  const Words court_zh = {"人民法院", "法院", "诉讼", "起诉"}, court_en = {"court", "courts", "litigation", "sue"};
  const std::string arb = first_keyword(scope, arb_zh, arb_en, language);
  const std::string court = first_keyword(scope, court_zh, court_en, language);
  const std::string by_label = l ? "clause label " + quoted(l->id) : "";
  if (!arb.empty()) {
    // 或裁或诉: arbitration and a court offered for the same disputes in one sentence.
    std::vector<std::string> arb_keys;
    for (const char* k : arb_zh) arb_keys.emplace_back(k);
    for (const char* k : arb_en) arb_keys.emplace_back(k);
    bool either_or = false;
    for (const auto& hit : text::find_keywords(scope, arb_keys)) {
      const size_t from = scan::clause_start(scope, hit.begin, kSentenceBytes, false);
      const size_t to = scan::clause_end(scope, hit.end, kSentenceBytes, false);
      std::string_view sentence = std::string_view(scope).substr(from, to - from);
      // Enforcing or setting aside an award involves a court without being a choice of forum.
      if (!first_keyword(sentence, court_zh, court_en, language).empty() &&
          first_keyword(sentence, {"执行", "撤销"}, {"enforce*", "set aside", "judgment upon the award"}, language)
              .empty())
        either_or = true;
    }
    const std::string institution =
        first_keyword(scope, {"仲裁委员会", "仲裁院", "仲裁中心", "国际经济贸易仲裁"},
                      {"CIETAC", "SHIAC", "SIAC", "HKIAC", "ICC", "LCIA", "JAMS", "American Arbitration Association",
                       "arbitration commission", "arbitration centre", "arbitration center", "court of arbitration",
                       "arbitration institute"},
                      language);
    if (either_or) {
      set(e, ElementStatus::kAmbiguous, join(by_label, "keywords " + quoted(arb) + " and " + quoted(court)),
          "arbitration and a court are both offered for the same disputes; such an arbitration agreement is "
          "usually held invalid");
    } else if (institution.empty()) {
      set(e, ElementStatus::kAmbiguous, join(by_label, "keyword " + quoted(arb)),
          "arbitration without a named arbitration institution (仲裁法 Art. 16, 18)");
    } else {
      set(e, ElementStatus::kPresent, join(by_label, "arbitration at " + quoted(institution)));
    }
  } else if (!court.empty()) {
    set(e, ElementStatus::kPresent, join(by_label, "keyword " + quoted(court)));
  } else if (auto k = negotiation(scope, l != nullptr, language); !k.empty() || l) {
    set(e, ElementStatus::kAmbiguous, join(by_label, k.empty() ? "" : "keyword " + quoted(k)),
        "no final method (arbitration or a court) is named");
  } else {
    set(e, ElementStatus::kAbsent, "");
  }
  return e;
}

// A label reaches to the next label (or the end of the text): a heading segment "第六条 争议解决"
// is often labelled on its own while its body is a separate segment. Spans are clamped to the text.
std::vector<ClauseLabel> sections(std::vector<ClauseLabel> clauses, size_t size) {
  for (ClauseLabel& c : clauses) {
    c.end = std::min(c.end, size);
    c.begin = std::min(c.begin, c.end);
  }
  std::stable_sort(clauses.begin(), clauses.end(),
                   [](const ClauseLabel& a, const ClauseLabel& b) { return a.begin < b.begin; });
  for (size_t i = 0; i < clauses.size(); ++i) {
    size_t next = size;
    for (size_t j = i + 1; j < clauses.size(); ++j)
      if (clauses[j].begin > clauses[i].begin) {
        next = clauses[j].begin;
        break;
      }
    clauses[i].end = std::max(clauses[i].end, next);
  }
  return clauses;
}

}  // namespace

std::string_view element_status_name(ElementStatus status) {
  switch (status) {
    case ElementStatus::kPresent: return "present";
    case ElementStatus::kAmbiguous: return "ambiguous";
    case ElementStatus::kAbsent: return "absent";
  }
  return "absent";
}

std::vector<ElementCheck> check_completeness(std::string_view s, const std::vector<ClauseLabel>& labels,
                                             Language language) {
  const std::vector<ClauseLabel> clauses = sections(labels, s.size());
  return {check_parties(s, clauses, language),  check_subject(s, clauses, language),
          check_quantity(s, clauses, language), check_quality(s, clauses, language),
          check_price(s, clauses, language),    check_performance(s, clauses, language),
          check_breach(s, clauses, language),   check_dispute(s, clauses, language)};
}

}  // namespace ds::legal
