// Internal: run_ranges, the one way kernels hand work to a ThreadPool. It is implemented in a
// baseline-ISA file and takes a plain function pointer, so the AVX2 files never instantiate
// std::function (an inline template the linker could then share with portable code).
#pragma once

#include <cstddef>

namespace ds::kernels {

class ThreadPool;

// Calls fn(ctx, begin, end) on disjoint ranges covering [0, units): on the pool when there is
// one (see ThreadPool::parallel_for for how ranges are handed out), else once, inline.
// Blocks until all calls have returned; rethrows the first exception.
void run_ranges(ThreadPool* pool, size_t units, void (*fn)(void* ctx, size_t begin, size_t end), void* ctx);

// Convenience for a callable `body(size_t begin, size_t end)`; its type is local to the caller's file.
template <class Body>
void run_ranges(ThreadPool* pool, size_t units, Body& body) {
  run_ranges(pool, units, [](void* ctx, size_t b, size_t e) { (*static_cast<Body*>(ctx))(b, e); }, &body);
}

}  // namespace ds::kernels
