// Reference top-k: sort every index by (score descending, index ascending), keep k, sort the kept
// indices. O(n log n), which is what makes it obviously right.
#include <algorithm>
#include <numeric>
#include <vector>

#include "kernels/cpu/kernels.h"
#include "kernels/cpu/top_k_order.h"

namespace ds::kernels::ref {

void top_k(const float* scores, int n, int k, int32_t* out) {
  std::vector<int32_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(),
                   [&](int32_t a, int32_t b) { return top_k_before(scores[a], a, scores[b], b); });
  std::sort(idx.begin(), idx.begin() + k);
  std::copy(idx.begin(), idx.begin() + k, out);
}

}  // namespace ds::kernels::ref
