// Turning a free-text question into the terms the KB search uses. Pure functions, thread-safe.
//
// The query is split into ASCII/Latin words and runs of CJK ideographs at everything else
// (spaces, punctuation, symbols, CJK punctuation); full-width ASCII forms fold to ASCII and ASCII
// letters to lower case. English stop words are dropped.
//   - full-text (FTS5 trigram) terms: words of 3+ characters, and every 3-character window of a
//     CJK run of 3+ characters (a trigram index matches substrings of 3+ characters only);
//   - substring terms: words and CJK runs of 1-2 characters (头痛, 发烧), and for longer CJK runs
//     the run itself (up to 12 characters) plus each 2-character window (Chinese words are mostly
//     two characters and a question has no spaces: 我头痛发烧 -> 头痛, 发烧, ...);
//   Function characters (我, 的, 了, 得, 很, 吗, ...) split a Chinese run into content pieces
//   (我的牙很疼 -> 牙, 疼), each treated like a run, and windows holding a filler word (厉害, 什么,
//   感觉, ...) are left out: they say nothing about the topic;
//   - words: every kept word (the substring pass looks them up too).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ds::medical::kb {

struct QueryTerms {
  std::vector<std::string> fts;
  std::vector<std::string> substring;
  std::vector<std::string> words;
  bool has_cjk = false;  // the query has CJK ideographs (auto language: zh)
};

// At most kMaxTerms terms of each kind are kept (a pasted paragraph stays cheap).
constexpr size_t kMaxTerms = 64;

QueryTerms analyze_query(std::string_view query);

// An FTS5 MATCH expression that ORs the terms, each as a quoted string ("" inside doubled), so no
// input can be read as FTS5 syntax (AND, NEAR, parentheses, column filters, a lone quote).
// Empty when there are no terms.
std::string fts_match_expression(const std::vector<std::string>& terms);

// Number of UTF-8 characters (code points) in `s`.
size_t utf8_length(std::string_view s);

}  // namespace ds::medical::kb
