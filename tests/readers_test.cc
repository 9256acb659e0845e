// Readers of container formats (.docx through libzip + libxml2, text-layer .pdf through poppler):
// extraction, every bad-input reason, the decode stage's offsets rule, and a whole batch of good and
// bad files through the real CLI. Fixtures are written here (DOCX with libzip, PDF by hand), except
// the PDFs of data/testdata/readers/ (made by its make_fixtures.sh with cairo and qpdf).
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <zip.h>

#include <cstdio>
#include <map>
#include <random>
#include <sstream>

#include "io/extract.h"
#include "io/reader.h"
#include "sinks/json_reader.h"
#include "test_util.h"

namespace ds {
namespace {

namespace fs = std::filesystem;
using test::TempDir;
using test::write_file;
using test::query;

// --- DOCX fixtures ---------------------------------------------------------------------------------

constexpr const char* kContentTypes =
    R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>)"
    R"(<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">)"
    R"(<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>)"
    R"(<Default Extension="xml" ContentType="application/xml"/>)"
    R"(<Override PartName="/word/document.xml" )"
    R"(ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>)"
    R"(</Types>)";

std::string package_rels(const std::string& target = "word/document.xml") {
  return R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>)"
         R"(<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">)"
         R"(<Relationship Id="rId1" )"
         R"(Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target=")" +
         target + R"("/></Relationships>)";
}

// A w:document around `body` with the namespaces Word declares.
std::string word_document(const std::string& body) {
  return R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>)"
         R"(<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" )"
         R"(xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" )"
         R"(xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" )"
         R"(xmlns:v="urn:schemas-microsoft-com:vml" mc:Ignorable="wps"><w:body>)" +
         body + R"(<w:sectPr><w:pgSz w:w="11906" w:h="16838"/></w:sectPr></w:body></w:document>)";
}

std::string para(const std::string& runs) { return "<w:p>" + runs + "</w:p>"; }
std::string run(const std::string& text) { return R"(<w:r><w:t xml:space="preserve">)" + text + "</w:t></w:r>"; }
std::string cell(const std::string& paragraphs) {
  return "<w:tc><w:tcPr><w:tcW w:w=\"4000\"/></w:tcPr>" + paragraphs + "</w:tc>";
}

// A zip written by libzip (deflated entries, as Word writes them), returned as bytes.
std::string make_zip(const std::vector<std::pair<std::string, std::string>>& entries, const char* password = nullptr) {
  TempDir tmp;
  fs::path path = tmp / "out.zip";
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  EXPECT_NE(z, nullptr) << "zip_open " << err;
  if (!z) return "";
  for (const auto& [name, data] : entries) {
    zip_source_t* src = zip_source_buffer(z, data.data(), data.size(), 0);
    zip_int64_t index = zip_file_add(z, name.c_str(), src, ZIP_FL_ENC_UTF_8);
    EXPECT_GE(index, 0) << zip_strerror(z);
    if (password) {
      EXPECT_EQ(zip_file_set_encryption(z, index, ZIP_EM_AES_256, password), 0) << zip_strerror(z);
    }
  }
  EXPECT_EQ(zip_close(z), 0);
  return test::read_file(path);
}

std::string make_docx(const std::string& document_xml) {
  return make_zip(
      {{"[Content_Types].xml", kContentTypes}, {"_rels/.rels", package_rels()}, {"word/document.xml", document_xml}});
}

// Paragraphs, runs split mid-word, a tab, a line break, tracked changes, a field, a table with a
// two-paragraph cell, and a text box stored twice (mc:Choice and its VML fallback).
std::string contract_docx_xml() {
  std::string body;
  body += para(R"(<w:pPr><w:pStyle w:val="Heading1"/><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr>)" +
               run("第一条 合同标的"));
  body += para(run("甲方向乙方采购") + run("办公设备一批。") + run("The Buyer shall ") + run("pa") +
               run("y:") + "<w:r><w:tab/></w:r>" + run("USD 1,000."));
  body += para(run("Line one") + "<w:r><w:br/></w:r>" + run("line two"));
  body += para(run("Payment is due ") +
               R"(<w:del w:id="1" w:author="A"><w:r><w:delText>in 90 days</w:delText></w:r></w:del>)" +
               R"(<w:ins w:id="2" w:author="A">)" + run("within 30 days") + "</w:ins>" + run("."));
  body += para(run("Page ") + R"(<w:r><w:fldChar w:fldCharType="begin"/></w:r>)"
               R"(<w:r><w:instrText> PAGE </w:instrText></w:r>)"
               R"(<w:r><w:fldChar w:fldCharType="separate"/></w:r>)" + run("1") +
               R"(<w:r><w:fldChar w:fldCharType="end"/></w:r>)");
  body += para("");
  body += "<w:tbl><w:tblPr/><w:tblGrid><w:gridCol w:w=\"4000\"/><w:gridCol w:w=\"4000\"/></w:tblGrid>";
  body += "<w:tr>" + cell(para(run("项目"))) + cell(para(run("Amount"))) + "</w:tr>";
  body += "<w:tr>" + cell(para(run("设备款")) + para(run("(含税)"))) + cell(para(run("100"))) + "</w:tr>";
  body += R"(<w:tr><w:trPr><w:del w:id="3" w:author="A"/></w:trPr>)" + cell(para(run("deleted row"))) +
          cell(para(run("0"))) + "</w:tr>";
  body += "</w:tbl>";
  body += para(run("See box.") +
               "<w:r><mc:AlternateContent><mc:Choice Requires=\"wps\"><w:drawing><wps:txbx><w:txbxContent>" +
               para(run("Box text")) + "</w:txbxContent></wps:txbx></w:drawing></mc:Choice>" +
               "<mc:Fallback><w:pict><v:textbox><w:txbxContent>" + para(run("Box text")) +
               "</w:txbxContent></v:textbox></w:pict></mc:Fallback></mc:AlternateContent></w:r>");
  body += para(run("第二条 付款") +
               R"(<w:del w:id="4" w:author="A"><w:r><w:delText>（删除）</w:delText></w:r></w:del>)");
  return word_document(body);
}

constexpr const char* kContractText =
    "第一条 合同标的\n"
    "甲方向乙方采购办公设备一批。The Buyer shall pay:\tUSD 1,000.\n"
    "Line one\nline two\n"
    "Payment is due within 30 days.\n"
    "Page 1\n"
    "\n"
    "项目\tAmount\n"
    "设备款 (含税)\t100\n"
    "See box.\n"
    "Box text\n"
    "第二条 付款\n";

// --- PDF fixtures ----------------------------------------------------------------------------------

// Numbered objects and a correct cross-reference table.
class PdfWriter {
 public:
  int add(std::string body = "") {
    objects_.push_back(std::move(body));
    return static_cast<int>(objects_.size());
  }
  void set(int id, std::string body) { objects_[id - 1] = std::move(body); }
  std::string finish(const std::string& trailer_extra = "") const {
    std::string out = "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n";
    std::vector<size_t> offsets;
    for (size_t i = 0; i < objects_.size(); ++i) {
      offsets.push_back(out.size());
      out += std::to_string(i + 1) + " 0 obj\n" + objects_[i] + "\nendobj\n";
    }
    size_t xref = out.size();
    out += "xref\n0 " + std::to_string(objects_.size() + 1) + "\n0000000000 65535 f \n";
    for (size_t off : offsets) {
      char line[32];
      std::snprintf(line, sizeof line, "%010zu 00000 n \n", off);
      out += line;
    }
    out += "trailer\n<< /Size " + std::to_string(objects_.size() + 1) + " /Root 1 0 R " + trailer_extra +
           ">>\nstartxref\n" + std::to_string(xref) + "\n%%EOF\n";
    return out;
  }

 private:
  std::vector<std::string> objects_;
};

std::string ref(int id) { return std::to_string(id) + " 0 R"; }

std::string stream(const std::string& data, const std::string& dict = "") {
  return "<< /Length " + std::to_string(data.size()) + dict + " >>\nstream\n" + data + "\nendstream";
}

std::string hex4(unsigned v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04X", v);
  return buf;
}

// UTF-8 -> code points (the test's own strings are valid UTF-8).
std::vector<unsigned> code_points(const std::string& s) {
  std::vector<unsigned> out;
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    int len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    unsigned cp = len == 1 ? c : c & (0x7F >> len);
    for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out.push_back(cp);
    i += len;
  }
  return out;
}

struct PdfOptions {
  std::vector<std::string> pages;    // content streams
  std::string cjk_text;              // characters the /F2 font (Identity-H + ToUnicode) can show
  bool image = false;                // an /Im1 8x8 grey image XObject
  std::string trailer_extra;
  std::vector<std::string> extra_objects;  // appended after everything else, numbered on from the pages
};

// A PDF with Helvetica as /F1, optionally a CID font /F2 whose glyph i+1 is cjk_text's i-th character
// (as producers write subset fonts: Identity-H plus a ToUnicode CMap; the font file itself is not
// embedded, which text extraction does not need).
std::string make_pdf(const PdfOptions& o) {
  PdfWriter w;
  int catalog = w.add();
  int pages = w.add();
  std::string fonts =
      "/F1 " + ref(w.add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"));
  if (!o.cjk_text.empty()) {
    std::vector<unsigned> cps = code_points(o.cjk_text);
    std::string cmap =
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n" +
        std::to_string(cps.size()) + " beginbfchar\n";
    for (size_t i = 0; i < cps.size(); ++i)
      cmap += "<" + hex4(static_cast<unsigned>(i + 1)) + "> <" + hex4(cps[i]) + ">\n";
    cmap += "endbfchar\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend";
    int to_unicode = w.add(stream(cmap));
    int descriptor = w.add(
        "<< /Type /FontDescriptor /FontName /ABCDEF+TestSong /Flags 4 /FontBBox [0 -200 1000 800] "
        "/ItalicAngle 0 /Ascent 800 /Descent -200 /CapHeight 700 /StemV 80 >>");
    int cid_font = w.add(
        "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /ABCDEF+TestSong "
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor " +
        ref(descriptor) + " /DW 1000 /CIDToGIDMap /Identity >>");
    fonts += " /F2 " + ref(w.add("<< /Type /Font /Subtype /Type0 /BaseFont /ABCDEF+TestSong /Encoding /Identity-H "
                                 "/DescendantFonts [" + ref(cid_font) + "] /ToUnicode " + ref(to_unicode) + " >>"));
  }
  std::string xobjects;
  if (o.image) {
    std::string pixels(64, '\x80');
    xobjects = " /XObject << /Im1 " +
               ref(w.add(stream(pixels, " /Type /XObject /Subtype /Image /Width 8 /Height 8 /ColorSpace /DeviceGray "
                                        "/BitsPerComponent 8"))) + " >>";
  }
  std::string kids;
  for (const std::string& content : o.pages) {
    int c = w.add(stream(content));
    int p = w.add("<< /Type /Page /Parent " + ref(pages) + " /MediaBox [0 0 612 792] /Resources << /Font << " + fonts +
                  " >>" + xobjects + " >> /Contents " + ref(c) + " >>");
    kids += ref(p) + " ";
  }
  for (const std::string& extra : o.extra_objects) w.add(extra);
  w.set(catalog, "<< /Type /Catalog /Pages " + ref(pages) + " >>");
  w.set(pages, "<< /Type /Pages /Kids [" + kids + "] /Count " + std::to_string(o.pages.size()) + " >>");
  return w.finish(o.trailer_extra);
}

// A content stream showing `lines` in Helvetica, top down.
std::string text_lines(const std::vector<std::string>& lines) {
  std::string s = "BT /F1 12 Tf 16 TL 72 720 Td\n";
  for (const std::string& l : lines) s += "(" + l + ") Tj T*\n";
  return s + "ET";
}

// A content stream showing `text` (a prefix of the font's characters, in order) with /F2.
std::string cjk_line(size_t first_glyph, size_t count, int y) {
  std::string s = "BT /F2 14 Tf 72 " + std::to_string(y) + " Td <";
  for (size_t i = 0; i < count; ++i) s += hex4(static_cast<unsigned>(first_glyph + i + 1));
  return s + "> Tj ET\n";
}

std::string ascii_pdf() {
  PdfOptions o;
  o.pages = {text_lines({"Article 1 Definitions", "The Seller shall deliver the goods."}),
             text_lines({"Article 2 Payment", "The Buyer shall pay within 30 days."})};
  return make_pdf(o);
}

fs::path fixture(const std::string& name) { return test::source_dir() / "data/testdata/readers" / name; }

// --- DOCX extraction -------------------------------------------------------------------------------

TEST(Docx, ParagraphsTablesTrackedChangesAndTextBoxes) {
  Extraction x = extract_docx(make_docx(contract_docx_xml()));
  ASSERT_TRUE(x.ok()) << x.error;
  EXPECT_EQ(x.text, kContractText);
  EXPECT_TRUE(x.warnings.empty());
}

TEST(Docx, MainPartComesFromThePackageRelationships) {
  std::string doc = word_document(para(run("Renamed main part.")));
  std::string bytes = make_zip({{"[Content_Types].xml", kContentTypes},
                                {"_rels/.rels", package_rels("/word/main.xml")},
                                {"word/main.xml", doc}});
  Extraction x = extract_docx(bytes);
  ASSERT_TRUE(x.ok()) << x.error;
  EXPECT_EQ(x.text, "Renamed main part.\n");
}

TEST(Docx, StrictOoxmlNamespaceIsRead) {
  std::string xml = R"(<?xml version="1.0" encoding="UTF-8"?>)"
                    R"(<w:document xmlns:w="http://purl.oclc.org/ooxml/wordprocessingml/main">)"
                    R"(<w:body><w:p><w:r><w:t>Strict</w:t></w:r></w:p></w:body></w:document>)";
  Extraction x = extract_docx(make_docx(xml));
  ASSERT_TRUE(x.ok()) << x.error;
  EXPECT_EQ(x.text, "Strict\n");
}

TEST(Docx, DocumentWithoutTextIsEmptyWithAWarning) {
  Extraction x = extract_docx(make_docx(word_document(para("") + para(""))));
  ASSERT_TRUE(x.ok()) << x.error;
  EXPECT_EQ(x.text, "");
  ASSERT_EQ(x.warnings.size(), 1u);
  EXPECT_EQ(x.warnings[0], "the document has no text");
}

TEST(Docx, BadFilesGiveClearReasons) {
  std::string good = make_docx(contract_docx_xml());
  struct Case {
    const char* name;
    std::string bytes;
    std::string reason;
  };
  std::vector<Case> cases = {
      {"empty", "", "empty file (0 bytes), not a DOCX document"},
      {"truncated", good.substr(0, good.size() / 2), "corrupt DOCX: not a zip archive (truncated or damaged file?)"},
      {"text", "just some text, not a zip\n", "corrupt DOCX: not a zip archive (truncated or damaged file?)"},
      {"no document.xml",
       make_zip({{"[Content_Types].xml", kContentTypes}, {"_rels/.rels", package_rels()}, {"word/styles.xml", "<x/>"}}),
       "not a DOCX document: the zip (3 entries) has no word/document.xml"},
      {"bad xml",
       make_docx(R"(<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p>)"),
       "corrupt DOCX: word/document.xml is not well-formed XML (line 1: "},
      {"not word", make_docx("<workbook/>"),
       "not a Word document: word/document.xml holds <workbook>, not <w:document>"},
      {"ole", std::string("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8) + std::string(504, '\0'),
       "encrypted DOCX (password-protected) or a legacy .doc file renamed .docx: neither is supported"},
  };
  for (const Case& c : cases) {
    Extraction x = extract_docx(c.bytes);
    EXPECT_FALSE(x.ok()) << c.name;
    EXPECT_EQ(x.error.substr(0, c.reason.size()), c.reason) << c.name << ": " << x.error;
    EXPECT_TRUE(x.text.empty()) << c.name;
  }
}

TEST(Docx, EncryptedZipEntryIsAClearError) {
  std::string bytes = make_zip({{"[Content_Types].xml", kContentTypes},
                                {"_rels/.rels", package_rels()},
                                {"word/document.xml", word_document(para(run("secret")))}},
                               "pw");
  Extraction x = extract_docx(bytes);
  EXPECT_FALSE(x.ok());
  EXPECT_EQ(x.error, "corrupt DOCX: word/document.xml is encrypted in the zip (needs a password)") << x.error;
}

// --- PDF extraction --------------------------------------------------------------------------------

TEST(Pdf, TextLayerPageByPageWithFormFeeds) {
  Extraction x = extract_pdf(ascii_pdf());
  ASSERT_TRUE(x.ok()) << x.error;
  EXPECT_EQ(x.text,
            "Article 1 Definitions\nThe Seller shall deliver the goods.\n\f\n"
            "Article 2 Payment\nThe Buyer shall pay within 30 days.\n");
  EXPECT_TRUE(x.warnings.empty()) << x.warnings[0];
}

TEST(Pdf, ChineseThroughAToUnicodeMap) {
  std::string zh = "第一条甲方应付款。";
  PdfOptions o;
  o.cjk_text = zh;
  o.pages = {cjk_line(0, 3, 720) + cjk_line(3, 6, 690)};
  Extraction x = extract_pdf(make_pdf(o));
  ASSERT_TRUE(x.ok()) << x.error;
  EXPECT_EQ(x.text, "第一条\n甲方应付款。\n");
}

TEST(Pdf, RealProducerChineseAndEnglish) {
  Extraction x = extract_pdf(test::read_file(fixture("zh-en-cairo.pdf")));
  ASSERT_TRUE(x.ok()) << x.error;
  EXPECT_EQ(x.text,
            "第一条 合同标的\n甲方向乙方采购办公设备一批。\nArticle 1 Subject Matter\n"
            "The Seller shall deliver the goods by 30 June.\n\f\n"
            "第二条 付款\n乙方应在收货后三十日内付款。\nArticle 2 Payment\n"
            "The Buyer shall pay within thirty days.\n");
}

TEST(Pdf, OwnerPasswordOnlyOpensWithoutAPassword) {
  Extraction x = extract_pdf(test::read_file(fixture("owner-password-only.pdf")));
  ASSERT_TRUE(x.ok()) << x.error;
  EXPECT_NE(x.text.find("甲方向乙方采购办公设备一批。"), std::string::npos) << x.text;
}

TEST(Pdf, ScannedPagesHaveNoTextLayer) {
  PdfOptions scanned;
  scanned.image = true;
  scanned.pages = {"q 612 0 0 792 0 0 cm /Im1 Do Q", "q 612 0 0 792 0 0 cm /Im1 Do Q"};
  Extraction x = extract_pdf(make_pdf(scanned));
  EXPECT_FALSE(x.ok());
  EXPECT_EQ(x.error, "no text layer (scanned PDF?); OCR is not supported (2 pages)");

  PdfOptions blank;
  blank.pages = {""};
  x = extract_pdf(make_pdf(blank));
  EXPECT_EQ(x.error, "no text layer (scanned PDF?); OCR is not supported (1 page)");

  // A scanned page among text pages is a warning; the page keeps its place (an empty page).
  PdfOptions mixed;
  mixed.image = true;
  mixed.pages = {text_lines({"Page one."}), "q 612 0 0 792 0 0 cm /Im1 Do Q", text_lines({"Page three."})};
  x = extract_pdf(make_pdf(mixed));
  ASSERT_TRUE(x.ok()) << x.error;
  EXPECT_EQ(x.text, "Page one.\n\f\n\f\nPage three.\n");
  ASSERT_EQ(x.warnings.size(), 1u);
  EXPECT_EQ(x.warnings[0], "no text layer on page(s) 2 of 3 (scanned?); OCR is not supported");
}

TEST(Pdf, EncryptedNeedsAPassword) {
  Extraction x = extract_pdf(test::read_file(fixture("encrypted-user-password.pdf")));
  EXPECT_FALSE(x.ok());
  EXPECT_EQ(x.error, "encrypted PDF: needs a password");

  // Hand-made RC4 encryption whose empty user password does not match /U.
  PdfOptions o;
  o.pages = {text_lines({"secret"})};
  std::string o_hex(64, 'A'), u_hex(64, 'B');
  o.extra_objects = {"<< /Filter /Standard /V 1 /R 2 /Length 40 /O <" + o_hex + "> /U <" + u_hex + "> /P -44 >>"};
  // Objects: catalog, pages, font, content, page, then the /Encrypt dictionary.
  o.trailer_extra = "/Encrypt 6 0 R /ID [<00112233445566778899AABBCCDDEEFF> <00112233445566778899AABBCCDDEEFF>] ";
  x = extract_pdf(make_pdf(o));
  EXPECT_EQ(x.error, "encrypted PDF: needs a password");
}

TEST(Pdf, CorruptFilesGiveClearReasons) {
  Extraction x = extract_pdf("");
  EXPECT_EQ(x.error, "empty file (0 bytes), not a PDF");
  x = extract_pdf("<html><body>Not found</body></html>\n");
  EXPECT_EQ(x.error.substr(0, 47), "corrupt PDF: the file does not start with %PDF-") << x.error;
  x = extract_pdf("%PDF-1.7\n" + std::string(200, 'x') + "\n%%EOF\n");
  EXPECT_EQ(x.error.substr(0, 37), "corrupt PDF: poppler cannot open it (") << x.error;
  // Cut before the first page's content: nothing can be recovered.
  std::string pdf = ascii_pdf();
  x = extract_pdf(pdf.substr(0, pdf.find("BT")));
  EXPECT_FALSE(x.ok());
  EXPECT_EQ(x.error.substr(0, 12), "corrupt PDF:") << x.error;
}

TEST(Pdf, RepairedFileGivesItsTextWithAWarning) {
  std::string pdf = ascii_pdf();
  // Point the cross-reference entry of object 2 (the page tree) at the wrong place.
  char entry[32];
  std::snprintf(entry, sizeof entry, "%010zu 00000 n \n", pdf.find("\n2 0 obj\n") + 1);
  size_t at = pdf.rfind(entry);
  ASSERT_NE(at, std::string::npos);
  std::string damaged = pdf;
  damaged.replace(at, 10, "0000000099");
  Extraction x = extract_pdf(damaged);
  ASSERT_TRUE(x.ok()) << x.error;
  EXPECT_EQ(x.text, extract_pdf(pdf).text);
  ASSERT_EQ(x.warnings.size(), 1u);
  EXPECT_EQ(x.warnings[0],
            "poppler reported problems reading the file; the text may be incomplete "
            "(poppler: xref num 2 not found but needed, try to reconstruct)");
}

TEST(Pdf, ControlCharactersBecomeReplacementCharacters) {
  std::string text = "a\x01" "b\r\nc\x7F" "d\xC3(";
  EXPECT_EQ(clean_extracted_text(text), 3u);
  EXPECT_EQ(text, "a\xEF\xBF\xBD" "b\nc\xEF\xBF\xBD" "d\xEF\xBF\xBD(");
  std::string fine = "第一条\tok\f\n";
  EXPECT_EQ(clean_extracted_text(fine), 0u);
  EXPECT_EQ(fine, "第一条\tok\f\n");
}

// Damaged files (bytes flipped, cut, duplicated) give text or a reason, never a crash or a hang.
TEST(Readers, DamagedFilesGiveTextOrAReason) {
  std::mt19937 rng(20240601);
  std::vector<std::pair<SourceFormat, std::string>> seeds = {
      {SourceFormat::kDocx, make_docx(contract_docx_xml())},
      {SourceFormat::kPdf, ascii_pdf()},
      {SourceFormat::kPdf, test::read_file(fixture("zh-en-cairo.pdf"))},
  };
  int ok = 0, failed = 0;
  for (const auto& [format, seed] : seeds) {
    for (int i = 0; i < 150; ++i) {
      std::string bytes = seed;
      std::uniform_int_distribution<size_t> pos(0, bytes.size() - 1);
      switch (i % 3) {
        case 0:
          for (int k = 0; k < 1 + i % 7; ++k) bytes[pos(rng)] = static_cast<char>(rng());
          break;
        case 1:
          bytes.resize(pos(rng));
          break;
        default: {
          size_t a = pos(rng), b = pos(rng);
          size_t from = std::min(a, b), len = std::min<size_t>(std::max(a, b) - from, 512);
          bytes.insert(from, bytes.substr(from, len));
        }
      }
      Extraction x = extract_text(format, bytes);
      if (x.ok()) {
        ++ok;
        std::string copy = x.text;
        EXPECT_EQ(clean_extracted_text(copy), 0u) << "extracted text is clean UTF-8";
      } else {
        ++failed;
        EXPECT_TRUE(x.text.empty());
        EXPECT_GT(x.error.size(), 10u);
      }
    }
  }
  EXPECT_GT(ok, 0);
  EXPECT_GT(failed, 0);
}

TEST(Formats, ChosenByExtensionOnly) {
  EXPECT_EQ(source_format("a/b/Contract.DOCX"), SourceFormat::kDocx);
  EXPECT_EQ(source_format("x.pdf"), SourceFormat::kPdf);
  EXPECT_EQ(source_format("x.Pdf"), SourceFormat::kPdf);
  EXPECT_EQ(source_format("x.txt"), SourceFormat::kText);
  EXPECT_EQ(source_format("x.pdf.txt"), SourceFormat::kText);
  EXPECT_EQ(source_format("pdf"), SourceFormat::kText);
  EXPECT_TRUE(is_extracted_charset("docx"));
  EXPECT_TRUE(is_extracted_charset("pdf"));
  EXPECT_FALSE(is_extracted_charset("UTF-8"));
}

TEST(Formats, IncludeGlobsSelectDocxAndPdf) {
  TempDir tmp;
  for (const char* name : {"a.txt", "b.md", "c.docx", "d.pdf", "e.doc", "f.xlsx", "sub/g.pdf"})
    write_file(tmp / name, "x");
  InputSpec spec;
  spec.paths = {tmp.path().string()};
  spec.include = {"*.txt", "*.md", "*.docx", "*.pdf"};
  std::vector<std::string> found;
  for (const InputEntry& e : list_inputs(spec)) found.push_back(fs::relative(e.path, tmp.path()).string());
  EXPECT_EQ(found, (std::vector<std::string>{"a.txt", "b.md", "c.docx", "d.pdf", "sub/g.pdf"}));

  // The shipped legal batch pipeline asks for them.
  std::string yaml = test::read_file(test::source_dir() / "pipelines/legal-batch.yaml");
  EXPECT_NE(yaml.find("\"*.docx\""), std::string::npos);
  EXPECT_NE(yaml.find("\"*.pdf\""), std::string::npos);
}


// --- A batch through the CLI ---------------------------------------------------------------------

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

TEST(ReadersPipeline, GoodFilesAreExtractedAndBadOnesRecordedWithTheirReason) {
  TempDir tmp;
  fs::path in = tmp / "in", out = tmp / "out";
  write_file(in / "good.txt", "第一条 合同标的\n甲方向乙方采购设备。\n");
  write_file(in / "good.md", "# Terms\n\n1. The Buyer shall pay within 30 days.\n");
  write_file(in / "good.docx", make_docx(contract_docx_xml()));
  write_file(in / "good.pdf", ascii_pdf());
  write_file(in / "UPPER.PDF", ascii_pdf());
  fs::copy_file(fixture("zh-en-cairo.pdf"), in / "zh-en.pdf");
  fs::copy_file(fixture("encrypted-user-password.pdf"), in / "encrypted.pdf");
  PdfOptions scanned;
  scanned.image = true;
  scanned.pages = {"q 612 0 0 792 0 0 cm /Im1 Do Q"};
  write_file(in / "scanned.pdf", make_pdf(scanned));
  write_file(in / "corrupt.pdf", "%PDF-1.7\n" + std::string(300, '#') + "\n");
  write_file(in / "empty.pdf", "");
  std::string docx = make_docx(contract_docx_xml());
  write_file(in / "truncated.docx", docx.substr(0, docx.size() / 2));
  write_file(in / "no-document.docx",
             make_zip({{"[Content_Types].xml", kContentTypes}, {"_rels/.rels", package_rels()}}));
  write_file(in / "empty.docx", "");
  write_file(in / "~$contract.docx", std::string("\x05Alice") + std::string(156, '\0'));  // Word's lock file
  write_file(in / "ignored.doc", "not selected by the globs");
  write_file(tmp / "p.yaml",
             "version: 1\nname: readers\ninput:\n  include: ['*.txt', '*.md', '*.docx', '*.pdf', '*.PDF']\n"
             "stages:\n  - decode: {on_error: replace}\n  - normalize\n  - segment\n"
             "sinks:\n  - sqlite: {path: " + q(out / "r.db") + ", store_text: true}\n"
             "  - jsonl: {path: " + q(out / "r.jsonl") + ", segment_spans: true}\n"
             "run: {threads: 2, batch_size: 3, progress: none}\n");

  auto r = test::run_command(q(test::deepseek_binary()) + " run " + q(tmp / "p.yaml") + " " + q(in));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;  // 1: some documents failed, the run finished
  EXPECT_EQ(r.err.find("Syntax Error"), std::string::npos) << "poppler must not print: " << r.err;
  EXPECT_EQ(r.err.find("rror"), std::string::npos) << r.err;
  fs::path db = out / "r.db";
  EXPECT_EQ(query(db, "SELECT status, total, done, failed FROM runs"), (std::vector<std::string>{"finished|14|6|8"}));

  std::map<std::string, std::string> docs;
  for (const std::string& row :
       query(db, "SELECT path, status, charset, failed_stage, error, segments_count > 0, warnings FROM documents"))
    docs[fs::path(row.substr(0, row.find('|'))).filename().string()] = row.substr(row.find('|') + 1);
  EXPECT_EQ(docs.size(), 14u);
  EXPECT_EQ(docs["good.txt"], "done|UTF-8|NULL|NULL|1|[]");
  EXPECT_EQ(docs["good.md"], "done|UTF-8|NULL|NULL|1|[]");
  EXPECT_EQ(docs["good.docx"], "done|docx|NULL|NULL|1|[]");
  EXPECT_EQ(docs["good.pdf"], "done|pdf|NULL|NULL|1|[]");
  EXPECT_EQ(docs["UPPER.PDF"], "done|pdf|NULL|NULL|1|[]");
  EXPECT_EQ(docs["zh-en.pdf"], "done|pdf|NULL|NULL|1|[]");
  EXPECT_EQ(docs["scanned.pdf"],
            "failed||decode|[decode] no text layer (scanned PDF?); OCR is not supported (1 page)|0|[]");
  EXPECT_EQ(docs["encrypted.pdf"], "failed||decode|[decode] encrypted PDF: needs a password|0|[]");
  EXPECT_TRUE(docs["corrupt.pdf"].starts_with(
      "failed||decode|[decode] corrupt PDF: poppler cannot open it (poppler: Command token too long; "))
      << docs["corrupt.pdf"];
  EXPECT_EQ(docs["empty.pdf"], "failed||decode|[decode] empty file (0 bytes), not a PDF|0|[]");
  EXPECT_EQ(docs["truncated.docx"],
            "failed||decode|[decode] corrupt DOCX: not a zip archive (truncated or damaged file?)|0|[]");
  EXPECT_EQ(docs["no-document.docx"],
            "failed||decode|[decode] not a DOCX document: the zip (2 entries) has no word/document.xml|0|[]");
  EXPECT_EQ(docs["empty.docx"], "failed||decode|[decode] empty file (0 bytes), not a DOCX document|0|[]");
  EXPECT_EQ(docs["~$contract.docx"],
            "failed||decode|[decode] corrupt DOCX: not a zip archive (truncated or damaged file?) (a Word lock file, "
            "left while the document is open: exclude '~$*')|0|[]");
  for (const char* name : {"scanned.pdf", "encrypted.pdf", "truncated.docx"})
    EXPECT_NE(r.out.find(name), std::string::npos) << "the summary names " << name << ":\n" << r.out;

  // The stored (normalized) text of a converted document is its extracted text; NFKC changes
  // nothing in these fixtures.
  EXPECT_EQ(query(db, "SELECT text FROM documents WHERE path LIKE '%good.docx'"),
            (std::vector<std::string>{kContractText}));
  EXPECT_EQ(query(db, "SELECT text FROM documents WHERE path LIKE '%good.txt'"),
            (std::vector<std::string>{"第一条 合同标的\n甲方向乙方采购设备。\n"}));
  auto zh_segments = query(db,
                           "SELECT s.number, substr(CAST(d.text AS BLOB), s.\"begin\" + 1, s.\"end\" - s.\"begin\") "
                           "FROM segments s JOIN documents d ON d.id = s.document_id "
                           "WHERE d.path LIKE '%zh-en.pdf' ORDER BY s.ordinal");
  ASSERT_GE(zh_segments.size(), 4u);
  EXPECT_EQ(zh_segments[0], "第一条|第一条 合同标的");
  EXPECT_EQ(zh_segments[1], "|甲方向乙方采购办公设备一批。");

  // Source offsets of a converted document index the extracted text (the offsets rule).
  std::string extracted = extract_docx(docx).text;
  int checked = 0;
  std::istringstream lines(test::read_file(out / "r.jsonl"));
  for (std::string line; std::getline(lines, line);) {
    std::string error;
    auto v = parse_json(line, &error);
    ASSERT_TRUE(v) << error;
    if (v->find("path")->string.find("good.docx") == std::string::npos) continue;
    EXPECT_EQ(v->find("charset")->string, "docx");
    for (const JsonValue& seg : v->find("segment_spans")->array) {
      auto at = [&](const char* k) { return static_cast<size_t>(seg.find(k)->number); };
      EXPECT_EQ(at("source_begin"), at("begin"));
      EXPECT_EQ(at("source_end"), at("end"));
      ASSERT_LE(at("source_end"), extracted.size());
      EXPECT_FALSE(extracted.substr(at("source_begin"), at("source_end") - at("source_begin")).empty());
      ++checked;
    }
  }
  EXPECT_GE(checked, 8);

  // A second run skips everything: failed documents are final results too.
  auto again = test::run_command(q(test::deepseek_binary()) + " run " + q(tmp / "p.yaml") + " " + q(in) + " --json");
  EXPECT_NE(again.out.find("\"skipped\":14"), std::string::npos) << again.out << again.err;
}

}  // namespace
}  // namespace ds
