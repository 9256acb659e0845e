// From the legal model's per-segment and per-token outputs to spans: the pure part of legal.extract.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ds::legal {

// A run of consecutive segments [first, last] that form one extracted clause.
struct SegmentRun {
  size_t first = 0;
  size_t last = 0;
  double confidence = 0.0;  // the highest segment probability in the run
};

// Segments whose probability reaches `join` merge with their neighbours at or above `join` into one
// run (a clause the segmenter cut into sentences); every other segment at or above `floor` is a run
// of its own, so an evaluation at a low threshold still sees every candidate with its own score.
std::vector<SegmentRun> assemble_runs(std::span<const double> probabilities, double join, double floor);

// An entity decoded from BIO token tags: tokens [first, last], its type ("PARTY" of B-PARTY).
struct TaggedEntity {
  size_t first = 0;
  size_t last = 0;
  std::string type;
  double confidence = 0.0;  // mean over its tokens of the chosen tag's softmax probability
};

// Greedy BIO decoding of row-major logits [tokens, labels]: the argmax tag per token; B-X starts an
// entity, I-X continues an entity of type X (and starts one after O or another type). Labels that
// are not O/B-*/I-* are treated as O. Throws std::invalid_argument when the sizes disagree.
std::vector<TaggedEntity> decode_bio(std::span<const float> logits, size_t tokens,
                                     std::span<const std::string_view> labels);

// Jaccard overlap of two byte ranges [b, e).
double span_jaccard(size_t b1, size_t e1, size_t b2, size_t e2);

}  // namespace ds::legal
