// Task heads over the final hidden states z of one sequence (SPEC.md section 3, "Heads").
// Internal to model/.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "model/encoder.h"
#include "model/encoder_weights.h"

namespace ds::model {

// Fills out[head name] for every loaded head from z[T, D] and the sequence's token ids[T] (read by
// lexical bags only). Spans must be valid (checked by the encoder); an empty span, or T == 0 for
// pooled heads, gives zeros.
void run_heads(const std::vector<HeadWeights>& heads, const float* z, int T, int D, std::span<const int32_t> ids,
               std::span<const TokenRange> segments, std::map<std::string, Output>& out, kernels::ThreadPool* pool);

// The lexical-bag bucket of the n-gram gram[0..n) (SPEC.md section 3): an FNV-1a style fold of the
// ids seeded with n, then the murmur3 64-bit finalizer, modulo `buckets`.
uint64_t lexical_bucket(int n, const int32_t* gram, uint64_t buckets);

// The features of span [begin, end) of `ids`: lexical_bucket(n, ids[i..i+n)) for n = 1..max_n and
// i = begin..end-n, in that order (all unigrams, then all bigrams, ...).
std::vector<uint64_t> lexical_features(std::span<const int32_t> ids, int begin, int end, const LexicalSpec& spec);

}  // namespace ds::model
