// Task heads over the final hidden states z of one sequence (SPEC.md section 3, "Heads").
// Internal to model/.
#pragma once

#include <map>
#include <span>
#include <string>
#include <vector>

#include "model/encoder.h"
#include "model/encoder_weights.h"

namespace ds::model {

// Fills out[head name] for every loaded head from z[T, D]. Spans must be valid (checked by the
// encoder); an empty span, or T == 0 for pooled heads, gives zeros.
void run_heads(const std::vector<HeadWeights>& heads, const float* z, int T, int D, std::span<const TokenRange> segments,
               std::map<std::string, Output>& out, kernels::ThreadPool* pool);

}  // namespace ds::model
