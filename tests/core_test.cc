#include <gtest/gtest.h>

#include "core/hash.h"
#include "ds/offset_map.h"
#include "ds/options.h"

namespace ds {
namespace {

TEST(OffsetMap, IdentityMapsEveryOffsetToItself) {
  auto m = OffsetMap::identity(10);
  EXPECT_EQ(m.map({0, 10}), (Span{0, 10}));
  EXPECT_EQ(m.map({3, 7}), (Span{3, 7}));
}

TEST(OffsetMap, ReplacedUnitsWidenSpansToTheWholeUnit) {
  // "ab" copied, one 3-byte char replaced by 1 byte, "cd" copied: dst "abXcd" (5) <- src 7 bytes.
  OffsetMap::Builder b;
  b.append(2, 2, true);
  b.append(1, 3, false);
  b.append(2, 2, true);
  auto m = b.finish();
  EXPECT_EQ(m.dst_size(), 5u);
  EXPECT_EQ(m.src_size(), 7u);
  EXPECT_EQ(m.map({0, 2}), (Span{0, 2}));
  EXPECT_EQ(m.map({2, 3}), (Span{2, 5}));
  EXPECT_EQ(m.map({3, 5}), (Span{5, 7}));
  EXPECT_EQ(m.map({1, 4}), (Span{1, 6}));
}

TEST(OffsetMap, ExpansionsMapBackToTheirSingleSource) {
  // One 3-byte source char expanded to 2 bytes ("ﬁ" -> "fi").
  OffsetMap::Builder b;
  b.append(1, 1, true);
  b.append(2, 3, false);
  b.append(1, 1, true);
  auto m = b.finish();
  EXPECT_EQ(m.map({1, 2}), (Span{1, 4}));  // "f" alone widens to the whole ligature
  EXPECT_EQ(m.map({2, 3}), (Span{1, 4}));
  EXPECT_EQ(m.map({3, 4}), (Span{4, 5}));
}

TEST(OffsetMap, ComposeChainsTwoMaps) {
  OffsetMap::Builder outer_b;  // normalized -> text: "Ａ"(3 bytes) folded to "A"
  outer_b.append(1, 3, false);
  outer_b.append(2, 2, true);
  auto outer = outer_b.finish();
  OffsetMap::Builder inner_b;  // text -> bytes: UTF-16 (2 bytes per ASCII, 2 per BMP char)
  inner_b.append(3, 2, false);
  inner_b.append(1, 2, false);
  inner_b.append(1, 2, false);
  auto inner = inner_b.finish();
  auto both = outer.compose(inner);
  EXPECT_EQ(both.map({0, 1}), (Span{0, 2}));
  EXPECT_EQ(both.map({1, 2}), (Span{2, 4}));
  EXPECT_EQ(both.map({1, 3}), (Span{2, 6}));
}

TEST(Hash, Sha256OfKnownInput) {
  EXPECT_EQ(sha256_tagged("abc"), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Options, TypedGettersReturnWhatWasSet) {
  Options o;
  o.set("n", int64_t{3});
  o.set("x", 0.5);
  o.set("s", std::string("hi"));
  EXPECT_EQ(o.get_int("n"), 3);
  EXPECT_DOUBLE_EQ(o.get_float("n"), 3.0);
  EXPECT_DOUBLE_EQ(o.get_float("x"), 0.5);
  EXPECT_EQ(o.get_string("s"), "hi");
  EXPECT_THROW(o.get_bool("n"), std::logic_error);
  EXPECT_THROW(o.get_int("missing"), std::logic_error);
}

}  // namespace
}  // namespace ds
