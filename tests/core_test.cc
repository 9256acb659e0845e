#include <gtest/gtest.h>

#include <random>

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

TEST(OffsetMap, ComposeKeepsSourceBytesThatMapToNothing) {
  OffsetMap::Builder inner_b;  // text -> bytes: a 3-byte BOM, then 4 copied bytes
  inner_b.append(0, 3, false);
  inner_b.append(4, 4, true);
  auto inner = inner_b.finish();
  auto outer = OffsetMap::identity(4);
  auto both = outer.compose(inner);
  EXPECT_EQ(both.map({0, 4}), (Span{3, 7}));
  EXPECT_EQ(both.map({1, 2}), (Span{4, 5}));
  EXPECT_EQ(both.src_size(), 7u);

  OffsetMap::Builder removed_b;  // normalized -> text: byte 2 (a control character) removed
  removed_b.append(2, 2, true);
  removed_b.append(0, 1, false);
  removed_b.append(1, 1, true);
  auto removed = removed_b.finish();
  auto chain = removed.compose(inner);
  EXPECT_EQ(chain.map({2, 3}), (Span{6, 7}));
  EXPECT_EQ(chain.map({0, 3}), (Span{3, 7}));
}

// Composition never loses source bytes that mapping twice would reach: for any maps and any span
// the composed span covers the twice-mapped one (it may widen further where an inner replaced unit
// straddles two outer pieces, which then become one unit).
TEST(OffsetMap, ComposeAgreesWithMappingTwiceOnRandomMaps) {
  std::mt19937 rng(7);
  auto random_map = [&](size_t src_size) {
    OffsetMap::Builder b;
    size_t src = 0;
    while (src < src_size) {
      size_t len = std::min<size_t>(src_size - src, 1 + rng() % 4);
      switch (rng() % 4) {
        case 0: b.append(len, len, true); break;
        case 1: b.append(0, len, false); break;              // removed
        case 2: b.append(1 + rng() % 3, len, false); break;  // rewritten
        default: b.append(len, len, true); break;
      }
      src += len;
    }
    return b.finish();
  };
  for (int trial = 0; trial < 200; ++trial) {
    OffsetMap inner = random_map(5 + rng() % 30);
    OffsetMap outer = random_map(inner.dst_size());
    OffsetMap both = outer.compose(inner);
    ASSERT_EQ(both.dst_size(), outer.dst_size());
    ASSERT_EQ(both.src_size(), inner.src_size());
    for (size_t x = 0; x <= outer.dst_size(); ++x)
      for (size_t y = x + 1; y <= outer.dst_size(); ++y) {
        Span composed = both.map({x, y}), twice = inner.map(outer.map({x, y}));
        ASSERT_LE(composed.begin, twice.begin) << "trial " << trial << " span " << x << "," << y;
        ASSERT_GE(composed.end, twice.end) << "trial " << trial << " span " << x << "," << y;
      }
  }
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
