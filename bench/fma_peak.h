// The machine's FP32 FMA peak, measured the way docs/PERF-ANCHORS.md section 1 does it.
#pragma once

#include <cstdint>

namespace ds::bench {

// Runs `iterations` steps of 12 independent 8-wide FMA chains on one thread and returns a value
// derived from the result so the loop cannot be removed. Flops = iterations * 12 * 16.
// Requires AVX2 + FMA.
float fma_chains(int64_t iterations);

}  // namespace ds::bench
