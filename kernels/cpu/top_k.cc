// O(n) top-k: nth_element over indices with the shared (score desc, index asc) order, then sort the
// k winners by index. The order is total (ties broken by index), so the selected set is exactly
// the reference's.
#include <algorithm>
#include <numeric>
#include <vector>

#include "kernels/cpu/portable_kernels.h"
#include "kernels/cpu/top_k_order.h"

namespace ds::kernels {

void top_k_select(const float* scores, int n, int k, int32_t* out) {
  // Grow-only per-thread scratch: top_k runs once per layer, no need to allocate each time.
  thread_local std::vector<int32_t> idx;
  idx.resize(size_t(n));
  std::iota(idx.begin(), idx.end(), 0);
  if (k < n) {
    std::nth_element(idx.begin(), idx.begin() + (k - 1), idx.end(),
                     [&](int32_t a, int32_t b) { return top_k_before(scores[a], a, scores[b], b); });
  }
  std::sort(idx.begin(), idx.begin() + k);
  std::copy(idx.begin(), idx.begin() + k, out);
}

}  // namespace ds::kernels
