// The pure parts of legal.extract: segment runs, BIO decoding, the built-in taxonomy and the
// calibration file. (The stage itself runs on the shipped legal model in the legal pipeline tests.)
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "calibration.h"
#include "clause_assembly.h"
#include "taxonomy.h"

namespace ds::legal {
namespace {

TEST(LegalAssembly, NeighboursAboveJoinMergeOthersStandAlone) {
  std::vector<double> p = {0.9, 0.7, 0.2, 0.6, 0.05, 0.55};
  auto runs = assemble_runs(p, 0.5, 0.1);
  ASSERT_EQ(runs.size(), 4u);
  EXPECT_EQ(runs[0].first, 0u);
  EXPECT_EQ(runs[0].last, 1u);
  EXPECT_DOUBLE_EQ(runs[0].confidence, 0.9);
  EXPECT_EQ(runs[1].first, 2u);  // 0.2 >= floor: alone
  EXPECT_EQ(runs[2].first, 3u);
  EXPECT_EQ(runs[3].first, 5u);  // 0.05 < floor: dropped
  EXPECT_TRUE(assemble_runs({}, 0.5, 0.0).empty());
  EXPECT_EQ(assemble_runs(p, 0.5, 0.0).size(), 5u);  // floor 0 keeps every candidate
}

TEST(LegalAssembly, BioDecodingFollowsTypesAndRejectsBadShapes) {
  std::vector<std::string_view> labels = {"O", "B-PARTY", "I-PARTY", "B-DATE", "I-DATE"};
  auto row = [](int best) {
    std::vector<float> r(5, 0.0f);
    r[best] = 5.0f;
    return r;
  };
  std::vector<float> logits;
  for (int t : {1, 2, 0, 2, 3, 4, 2, 0}) {  // B-P I-P O I-P B-D I-D I-P O
    auto r = row(t);
    logits.insert(logits.end(), r.begin(), r.end());
  }
  auto ents = decode_bio(logits, 8, labels);
  ASSERT_EQ(ents.size(), 4u);
  EXPECT_EQ(ents[0].type, "PARTY");
  EXPECT_EQ(ents[0].first, 0u);
  EXPECT_EQ(ents[0].last, 1u);
  EXPECT_EQ(ents[1].type, "PARTY");  // I- after O starts an entity
  EXPECT_EQ(ents[1].first, 3u);
  EXPECT_EQ(ents[2].type, "DATE");
  EXPECT_EQ(ents[2].last, 5u);
  EXPECT_EQ(ents[3].type, "PARTY");  // I-PARTY after a DATE
  EXPECT_GT(ents[0].confidence, 0.9);
  EXPECT_LT(ents[0].confidence, 1.0);
  EXPECT_THROW(decode_bio(logits, 7, labels), std::invalid_argument);
  EXPECT_TRUE(decode_bio({}, 0, labels).empty());
}

TEST(LegalAssembly, Jaccard) {
  EXPECT_DOUBLE_EQ(span_jaccard(0, 10, 0, 10), 1.0);
  EXPECT_DOUBLE_EQ(span_jaccard(0, 10, 5, 15), 5.0 / 15.0);
  EXPECT_DOUBLE_EQ(span_jaccard(0, 5, 5, 10), 0.0);
  EXPECT_DOUBLE_EQ(span_jaccard(3, 3, 3, 3), 0.0);
}

TEST(LegalTaxonomy, BuiltinHasEveryIdAndAll41CuadCategories) {
  const Taxonomy& tx = Taxonomy::builtin();
  EXPECT_EQ(tx.categories().size(), 31u);
  EXPECT_EQ(tx.cuad_names().size(), 41u);
  ASSERT_TRUE(tx.find("liquidated"));
  EXPECT_EQ(tx.find("liquidated")->label_zh, "违约金");
  EXPECT_EQ(tx.id_of_cuad("Governing Law"), "governing_law");
  EXPECT_EQ(tx.id_of_cuad("Liquidated Damages"), "liquidated");
  EXPECT_EQ(tx.id_of_cuad("no such category"), "");
  EXPECT_EQ(tx.sole_cuad("governing_law"), "Governing Law");
  EXPECT_EQ(tx.sole_cuad("payment"), "");      // CUAD has no payment category
  EXPECT_EQ(tx.sole_cuad("misc_cuad"), "");    // many CUAD categories
  for (const std::string& name : tx.cuad_names()) EXPECT_FALSE(tx.id_of_cuad(name).empty()) << name;
}

TEST(LegalTaxonomy, BadTablesNameTheFileAndLine) {
  try {
    Taxonomy::parse("id\tlabel\tlabel_zh\tart470\na\tA\t甲\t\na\tA\t甲\t\n", "cuad\tid\n");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("taxonomy.tsv:3"), std::string::npos) << e.what();
  }
  try {
    Taxonomy::parse("id\tlabel\tlabel_zh\tart470\na\tA\t甲\t\n", "cuad\tid\nX\tb\n");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cuad_map.tsv:2"), std::string::npos) << e.what();
  }
}

TEST(LegalCalibration, PlattScalingAndClearErrors) {
  Calibration identity;
  EXPECT_NEAR(identity.probability("clauses", "payment", 0.0), 0.5, 1e-12);
  Calibration c = Calibration::parse(
      R"({"format": "deepseek-legal-calibration", "version": 1,
          "heads": {"clauses": {"payment": {"a": 2.0, "b": -1.0}}}})",
      "cal.json");
  EXPECT_NEAR(c.probability("clauses", "payment", 0.5), 0.5, 1e-12);  // 2 * 0.5 - 1 = 0
  EXPECT_NEAR(c.probability("clauses", "dispute", 0.0), 0.5, 1e-12);  // no entry: the raw sigmoid
  EXPECT_NEAR(c.probability("cuad", "payment", 1.0), 1.0 / (1.0 + std::exp(-1.0)), 1e-12);
  for (const char* bad : {"not json", R"({"format": "other", "heads": {}})",
                          R"({"format": "deepseek-legal-calibration", "heads": {"clauses": {"x": {"a": 1}}}})"}) {
    try {
      Calibration::parse(bad, "cal.json");
      FAIL() << bad;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("cal.json"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(Calibration::load("/nonexistent/cal.json"), std::runtime_error);
}

}  // namespace
}  // namespace ds::legal
