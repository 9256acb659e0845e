// Tests for the ICU text stages: decode, normalize, segment, and their registration.
#include <gtest/gtest.h>
#include <unicode/ucnv.h>
#include <unicode/unistr.h>

#include <stdexcept>
#include <string>

#include "core/registry.h"
#include "ds/document.h"
#include "text/decode.h"
#include "text/normalize.h"
#include "text/segment.h"
#include "text/text_stages.h"

namespace ds {
namespace {

// Encodes UTF-8 text into `charset` with ICU (our test files are generated, never copied).
std::string encode(const char* charset, const std::string& utf8) {
  icu::UnicodeString us = icu::UnicodeString::fromUTF8(utf8);
  UErrorCode status = U_ZERO_ERROR;
  UConverter* conv = ucnv_open(charset, &status);
  EXPECT_TRUE(U_SUCCESS(status)) << charset;
  std::string out(utf8.size() * 4 + 16, '\0');
  int32_t n = ucnv_fromUChars(conv, out.data(), static_cast<int32_t>(out.size()), us.getBuffer(), us.length(), &status);
  ucnv_close(conv);
  EXPECT_TRUE(U_SUCCESS(status)) << u_errorName(status);
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "(no error)";
}

DecodeOptions replace_mode() {
  DecodeOptions o;
  o.on_error = "replace";
  return o;
}

const std::string kZhSimplified =
    "第一条 甲方应当于合同签订后十日内向乙方支付首期款项。乙方收到款项后应当开具发票；"
    "逾期付款的，甲方应承担违约责任。\n第二条 本合同自双方签字盖章之日起生效。\n";
const std::string kZhTraditional =
    "第一條 甲方應當於合同簽訂後十日內向乙方支付首期款項。乙方收到款項後應當開具發票；"
    "逾期付款的，甲方應承擔違約責任。\n第二條 本合同自雙方簽字蓋章之日起生效。\n";
const std::string kShortZh = "甲方应按时付款。";
const std::string kShortZhTraditional = "甲方應按時付款。";

// --- decode ---------------------------------------------------------------------------------------

TEST(Decode, Utf8IsIdentity) {
  std::string bytes = "Total: 100 元\n" + kZhSimplified;
  DecodeResult r = decode_bytes(bytes, {});
  EXPECT_EQ(r.text, bytes);
  EXPECT_EQ(r.charset, "UTF-8");
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_EQ(r.text_to_bytes.map({7, 13}), (Span{7, 13}));
  EXPECT_EQ(r.text_to_bytes.src_size(), bytes.size());
}

TEST(Decode, Utf8BomIsSkippedAndOffsetsShift) {
  std::string bytes = "\xEF\xBB\xBF" + kShortZh;
  DecodeResult r = decode_bytes(bytes, {});
  EXPECT_EQ(r.text, kShortZh);
  EXPECT_EQ(r.charset, "UTF-8");
  EXPECT_EQ(r.text_to_bytes.map({0, 6}), (Span{3, 9}));
  EXPECT_EQ(r.text_to_bytes.map({3, kShortZh.size()}), (Span{6, bytes.size()}));
}

TEST(Decode, Utf16WithBom) {
  for (const char* cs : {"UTF-16LE", "UTF-16BE"}) {
    std::string bom = std::string(cs) == "UTF-16LE" ? "\xFF\xFE" : "\xFE\xFF";
    std::string bytes = bom + encode(cs, "Clause 1: " + kZhSimplified);
    DecodeResult r = decode_bytes(bytes, {});
    EXPECT_EQ(r.charset, cs);
    EXPECT_EQ(r.text, "Clause 1: " + kZhSimplified);
    // "Clause" is text bytes [0,6) and UTF-16 bytes [2,14).
    EXPECT_EQ(r.text_to_bytes.map({0, 6}), (Span{2, 14}));
    // The first Han character 第 (text [10,13)) is one UTF-16 unit at bytes [22,24).
    EXPECT_EQ(r.text_to_bytes.map({10, 13}), (Span{22, 24}));
  }
}

TEST(Decode, Utf16WithoutBomIsRecognizedByItsNulBytes) {
  std::string text = "Payment terms apply to all orders.\n合同\n";
  DecodeResult r = decode_bytes(encode("UTF-16LE", text), {});
  EXPECT_EQ(r.charset, "UTF-16LE");
  EXPECT_EQ(r.text, text);
}

TEST(Decode, Gb18030Chinese) {
  DecodeResult r = decode_bytes(encode("GB18030", kZhSimplified), {});
  EXPECT_EQ(r.charset, "GB18030");
  EXPECT_EQ(r.text, kZhSimplified);
  // 第 is 3 UTF-8 bytes and 2 GB18030 bytes; the space after 第一条 is copied.
  EXPECT_EQ(r.text_to_bytes.map({0, 3}), (Span{0, 2}));
  EXPECT_EQ(r.text_to_bytes.map({9, 10}), (Span{6, 7}));
}

TEST(Decode, ShortGbTextMisreadByIcuStillDecodes) {
  DecodeResult r = decode_bytes(encode("GB18030", kShortZh), {});
  EXPECT_EQ(r.charset, "GB18030");
  EXPECT_EQ(r.text, kShortZh);
}

TEST(Decode, Big5Chinese) {
  DecodeResult r = decode_bytes(encode("Big5", kZhTraditional), {});
  EXPECT_EQ(r.charset, "Big5");
  EXPECT_EQ(r.text, kZhTraditional);
  DecodeResult s = decode_bytes(encode("Big5", kShortZhTraditional), {});
  EXPECT_EQ(s.charset, "Big5");
  EXPECT_EQ(s.text, kShortZhTraditional);
}

TEST(Decode, ForcedGbkAndLatin1) {
  DecodeOptions gbk;
  gbk.encoding = "GBK";
  DecodeResult r = decode_bytes(encode("GBK", kShortZh), gbk);
  EXPECT_EQ(r.text, kShortZh);
  EXPECT_FALSE(r.charset.empty());
  DecodeOptions latin;
  latin.encoding = "ISO-8859-1";
  DecodeResult l = decode_bytes("caf\xE9", latin);
  EXPECT_EQ(l.text, "caf\xC3\xA9");
  EXPECT_EQ(l.charset, "ISO-8859-1");
  EXPECT_EQ(l.text_to_bytes.map({3, 5}), (Span{3, 4}));
}

TEST(Decode, ForcedUtf16WithMatchingBomSkipsIt) {
  DecodeOptions o;
  o.encoding = "UTF-16LE";
  DecodeResult r = decode_bytes("\xFF\xFE" + encode("UTF-16LE", "ab"), o);
  EXPECT_EQ(r.text, "ab");
}

TEST(Decode, UnknownEncodingFails) {
  DecodeOptions o;
  o.encoding = "no-such-charset";
  EXPECT_NE(error_of([&] { decode_bytes("abc", o); }).find("[decode] unknown encoding 'no-such-charset'"),
            std::string::npos);
}

TEST(Decode, InvalidUtf8FailsWithOffset) {
  std::string bytes = "合同金额\xC3\x28元整，共计一百万元。";
  EXPECT_EQ(error_of([&] { decode_bytes(bytes, {}); }), "[decode] invalid UTF-8 at byte offset 12 (0xC3 0x28)");
  DecodeOptions forced;
  forced.encoding = "UTF-8";
  EXPECT_EQ(error_of([&] { decode_bytes("ab\xFF", forced); }), "[decode] invalid UTF-8 at byte offset 2 (0xFF)");
}

TEST(Decode, InvalidUtf8ReplacedWithWarning) {
  std::string bytes = "合同金额\xC3\x28元整，共计一百万元。";
  DecodeResult r = decode_bytes(bytes, replace_mode());
  EXPECT_EQ(r.text, "合同金额\xEF\xBF\xBD(元整，共计一百万元。");
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0], "[decode] 1 invalid UTF-8 sequence(s) replaced by U+FFFD at byte offset(s) 12");
  EXPECT_EQ(r.text_to_bytes.map({12, 15}), (Span{12, 13}));  // U+FFFD -> the bad byte
  EXPECT_EQ(r.text_to_bytes.map({15, 16}), (Span{13, 14}));  // "(" after it
}

TEST(Decode, ManyErrorsAreCountedNotAllListed) {
  std::string bytes = "合同";
  for (int i = 0; i < 20; ++i) bytes += "合同金额总计\xFF";
  DecodeResult r = decode_bytes(bytes, replace_mode());
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("20 invalid UTF-8"), std::string::npos);
  EXPECT_NE(r.warnings[0].find("(and 10 more)"), std::string::npos);
}

TEST(Decode, UndecodableGb18030Bytes) {
  DecodeOptions o;
  o.encoding = "GB18030";
  std::string bytes = encode("GB18030", "合同") + "\xFF" + encode("GB18030", "金额");
  EXPECT_EQ(error_of([&] { decode_bytes(bytes, o); }), "[decode] undecodable GB18030 at byte offset 4 (0xFF 0xBD)");
  o.on_error = "replace";
  DecodeResult r = decode_bytes(bytes, o);
  EXPECT_EQ(r.text, "合同\xEF\xBF\xBD金额");
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("GB18030"), std::string::npos);
  EXPECT_NE(r.warnings[0].find("offset(s) 4"), std::string::npos);
}

TEST(Decode, EmptyFile) {
  DecodeResult r = decode_bytes("", {});
  EXPECT_EQ(r.text, "");
  EXPECT_EQ(r.charset, "UTF-8");
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0], "[decode] empty file");
}

TEST(Decode, BinaryFiles) {
  std::string nul("abc\0defgh", 9);
  EXPECT_EQ(error_of([&] { decode_bytes(nul, {}); }), "[decode] binary file (NUL byte at offset 3)");
  std::string controls;
  for (int i = 0; i < 100; ++i) controls += static_cast<char>(1 + i % 8);
  EXPECT_NE(error_of([&] { decode_bytes(controls, {}); }).find("[decode] binary file (100 control bytes"),
            std::string::npos);
}

TEST(Decode, UncertainGuessFails) {
  DecodeOptions o;
  o.min_confidence = 100;
  EXPECT_NE(error_of([&] { decode_bytes("caf\xE9 cr\xE8me", o); }).find("[decode] encoding uncertain"),
            std::string::npos);
}

TEST(Decode, BadOnErrorValue) {
  DecodeOptions o;
  o.on_error = "ignore";
  EXPECT_NE(error_of([&] { decode_bytes("a", o); }).find("[decode] on_error"), std::string::npos);
}

// --- normalize ------------------------------------------------------------------------------------

TEST(Normalize, NfkcExamples) {
  EXPECT_EQ(normalize_nfkc("ＡＢＣ１２３").normalized, "ABC123");
  EXPECT_EQ(normalize_nfkc("合同？（一）").normalized, "合同?(一)");
  EXPECT_EQ(normalize_nfkc("ﬁnal").normalized, "final");
  EXPECT_EQ(normalize_nfkc("a\r\nb").normalized, "a\r\nb");
  EXPECT_EQ(normalize_nfkc("e\xCC\x81").normalized, "\xC3\xA9");  // e + combining acute -> é
}

TEST(Normalize, ExactMapPerCharacter) {
  NormalizeResult r = normalize_nfkc("合同ＡＢ ﬁx");
  EXPECT_EQ(r.normalized, "合同AB fix");
  const OffsetMap& m = r.normalized_to_text;
  EXPECT_EQ(m.map({0, 6}), (Span{0, 6}));     // 合同 copied
  EXPECT_EQ(m.map({6, 7}), (Span{6, 9}));     // A <- Ａ
  EXPECT_EQ(m.map({7, 8}), (Span{9, 12}));    // B <- Ｂ
  EXPECT_EQ(m.map({8, 9}), (Span{12, 13}));   // space copied
  EXPECT_EQ(m.map({9, 11}), (Span{13, 16}));  // fi <- ﬁ
  EXPECT_EQ(m.map({9, 10}), (Span{13, 16}));  // half of a ligature widens to all of it
  EXPECT_EQ(m.map({11, 12}), (Span{16, 17})); // x
}

TEST(Normalize, AlreadyNormalizedIsIdentity) {
  const std::string text = "甲方应按时付款。Total: 100.\r\n";
  NormalizeResult r = normalize_nfkc(text);
  EXPECT_EQ(r.normalized, text);
  EXPECT_EQ(r.normalized_to_text.map({3, 9}), (Span{3, 9}));
  NormalizeResult n = normalize_none("ＡＢ");
  EXPECT_EQ(n.normalized, "ＡＢ");
}

// A span of the normalized text maps back to exactly the original bytes of what it came from.
TEST(Normalize, RoundTripToOriginalBytes) {
  const std::string text = "合同编号ＡＢＣ１２３，ﬁnal版本？";
  for (const char* cs : {"UTF-8", "GB18030", "UTF-16LE"}) {
    SCOPED_TRACE(cs);
    std::string prefix = std::string(cs) == "UTF-16LE" ? "\xFF\xFE" : "";
    std::string bytes = prefix + encode(cs, text);
    Document doc;
    DecodeOptions o;
    if (std::string(cs) == "GB18030") o.encoding = "GB18030";
    DecodeResult d = decode_bytes(bytes, o);
    ASSERT_EQ(d.text, text);
    doc.text_to_bytes = d.text_to_bytes;
    NormalizeResult n = normalize_nfkc(d.text);
    ASSERT_EQ(n.normalized, "合同编号ABC123,final版本?");
    doc.normalized_to_text = n.normalized_to_text;
    auto expect_bytes = [&](const std::string& needle, const std::string& original) {
      size_t at = n.normalized.find(needle);
      ASSERT_NE(at, std::string::npos);
      Span b = doc.to_bytes({at, at + needle.size()});
      EXPECT_EQ(bytes.substr(b.begin, b.size()), encode(cs, original)) << needle;
      // Composing the two maps gives the same answer. Not checked with a BOM: OffsetMap::compose
      // drops the BOM's zero-length leading piece (reported to the owner of core/offset_map.cc).
      if (prefix.empty()) {
        OffsetMap composed = doc.normalized_to_text.compose(doc.text_to_bytes);
        EXPECT_EQ(composed.map({at, at + needle.size()}), b);
      }
    };
    expect_bytes("ABC123", "ＡＢＣ１２３");
    expect_bytes("B", "Ｂ");
    expect_bytes("fi", "ﬁ");
    expect_bytes("合同编号", "合同编号");
    expect_bytes("final版本?", "ﬁnal版本？");
  }
}

// --- segment --------------------------------------------------------------------------------------

struct Expected {
  std::string text;
  std::string kind;
  std::string number;
  int level;
};

void expect_segments(const std::string& text, const std::vector<Segment>& segs, const std::vector<Expected>& want) {
  ASSERT_EQ(segs.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE("segment " + std::to_string(i));
    EXPECT_EQ(text.substr(segs[i].span.begin, segs[i].span.size()), want[i].text);
    EXPECT_EQ(segs[i].kind, want[i].kind);
    EXPECT_EQ(segs[i].number, want[i].number);
    EXPECT_EQ(segs[i].level, want[i].level);
  }
}

// Spans are trimmed, non-empty, ordered and cover all non-whitespace text.
void expect_well_formed(const std::string& text, const std::vector<Segment>& segs) {
  size_t pos = 0;
  for (const Segment& s : segs) {
    ASSERT_LT(s.span.begin, s.span.end);
    ASSERT_GE(s.span.begin, pos);
    for (size_t i = pos; i < s.span.begin; ++i) ASSERT_TRUE(isspace(static_cast<unsigned char>(text[i]))) << i;
    EXPECT_FALSE(isspace(static_cast<unsigned char>(text[s.span.begin])));
    EXPECT_FALSE(isspace(static_cast<unsigned char>(text[s.span.end - 1])));
    pos = s.span.end;
  }
  for (size_t i = pos; i < text.size(); ++i) ASSERT_TRUE(isspace(static_cast<unsigned char>(text[i])));
}

TEST(Segment, ChineseContract) {
  const std::string text =
      "采购合同\n\n"
      "第一章 总则\n"
      "第一条 定义\n"
      "本合同所称货物是指乙方交付的设备。\n"
      "第二条 甲方应当于合同签订后十日内付款;逾期付款的,应当支付违约金。\n"
      "第十二条甲方有权验收货物。验收不合格的，乙方应当更换。\n"
      "一、付款方式\n"
      "（一）银行转账。\n"
      "(二)现金支付。\n"
      "1. 首期款为合同总价的30%。\n"
      "1、尾款在验收后支付。\n"
      "1.1 尾款在验收后支付。\n"
      "  1.1.1 验收标准见附件。  \n";
  std::vector<Segment> segs = segment_text(text, {});
  expect_well_formed(text, segs);
  expect_segments(text, segs,
                  {{"采购合同", "heading", "", 0},
                   {"第一章 总则", "heading", "第一章", 1},
                   {"第一条 定义", "heading", "第一条", 1},
                   {"本合同所称货物是指乙方交付的设备。", "sentence", "", 0},
                   {"第二条 甲方应当于合同签订后十日内付款;", "clause", "第二条", 1},
                   {"逾期付款的,应当支付违约金。", "sentence", "", 0},
                   {"第十二条甲方有权验收货物。", "clause", "第十二条", 1},
                   {"验收不合格的，乙方应当更换。", "sentence", "", 0},
                   {"一、付款方式", "heading", "一", 1},
                   {"（一）银行转账。", "clause", "（一）", 2},
                   {"(二)现金支付。", "clause", "(二)", 2},
                   {"1. 首期款为合同总价的30%。", "clause", "1", 1},
                   {"1、尾款在验收后支付。", "clause", "1", 1},
                   {"1.1 尾款在验收后支付。", "clause", "1.1", 2},
                   {"1.1.1 验收标准见附件。", "clause", "1.1.1", 3}});
}

TEST(Segment, EnglishContract) {
  const std::string text =
      "SERVICES AGREEMENT\n\n"
      "ARTICLE I DEFINITIONS\n"
      "Section 1.1 \"Services\" means the work described in Schedule A. It includes support.\n"
      "1. The Supplier shall deliver the goods. The Buyer shall pay.\n"
      "(a) the first instalment; and\n"
      "(b) the second instalment.\n"
      "(i) on delivery.\n"
      "Article 5. Payment is due within 30 days, e.g. by wire transfer.\n"
      "Mr. Smith signs for the Buyer.\n";
  std::vector<Segment> segs = segment_text(text, {});
  expect_well_formed(text, segs);
  expect_segments(text, segs,
                  {{"SERVICES AGREEMENT", "heading", "", 0},
                   {"ARTICLE I DEFINITIONS", "heading", "ARTICLE I", 1},
                   {"Section 1.1 \"Services\" means the work described in Schedule A.", "clause", "Section 1.1", 2},
                   {"It includes support.", "sentence", "", 0},
                   {"1. The Supplier shall deliver the goods.", "clause", "1", 1},
                   {"The Buyer shall pay.", "sentence", "", 0},
                   {"(a) the first instalment; and", "clause", "(a)", 3},
                   {"(b) the second instalment.", "clause", "(b)", 3},
                   {"(i) on delivery.", "clause", "(i)", 4},
                   {"Article 5. Payment is due within 30 days, e.g. by wire transfer.", "clause", "Article 5", 1},
                   {"Mr. Smith signs for the Buyer.", "sentence", "", 0}});
}

TEST(Segment, NumberingMarkers) {
  EXPECT_EQ(match_numbering("第3条 付款").number, "第3条");
  EXPECT_EQ(match_numbering("第二款 ...").level, 2);
  EXPECT_TRUE(match_numbering("第一节 范围").always_heading);
  EXPECT_EQ(match_numbering("(h) x").level, 3);
  EXPECT_EQ(match_numbering("(i) x", 'h').level, 3);   // after (h), (i) is a letter
  EXPECT_EQ(match_numbering("(iv) x").level, 4);
  EXPECT_EQ(match_numbering("Section 2.3 Fees").number, "Section 2.3");
  EXPECT_EQ(match_numbering("Section 2.3 Fees").level, 2);
  EXPECT_EQ(match_numbering("Clause 4: Term").number, "Clause 4");
  EXPECT_EQ(match_numbering("ARTICLE V").number, "ARTICLE V");
  EXPECT_EQ(match_numbering("2024年1月1日").length, 0u);
  EXPECT_EQ(match_numbering("3.5%的利息").length, 0u);
  EXPECT_EQ(match_numbering("section 2 applies").length, 0u);
  EXPECT_EQ(match_numbering("Articles of association").length, 0u);
}

TEST(Segment, ClausesOffAndEnglishSemicolons) {
  const std::string text = "第一条 甲方付款;乙方交货。\n";
  SegmentOptions off;
  off.clauses = false;
  expect_segments(text, segment_text(text, off), {{"第一条 甲方付款;乙方交货。", "sentence", "", 0}});
  SegmentOptions en;
  en.language = "en";
  expect_segments(text, segment_text(text, en), {{"第一条 甲方付款;乙方交货。", "clause", "第一条", 1}});
}

TEST(Segment, LongSentencesAreSplit) {
  std::string text = "1. ";
  for (int i = 0; i < 40; ++i) text += "the Supplier shall deliver item " + std::to_string(i) + ", ";
  text += "and nothing else.\n";
  for (int i = 0; i < 30; ++i) text += "很长的没有标点的句子";
  SegmentOptions o;
  o.max_segment_bytes = 100;
  Segmenter seg(o);
  std::vector<Segment> segs = seg.segment(text);
  expect_well_formed(text, segs);
  ASSERT_GT(segs.size(), 10u);
  EXPECT_EQ(segs[0].number, "1");
  EXPECT_EQ(segs[1].number, "");
  for (const Segment& s : segs) {
    EXPECT_LE(s.span.size(), 100u);
    // Han text is cut on character boundaries.
    EXPECT_NE(static_cast<unsigned char>(text[s.span.begin]) & 0xC0, 0x80);
  }
  // A comma ends the first piece.
  EXPECT_EQ(text[segs[0].span.end - 1], ',');
  // The segmenter is reusable.
  EXPECT_EQ(seg.segment(text).size(), segs.size());
}

TEST(Segment, EmptyAndBlank) {
  EXPECT_TRUE(segment_text("", {}).empty());
  EXPECT_TRUE(segment_text(" \n\t\r\n ", {}).empty());
  EXPECT_THROW(Segmenter(SegmentOptions{"fr", true, 2000}), std::runtime_error);
}

// --- the stages -----------------------------------------------------------------------------------

Options defaults(const StageSpec& spec) {
  Options o;
  for (const OptionSpec& s : spec.options) o.set(s.name, *s.default_value);
  return o;
}

std::unique_ptr<Stage> make(const Registry& r, const std::string& name) {
  return (*r.stage_factory(name))(defaults(*r.find_stage(name)), StageContext{});
}

TEST(TextStages, RegisteredWithReadsAndAdds) {
  Registry r;
  register_text_stages(r);
  const StageSpec* decode = r.find_stage("decode");
  const StageSpec* normalize = r.find_stage("normalize");
  const StageSpec* segment = r.find_stage("segment");
  ASSERT_TRUE(decode && normalize && segment);
  EXPECT_EQ(decode->reads, std::vector<Field>{Field::kBytes});
  EXPECT_EQ(decode->adds, std::vector<Field>{Field::kText});
  EXPECT_EQ(normalize->reads, std::vector<Field>{Field::kText});
  EXPECT_EQ(normalize->adds, std::vector<Field>{Field::kNormalized});
  EXPECT_EQ(segment->reads, std::vector<Field>{Field::kNormalized});
  EXPECT_EQ(segment->adds, std::vector<Field>{Field::kSegments});
  std::vector<std::string> names;
  for (const OptionSpec& o : decode->options) names.push_back(o.name);
  EXPECT_EQ(names, (std::vector<std::string>{"encoding", "min_confidence", "on_error"}));
  EXPECT_EQ(std::get<std::string>(*decode->options[2].default_value), "replace");
  EXPECT_EQ(segment->options[2].min, 100);
}

TEST(TextStages, RunAPipelineOnGb18030Bytes) {
  Registry r;
  register_text_stages(r);
  Document doc;
  doc.bytes = encode("GB18030", "第一条 合同金额ＡＢＣ１２３元。\n第二条 附件。\n") + "\xFF";
  for (const char* name : {"decode", "normalize", "segment"}) make(r, name)->process(doc);
  EXPECT_TRUE(doc.bytes.empty());
  EXPECT_EQ(doc.charset, "GB18030");
  ASSERT_EQ(doc.warnings.size(), 1u);  // the trailing 0xFF was replaced
  EXPECT_EQ(doc.normalized, "第一条 合同金额ABC123元。\n第二条 附件。\n\xEF\xBF\xBD");
  ASSERT_EQ(doc.segments.size(), 3u);
  EXPECT_EQ(doc.segments[1].number, "第二条");
  size_t at = doc.normalized.find("ABC123");
  std::string original = encode("GB18030", "第一条 合同金额ＡＢＣ１２３元。\n第二条 附件。\n") + "\xFF";
  Span b = doc.to_bytes({at, at + 6});
  EXPECT_EQ(original.substr(b.begin, b.size()), encode("GB18030", "ＡＢＣ１２３"));
}

TEST(TextStages, DocumentCharsetIsHonoured) {
  Registry r;
  register_text_stages(r);
  Document doc;
  doc.charset = "Big5";
  doc.bytes = encode("Big5", "合約");
  make(r, "decode")->process(doc);
  EXPECT_EQ(doc.text, "合約");
}

TEST(TextStages, FiveMegabytesFinish) {
  std::string para = "第一条 甲方应当按时付款，ＡＢＣ公司负责交货；逾期的，应支付违约金。The Buyer shall pay. Done: ﬁne.\n";
  std::string text;
  while (text.size() < 5 * 1024 * 1024) text += para;
  size_t paras = text.size() / para.size();
  DecodeResult d = decode_bytes(text, {});
  ASSERT_EQ(d.text.size(), text.size());
  NormalizeResult n = normalize_nfkc(d.text);
  std::vector<Segment> segs = segment_text(n.normalized, {});
  EXPECT_EQ(segs.size(), paras * 4);
  EXPECT_EQ(segs[0].number, "第一条");
  // One GB18030 megabyte through the converter path.
  std::string gb = encode("GB18030", text.substr(0, para.size() * 5000));
  DecodeResult g = decode_bytes(gb, {});
  EXPECT_EQ(g.charset, "GB18030");
  EXPECT_EQ(g.text, text.substr(0, para.size() * 5000));
}

}  // namespace
}  // namespace ds
