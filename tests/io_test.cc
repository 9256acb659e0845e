// Reader (file discovery, reading, hashing) and tokenizer (SentencePiece spans) tests.
#include <gtest/gtest.h>

#include "core/hash.h"
#include "io/reader.h"
#include "test_util.h"
#include "tokenize/tokenizer.h"

namespace ds {
namespace {

namespace fs = std::filesystem;
using test::TempDir;
using test::write_file;

std::vector<std::string> names(const std::vector<InputEntry>& entries, const fs::path& root) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back(fs::relative(e.path, root).string() + (e.error.empty() ? "" : " !"));
  return out;
}

TEST(Reader, ListsFoldersRecursivelyInSortedOrderWithGlobs) {
  TempDir tmp;
  write_file(tmp / "b.txt", "b");
  write_file(tmp / "a.md", "a");
  write_file(tmp / "sub/c.txt", "c");
  write_file(tmp / "sub/deeper/d.txt", "d");
  write_file(tmp / "sub/skip.bin", "x");
  InputSpec spec;
  spec.paths = {tmp.path().string()};
  spec.include = {"*.txt", "*.md"};
  EXPECT_EQ(names(list_inputs(spec), tmp.path()),
            (std::vector<std::string>{"a.md", "b.txt", "sub/c.txt", "sub/deeper/d.txt"}));
  spec.recursive = false;
  EXPECT_EQ(names(list_inputs(spec), tmp.path()), (std::vector<std::string>{"a.md", "b.txt"}));
  spec.recursive = true;
  spec.exclude = {"c.*"};
  EXPECT_EQ(names(list_inputs(spec), tmp.path()), (std::vector<std::string>{"a.md", "b.txt", "sub/deeper/d.txt"}));
}

TEST(Reader, MissingPathsBecomeEntriesWithAnError) {
  TempDir tmp;
  write_file(tmp / "x.bin", "x");
  InputSpec spec;
  spec.paths = {(tmp / "nope").string(), (tmp / "x.bin").string()};
  spec.include = {"*.txt"};  // explicitly named files are taken whatever their name
  auto entries = list_inputs(spec);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_NE(entries[0].error.find("no such file or folder"), std::string::npos);
  EXPECT_TRUE(entries[1].error.empty());
  Document missing = read_document(entries[0], 1 << 20);
  EXPECT_TRUE(missing.failed());
  EXPECT_EQ(missing.failed_stage, "read");
}

TEST(Reader, ReadsBytesAndHashesThem) {
  TempDir tmp;
  write_file(tmp / "a.txt", "abc");
  Document d = read_document({(tmp / "a.txt").string(), ""}, 1 << 20);
  ASSERT_FALSE(d.failed()) << d.error;
  EXPECT_EQ(d.bytes, "abc");
  EXPECT_EQ(d.source.size, 3u);
  EXPECT_EQ(d.source.content_hash, sha256_tagged("abc"));
  Document big = read_document({(tmp / "a.txt").string(), ""}, 2);
  EXPECT_TRUE(big.failed());
  EXPECT_NE(big.error.find("over input.max_file_bytes (2)"), std::string::npos) << big.error;
}

fs::path shipped_tokenizer() { return test::source_dir() / "data/models/tokenizer.model"; }

TEST(Tokenizer, SpansCoverTheTextExactly) {
  Tokenizer tok(shipped_tokenizer().string());
  std::string text = "第一条 甲方应支付人民币500,000元。\nThe Licensee shall pay USD 120,000.";
  std::vector<Token> tokens;
  tok.encode(text, 0, tokens);
  ASSERT_GT(tokens.size(), 10u);
  size_t prev_end = 0;
  for (const Token& t : tokens) {
    EXPECT_LE(t.span.begin, t.span.end);
    EXPECT_LE(t.span.end, text.size());
    EXPECT_GE(t.span.begin, prev_end > 0 ? prev_end - 4 : 0);  // byte pieces may share a span
    prev_end = t.span.end;
    EXPECT_NE(t.id, 1) << "no unknown tokens (byte fallback)";
  }
  // Every non-space byte of the text belongs to some token.
  std::vector<bool> covered(text.size(), false);
  for (const Token& t : tokens)
    for (size_t i = t.span.begin; i < t.span.end; ++i) covered[i] = true;
  for (size_t i = 0; i < text.size(); ++i)
    if (text[i] != ' ' && text[i] != '\n') EXPECT_TRUE(covered[i]) << "byte " << i << " uncovered";
}

TEST(Tokenizer, ByteFallbackPiecesShareTheCharactersSpan) {
  Tokenizer tok(shipped_tokenizer().string());
  std::string text = "\xF0\xA0\x80\x80";  // U+20000, a rare CJK Extension B character
  std::vector<Token> tokens;
  tok.encode(text, 100, tokens);
  ASSERT_GE(tokens.size(), 1u);
  for (const Token& t : tokens) {
    if (tok.piece(t.id) == "\xE2\x96\x81") continue;  // the leading word-boundary piece
    EXPECT_EQ(t.span, (Span{100, 104})) << tok.piece(t.id);
  }
}

TEST(Tokenizer, MissingModelIsAClearError) {
  try {
    Tokenizer tok("/nonexistent/tok.model");
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("[tokenize] cannot load /nonexistent/tok.model"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ds
