#include "parties.h"

#include <algorithm>
#include <optional>

#include "ds/plugin_text.h"
#include "scan.h"

namespace ds::legal {
namespace {

namespace text = ds::sdk::text;

constexpr size_t kMaxNameBytes = 120;       // longer "names" are sentences that start with a role word
constexpr size_t kMaxRoleParenBytes = 45;   // 甲方(出租方), 甲方(盖章), (以下简称"甲方")
constexpr size_t kNameLookBackBytes = 240;  // how far back an English definition's name may start
constexpr int kAddressLinesAfter = 5;

struct Role {
  std::string_view word;
  std::string_view id;
};

// Longest first where one word starts another at the same place.
constexpr Role kChineseRoles[] = {
    {"被许可方", "licensee"},
    {"用人单位", "employer"},
    {"甲方", "party_a"},
    {"乙方", "party_b"},
    {"丙方", "party_c"},
    {"丁方", "party_d"},
    {"出卖人", "seller"},
    {"买受人", "buyer"},
    {"出租人", "lessor"},
    {"承租人", "lessee"},
    {"出租方", "lessor"},
    {"承租方", "lessee"},
    {"委托方", "principal"},
    {"受托方", "agent"},
    {"委托人", "principal"},
    {"受托人", "agent"},
    {"借款人", "borrower"},
    {"贷款人", "lender"},
    {"出借人", "lender"},
    {"供货方", "seller"},
    {"采购方", "buyer"},
    {"买方", "buyer"},
    {"卖方", "seller"},
    {"供方", "seller"},
    {"需方", "buyer"},
    {"发包人", "employer"},
    {"发包方", "employer"},
    {"承包人", "contractor"},
    {"承包方", "contractor"},
    {"转让方", "assignor"},
    {"受让方", "assignee"},
    {"转让人", "assignor"},
    {"受让人", "assignee"},
    {"许可方", "licensor"},
    {"服务方", "service_provider"},
    {"保证人", "guarantor"},
    {"担保人", "guarantor"},
    {"劳动者", "employee"},
    {"投资方", "investor"},
};

// Lower-case; multi-word roles before their last word ("service provider" before "provider").
constexpr std::string_view kEnglishRoles[] = {
    "party a",      "party b",   "party c",    "service provider", "disclosing party", "receiving party", "buyer",
    "seller",       "purchaser", "vendor",     "supplier",         "customer",         "client",          "lessor",
    "lessee",       "landlord",  "tenant",     "licensor",         "licensee",         "employer",        "employee",
    "executive",    "company",   "consultant", "contractor",       "subcontractor",    "provider",        "distributor",
    "manufacturer", "agent",     "principal",  "borrower",         "lender",           "guarantor",       "investor",
    "assignor",     "assignee",  "franchisor", "franchisee",       "discloser",        "recipient",       "owner",
    "developer",    "reseller",
};

// Defined terms that are never parties, even inside "between ... and ...".
constexpr std::string_view kNotParties[] = {
    "agreement", "effective date", "products", "services", "territory", "confidential information",
    "term",      "parties",        "party",    "affiliate"};

constexpr std::string_view kAddressLabels[] = {
    "住所地",   "住所", "注册地址", "通讯地址",           "联系地址",          "营业地址",
    "办公地址", "地址", "住址",     "registered address", "registered office", "principal place of business",
    "address",
};

const Role* chinese_role_at(std::string_view s, size_t pos) {
  for (const Role& r : kChineseRoles)
    if (s.substr(pos, r.word.size()) == r.word) return &r;
  return nullptr;
}

std::optional<std::string_view> english_role_at(std::string_view s, size_t pos) {
  for (std::string_view r : kEnglishRoles)
    if (scan::word_at(s, pos, r)) return r;
  return std::nullopt;
}

// Trailing punctuation and blanks off a name or address. A final "." stays when it ends an
// abbreviation ("ABC Corp.", "Co.", "St.") and goes after a longer word ("Springfield.").
std::string_view clean_tail(std::string_view v) {
  v = text::trim(v);
  for (bool again = true; again && !v.empty();) {
    again = false;
    for (std::string_view p : {",", "，", ";", "；", "。", "、", ":", "："}) {
      if (v.size() >= p.size() && v.substr(v.size() - p.size()) == p) {
        v = text::trim(v.substr(0, v.size() - p.size()));
        again = true;
      }
    }
    if (!v.empty() && v.back() == '.') {
      const size_t space = v.find_last_of(' ');
      const std::string word = text::ascii_lowercase(v.substr(space == std::string_view::npos ? 0 : space + 1));
      // Short words are abbreviations (Co., Inc., Ltd., Bhd., St.); a few longer ones are listed.
      static constexpr std::string_view kAbbreviations[] = {"corp.", "l.l.c.", "n.a.", "s.a.", "n.v.", "b.v.", "ave."};
      const bool abbreviation = word.size() <= 4 || std::find(std::begin(kAbbreviations), std::end(kAbbreviations),
                                                              word) != std::end(kAbbreviations);
      if (!abbreviation) {
        v = text::trim(v.substr(0, v.size() - 1));
        again = true;
      }
    }
  }
  return v;
}

bool only_blanks(std::string_view v) {
  for (size_t i = 0; i < v.size(); i = text::utf8_next(v, i)) {
    const size_t n = text::utf8_next(v, i) - i;
    std::string_view c = v.substr(i, n);
    if (c != "_" && c != " " && c != "＿" && c != "　" && c != "/" && c != "-" && c != "\t") return false;
  }
  return true;
}

// A name ends before a definition that follows it: XX公司(以下简称"甲方"), ABC Inc. (hereinafter ...).
std::string_view cut_name(std::string_view v) {
  for (std::string_view marker : {"(以下简称", "（以下简称", "(下称", "（下称", "(hereinafter", "(the \"", "(\""}) {
    const size_t at = v.find(marker);
    if (at != std::string_view::npos) v = v.substr(0, at);
  }
  return clean_tail(v);
}

struct Line {
  size_t begin;  // after leading blanks
  size_t end;    // before the line break
};

std::vector<Line> lines_of(std::string_view s) {
  std::vector<Line> out;
  size_t i = 0;
  while (i <= s.size()) {
    size_t nl = s.find('\n', i);
    if (nl == std::string_view::npos) nl = s.size();
    size_t b = scan::skip_blanks(s, i, 64);
    size_t e = nl;
    while (e > b && (s[e - 1] == '\r' || s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
    out.push_back({std::min(b, e), e});
    if (nl >= s.size()) break;
    i = nl + 1;
  }
  return out;
}

// The address on a line that starts with an address label ("住所:…", "Address: …"), or nullopt.
std::optional<std::string> address_on(std::string_view line) {
  for (std::string_view label : kAddressLabels) {
    if (!scan::word_at(line, 0, label)) continue;
    size_t p = scan::skip_blanks(line, label.size(), 2);
    // 住所(地址): a parenthetical after the label.
    if (const size_t open = scan::open_paren_at(line, p)) {
      size_t close = p + open;
      while (close < line.size() && !scan::close_paren_at(line, close) && close - p < 30)
        close = text::utf8_next(line, close);
      if (const size_t c = scan::close_paren_at(line, close)) p = scan::skip_blanks(line, close + c, 2);
    }
    const size_t colon = scan::colon_at(line, p);
    if (!colon) continue;
    std::string_view value = clean_tail(line.substr(p + colon));
    return only_blanks(value) ? std::string() : std::string(value);
  }
  return std::nullopt;
}

bool starts_party_line(std::string_view line) {
  return chinese_role_at(line, 0) != nullptr || (english_role_at(line, 0) && line.find(':') != std::string_view::npos);
}

// "ABC Corp., a Delaware corporation with its principal place of business at 1 Main St" -> the
// name before the first descriptor and the address after an address cue in it.
struct NameAndAddress {
  std::string_view name;
  std::string address;
};

NameAndAddress split_descriptor(std::string_view segment) {
  NameAndAddress out{segment, ""};
  const std::string lowered = text::ascii_lowercase(segment);
  size_t d = std::string::npos;
  for (std::string_view marker :
       {", a ", ", an ", ", with ", ", having ", ", whose ", ", residing ", ", located ", ", of "}) {
    const size_t at = lowered.find(marker);
    if (at != std::string::npos && at < d) d = at;
  }
  if (d == std::string::npos) {
    out.name = clean_tail(segment);
    return out;
  }
  out.name = clean_tail(segment.substr(0, d));
  std::string_view descriptor = segment.substr(d);
  const std::string desc_lower = lowered.substr(d);
  for (std::string_view cue : {"place of business at ", "office at ", "offices at ", "residing at ", "located at ",
                               "address at ", "domiciled at ", "address is ", ", of "}) {
    const size_t at = desc_lower.find(cue);
    if (at != std::string::npos) {
      out.address = std::string(clean_tail(descriptor.substr(at + cue.size())));
      break;
    }
  }
  return out;
}

// "甲方(出租方):XX", "乙方:张三", "Buyer: ABC Co., Ltd." on one line.
std::optional<Party> party_line(std::string_view s, const Line& line) {
  std::string_view l = s.substr(line.begin, line.end - line.begin);
  Party p;
  size_t pos = 0;
  if (const Role* r = chinese_role_at(l, 0)) {
    p.role = std::string(r->word);
    p.role_id = std::string(r->id);
    pos = r->word.size();
  } else if (auto e = english_role_at(l, 0); e && l[0] >= 'A' && l[0] <= 'Z') {
    p.role = std::string(l.substr(0, e->size()));
    p.role_id = role_id_for(p.role);
    pos = e->size();
  } else {
    return std::nullopt;
  }
  pos = scan::skip_blanks(l, pos, 2);
  if (const size_t open = scan::open_paren_at(l, pos)) {
    size_t close = pos + open;
    while (close < l.size() && !scan::close_paren_at(l, close) && close - pos < kMaxRoleParenBytes)
      close = text::utf8_next(l, close);
    const size_t c = scan::close_paren_at(l, close);
    if (!c) return std::nullopt;
    std::string_view inner = text::trim(l.substr(pos + open, close - pos - open));
    for (std::string_view lead : {"以下简称", "下称", "即"})
      if (inner.substr(0, lead.size()) == lead) inner = text::trim(inner.substr(lead.size()));
    while (!inner.empty() && scan::quote_at(inner, 0)) inner.remove_prefix(scan::quote_at(inner, 0));
    while (!inner.empty() && (inner.back() == '"' || (inner.size() >= 3 && (inner.substr(inner.size() - 3) == "”" ||
                                                                            inner.substr(inner.size() - 3) == "“"))))
      inner.remove_suffix(inner.back() == '"' ? 1 : 3);
    if (const std::string alias_id = role_id_for(inner); !alias_id.empty()) {
      p.role_alias = std::string(inner);
      // 出租方(甲方): the 甲/乙 letter is the more useful id.
      if (alias_id.rfind("party_", 0) == 0) p.role_id = alias_id;
    }
    pos = scan::skip_blanks(l, close + c, 2);
  }
  for (std::string_view filler : {"名称", "全称", "姓名"})
    if (l.substr(pos, filler.size()) == filler) pos = scan::skip_blanks(l, pos + filler.size(), 2);
  const size_t colon = scan::colon_at(l, pos);
  if (!colon) return std::nullopt;
  std::string_view rest = l.substr(pos + colon);
  std::string_view name;
  if (text::is_ascii(p.role)) {
    // "Recipient: Kestrel Sdn. Bhd., a company incorporated in Malaysia, of Level 12, ... ("Kestrel")"
    const NameAndAddress na = split_descriptor(cut_name(rest));
    name = na.name;
    p.address = na.address;
  } else {
    // "出借人(甲方):赵国平,男,…,住址:…": the name ends at the first comma; an address may follow.
    const size_t comma = std::min({rest.find(','), rest.find("，"), rest.find(';'), rest.find("；")});
    name = cut_name(rest.substr(0, comma));
    if (comma != std::string_view::npos) {
      std::string_view tail = rest.substr(comma);
      for (std::string_view label : kAddressLabels) {
        const size_t at = tail.find(label);
        if (at == std::string_view::npos || text::is_ascii(label)) continue;
        const size_t after = at + label.size();
        if (const size_t c = scan::colon_at(tail, after)) {
          std::string_view value = tail.substr(after + c);
          value = value.substr(0, std::min({value.find(','), value.find("，"), value.find(';'), value.find("；")}));
          p.address = std::string(clean_tail(value));
          break;
        }
      }
    }
  }
  if (name.size() > kMaxNameBytes || name.find("。") != std::string_view::npos) return std::nullopt;
  // "甲方:应按时付款" is an obligation under a role heading, not a party.
  for (std::string_view verb : {"应", "须", "负责", "有权", "承担", "保证", "同意", "不得", "可以", "将", "在", "于"})
    if (name.substr(0, verb.size()) == verb) return std::nullopt;
  if (only_blanks(name)) {
    p.warnings.push_back("name left blank");
  } else {
    p.name = std::string(name);
  }
  p.begin = line.begin;
  p.end = line.end;
  return p;
}

// XX有限公司(以下简称"甲方") inside a sentence: the role after 以下简称/下称 and the name before the
// parenthesis.
std::vector<Party> chinese_definitions(std::string_view s) {
  std::vector<Party> out;
  for (std::string_view marker : {"以下简称", "下称"}) {
    for (size_t at = s.find(marker); at != std::string_view::npos; at = s.find(marker, at + marker.size())) {
      if (marker == "下称" && at >= 3 && s.substr(at - 3, 3) == "以") continue;  // found as 以下简称
      // The parenthesis just before the marker.
      size_t open = std::string_view::npos;
      for (size_t back = 1; back <= 4 && back <= at; ++back)
        if (scan::open_paren_at(s, at - back) && scan::open_paren_at(s, at - back) == back) open = at - back;
      if (open == std::string_view::npos) continue;
      size_t p = at + marker.size();
      if (s.substr(p, 3) == "为") p += 3;
      p += scan::colon_at(s, p);
      p += scan::quote_at(s, p);
      const Role* r = chinese_role_at(s, p);
      if (!r) continue;
      size_t q = p + r->word.size();
      q += scan::quote_at(s, q);
      const size_t close = scan::close_paren_at(s, q);
      if (!close) continue;
      // The name: back to the start of the clause or a joining word.
      size_t from = scan::clause_start(s, open, kNameLookBackBytes, true);
      std::string_view before = s.substr(from, open - from);
      for (std::string_view joiner : {"：", ":", "与", "和", "由", "及", "是"}) {
        const size_t j = before.rfind(joiner);
        if (j != std::string_view::npos) {
          before = before.substr(j + joiner.size());
          from = open - before.size();
        }
      }
      std::string_view name = clean_tail(before);
      if (name.empty() || name.size() > kMaxNameBytes) continue;
      Party party;
      party.begin = from + before.find(name);
      party.end = q + close;
      party.name = std::string(name);
      party.role = std::string(r->word);
      party.role_id = std::string(r->id);
      out.push_back(std::move(party));
    }
  }
  return out;
}

bool is_between_sentence(std::string_view s, size_t pos) {
  const size_t from = scan::clause_start(s, pos, 600, false);
  const std::string lowered = text::ascii_lowercase(s.substr(from, pos - from));
  return lowered.find("between") != std::string::npos || lowered.find("among") != std::string::npos ||
         lowered.find("entered into by") != std::string::npos;
}

// The quoted terms of a definition parenthesis starting at `open`: ("Licensor"), (the "Supplier"),
// (hereinafter referred to as "Buyer"), ("we", "us" or the "Landlord"). Empty if it is not one.
struct Definition {
  std::vector<std::string_view> terms;
  size_t close = 0;  // the closing parenthesis
};

Definition definition_at(std::string_view s, size_t open) {
  Definition d;
  size_t p = scan::skip_blanks(s, open + 1, 2);
  for (std::string_view lead : {"hereinafter referred to as", "hereinafter called", "hereinafter", "referred to as"}) {
    if (scan::word_at(s, p, lead)) {
      p = scan::skip_blanks(s, p + lead.size(), 2);
      if (p < s.size() && s[p] == ',') p = scan::skip_blanks(s, p + 1, 2);
      break;
    }
  }
  while (p < s.size() && d.terms.size() < 6) {
    for (bool again = true; again;) {
      again = false;
      for (std::string_view filler : {"the", "or", "and", "collectively"})
        if (scan::word_at(s, p, filler)) {
          p = scan::skip_blanks(s, p + filler.size(), 2);
          again = true;
        }
    }
    const size_t q1 = scan::quote_at(s, p);
    if (!q1) break;
    size_t term_end = p + q1;
    while (term_end < s.size() && !scan::quote_at(s, term_end) && term_end - p < 40 &&
           (text::is_ascii_alnum(s[term_end]) || s[term_end] == ' ' || s[term_end] == '-' || s[term_end] == '\''))
      ++term_end;
    const size_t q2 = scan::quote_at(s, term_end);
    if (!q2 || term_end == p + q1) break;
    d.terms.push_back(s.substr(p + q1, term_end - p - q1));
    p = term_end + q2;
    if (p < s.size() && s[p] == ',') ++p;
    p = scan::skip_blanks(s, p, 2);
    if (p < s.size() && s[p] == ')') {
      d.close = p;
      return d;
    }
  }
  d.terms.clear();
  return d;
}

// 'ABC Corp., a Delaware corporation with its principal place of business at 1 Main St ("Licensor")'.
std::vector<Party> english_definitions(std::string_view s) {
  std::vector<Party> out;
  for (size_t open = s.find('('); open != std::string_view::npos; open = s.find('(', open + 1)) {
    const Definition def = definition_at(s, open);
    if (def.terms.empty()) continue;
    // The first term that is a party role; else, in a "between" sentence, the first term.
    std::string_view role;
    std::string id;
    for (std::string_view t : def.terms) {
      if (!(id = role_id_for(t)).empty()) {
        role = t;
        break;
      }
    }
    if (id.empty()) {
      role = def.terms.front();
      const std::string lowered_role = text::ascii_lowercase(role);
      const bool defined_term =
          std::find(std::begin(kNotParties), std::end(kNotParties), lowered_role) != std::end(kNotParties);
      if (defined_term || !is_between_sentence(s, open)) continue;
      id = lowered_role;
      std::replace(id.begin(), id.end(), ' ', '_');
    }
    // The name: back to "between", "and", a previous definition's ")" or the start of the clause.
    size_t from = scan::clause_start(s, open, kNameLookBackBytes, false);
    std::string_view before = s.substr(from, open - from);
    const std::string lowered = text::ascii_lowercase(before);
    size_t cut = 0;
    for (std::string_view joiner : {"by and between ", "between ", "by and among ", "among ", " and ", ")", "by "}) {
      const size_t j = lowered.rfind(joiner);
      if (j != std::string::npos && j + joiner.size() > cut) cut = j + joiner.size();
    }
    std::string_view segment = text::trim(before.substr(cut));
    // A party block line: "Between: X (...)", "And: Y (...)".
    for (std::string_view label : {"between:", "and:"}) {
      if (scan::starts_with_ci(segment, 0, label)) segment = text::trim(segment.substr(label.size()));
    }
    const NameAndAddress na = split_descriptor(segment);
    if (na.name.empty() || na.name.size() > kMaxNameBytes) continue;
    Party party;
    party.begin = static_cast<size_t>(na.name.data() - s.data());
    party.end = def.close + 1;
    party.name = std::string(na.name);
    party.role = std::string(role);
    party.role_id = id;
    party.address = na.address;
    out.push_back(std::move(party));
  }
  return out;
}

}  // namespace

std::string role_id_for(std::string_view role) {
  role = text::trim(role);
  for (const Role& r : kChineseRoles)
    if (role == r.word) return std::string(r.id);
  std::string lowered = text::ascii_lowercase(role);
  for (std::string_view e : kEnglishRoles) {
    if (lowered == e) {
      std::replace(lowered.begin(), lowered.end(), ' ', '_');
      return lowered;
    }
  }
  return "";
}

std::vector<Party> find_parties(std::string_view s) {
  std::vector<Party> found;
  const std::vector<Line> lines = lines_of(s);
  for (size_t i = 0; i < lines.size(); ++i) {
    auto party = party_line(s, lines[i]);
    if (!party) continue;
    // An address on one of the next lines, before the next party.
    for (size_t k = i + 1; k < lines.size() && k <= i + kAddressLinesAfter; ++k) {
      std::string_view l = s.substr(lines[k].begin, lines[k].end - lines[k].begin);
      if (starts_party_line(l)) break;
      if (auto a = address_on(l)) {
        party->address = *a;
        break;
      }
    }
    found.push_back(std::move(*party));
  }
  for (Party& p : chinese_definitions(s)) found.push_back(std::move(p));
  for (Party& p : english_definitions(s)) found.push_back(std::move(p));
  std::stable_sort(found.begin(), found.end(), [](const Party& a, const Party& b) { return a.begin < b.begin; });

  std::vector<Party> out;
  for (Party& p : found) {
    bool repeat = false;
    for (Party& seen : out) {
      // The same name under another role word (出借人(甲方) above, 出借人(签字) below; "Seller" and
      // its defined name) is the same party.
      if (!p.name.empty() && text::ascii_lowercase(seen.name) == text::ascii_lowercase(p.name)) {
        repeat = true;
        if (seen.address.empty()) seen.address = p.address;
        break;
      }
      if (seen.role_id != p.role_id) continue;
      if (p.name.empty() || p.name == seen.name) {
        repeat = true;
        if (seen.address.empty()) seen.address = p.address;
        break;
      }
      if (seen.name.empty()) {
        // A blank template line first, the name later: keep the named one.
        seen = std::move(p);
        repeat = true;
        break;
      }
    }
    if (!repeat) out.push_back(std::move(p));
  }
  return out;
}

}  // namespace ds::legal
