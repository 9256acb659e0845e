// Keyword baseline for contract clause classification (until the trained clause head exists).
//
// Categories use the unified zh/en clause taxonomy ids (parties, payment, breach, liquidated, ...).
// A clause is classified by the keywords in its heading (first line, numbering removed), then in
// its body; see classify_clause for the scores.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "language.h"

namespace ds::legal {

struct ClauseCategory {
  std::string id;                     // taxonomy id, the annotation label
  std::vector<std::string> keywords;  // zh and en; see ds::sdk::text::find_keywords for matching
};

// The bilingual keyword table, in priority order (earlier wins a tie).
const std::vector<ClauseCategory>& clause_categories();

struct ClauseMatch {
  std::string category;
  std::string keyword;  // the text that matched, as written in the document
  double score = 0.0;
};

// Scores: 0.9 for a keyword in a title-like heading (a short first line without closing
// punctuation), 0.7 in a first line that is a sentence, 0.4 in the body only. Within one place the
// earliest keyword wins, then the longest (so "违约金" beats "违约"). nullopt: no keyword at all.
std::optional<ClauseMatch> classify_clause(std::string_view heading, std::string_view body, Language language);

// The first line of a clause with its numbering ("第八条", "8.1", "(a)", `number`) removed and
// whitespace trimmed.
std::string_view clause_heading(std::string_view clause_text, std::string_view number);

}  // namespace ds::legal
