// A completeness checklist for Chinese contracts against Civil Code Art. 470 (民法典第四百七十条),
// whose list of contents is advisory (一般包括): a missing item is a hint for review, never a sign of
// an invalid contract. The eight elements and their ids:
//   parties      当事人的姓名或者名称和住所 (names and domiciles)
//   subject      标的
//   quantity     数量
//   quality      质量
//   price        价款或者报酬
//   performance  履行期限、地点和方式 (time, place and manner)
//   breach       违约责任
//   dispute      解决争议的方法
// Each is present, absent or ambiguous, decided from the clause labels already found (the unified
// taxonomy ids of legal.clauses: parties, subject, quantity, quality, warranty, price, payment,
// performance, term, breach, liquidated, deposit, compensation, dispute ...) and, where no label
// settles it, from keywords and the value normalizers (parties with addresses, money amounts,
// dates and durations). Pure functions, thread-safe; nothing throws.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "language.h"

namespace ds::legal {

enum class ElementStatus { kPresent, kAbsent, kAmbiguous };

std::string_view element_status_name(ElementStatus status);  // "present", "absent", "ambiguous"

struct ClauseLabel {
  std::string id;    // taxonomy id
  size_t begin = 0;  // bytes in the text the checklist is run on
  size_t end = 0;
};

struct ElementCheck {
  std::string id;        // "parties", "subject", ... (see above)
  std::string title_zh;  // "当事人的姓名或者名称和住所"
  ElementStatus status = ElementStatus::kAbsent;
  std::string basis;  // what decided it: "clause label 'price'", "keyword '数量'", "2 parties with addresses"
  std::string note;   // for ambiguous (and some absent) results: what is missing or unclear
};

// The eight elements, in Art. 470 order. A label's span is taken to reach to the next label's start
// (or the end of the text), since a heading is often labelled apart from its body. `language`
// restricts the keyword fallbacks (kAuto: both).
std::vector<ElementCheck> check_completeness(std::string_view text, const std::vector<ClauseLabel>& clauses,
                                             Language language = Language::kAuto);

}  // namespace ds::legal
