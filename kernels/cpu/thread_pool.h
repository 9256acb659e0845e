// A fixed pool of worker threads for data-parallel loops. The calling thread takes part, so a pool of
// n threads starts n - 1 workers. parallel_for blocks until every index is done; exceptions thrown by
// the body are rethrown on the caller (the first one wins).
#pragma once

#include <cstddef>
#include <functional>

namespace ds::kernels {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);  // threads <= 0: hardware concurrency
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const;
  // Calls body(begin, end) on disjoint chunks covering [0, n); at most size() chunks run at once.
  // Each thread owns a contiguous share of [0, n) and takes it in a few pieces; a thread that runs
  // out takes pieces of the others' shares, so a worker descheduled by the OS delays nothing. The
  // number of chunks is therefore not fixed: do not index per-thread state by chunk.
  // Safe to call from several threads (jobs run one after another); a call from inside a body runs
  // inline on the calling thread.
  void parallel_for(size_t n, const std::function<void(size_t begin, size_t end)>& body);

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace ds::kernels
