// parallel_for over an optional pool: runs inline when there is no pool, one thread, or one item.
#pragma once

#include <cstddef>
#include <functional>

#include "kernels/cpu/thread_pool.h"

namespace ds::model {

inline void parallel_for(kernels::ThreadPool* pool, size_t n, const std::function<void(size_t, size_t)>& body) {
  if (n == 0) return;
  if (!pool || pool->size() <= 1 || n == 1) {
    body(0, n);
    return;
  }
  pool->parallel_for(n, body);
}

}  // namespace ds::model
