// run_ranges: see parallel.h.
#include "kernels/cpu/parallel.h"

#include "kernels/cpu/thread_pool.h"

namespace ds::kernels {

void run_ranges(ThreadPool* pool, size_t units, void (*fn)(void* ctx, size_t begin, size_t end), void* ctx) {
  if (units == 0) return;
  if (!pool || pool->size() <= 1) {
    fn(ctx, 0, units);
    return;
  }
  pool->parallel_for(units, [&](size_t begin, size_t end) { fn(ctx, begin, end); });
}

}  // namespace ds::kernels
