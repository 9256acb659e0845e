// ThreadPool: n - 1 workers plus the caller, one job at a time.
//
// Two facts about where this runs shaped it:
//  * Kernels call parallel_for many times per forward pass with jobs of tens of microseconds, so a
//    mutex + condition_variable hand-off (several microseconds each way) would eat the gain on
//    small GEMMs. Workers spin briefly on a generation counter, then sleep on it (C++20 atomic wait,
//    a futex). The spin is short because the machine is shared.
//  * On a shared 2-vCPU host a worker is often not running when a job starts. With fixed chunks the
//    caller would wait milliseconds for it (measured: M = 1 GEMMs 14x slower than on one thread).
//    So each thread owns a contiguous range (good for cache reuse when nobody is late), takes it in
//    small pieces, and then steals what is left of the others' ranges. The caller waits only for
//    workers that actually joined the job: a worker that wakes after the job closed skips it.
#include "kernels/cpu/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace ds::kernels {
namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Spins until pred() or until the budget is spent; true if pred() became true.
template <class Pred>
bool spin_until(Pred pred, std::chrono::microseconds budget) {
  const auto until = std::chrono::steady_clock::now() + budget;
  for (int i = 0;; ++i) {
    if (pred()) return true;
    cpu_relax();
    if ((i & 63) == 63 && std::chrono::steady_clock::now() > until) return false;
  }
}

constexpr std::chrono::microseconds kSpin{100};
constexpr size_t kPiecesPerRange = 8;  // pieces a range is taken in: the unit of stealing

thread_local const void* tls_inside_pool = nullptr;

// One thread's share of a job, on its own cache line (threads hammer `next`).
struct alignas(64) Range {
  std::atomic<size_t> next{0};
  size_t end = 0;
};

}  // namespace

struct ThreadPool::Impl {
  int size = 1;
  std::vector<std::thread> workers;
  std::unique_ptr<Range[]> ranges;
  std::mutex submit_mu;  // one job at a time when several threads share the pool

  // The current job: written by the submitter before it opens `state`, read by threads that joined.
  const std::function<void(size_t, size_t)>* body = nullptr;
  size_t piece = 1;
  int nranges = 0;

  // Bit 31: the job is open for joining. Low bits: workers inside the job.
  static constexpr uint32_t kOpen = 1u << 31;
  std::atomic<uint32_t> state{0};
  std::atomic<uint64_t> generation{0};  // bumped per job (and at shutdown) to wake workers
  std::atomic<bool> stop{false};

  std::mutex error_mu;
  std::exception_ptr error;

  void take_from(int r) {
    Range& range = ranges[size_t(r)];
    for (;;) {
      const size_t b = range.next.fetch_add(piece, std::memory_order_relaxed);
      if (b >= range.end) return;
      try {
        (*body)(b, std::min(b + piece, range.end));
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mu);
        if (!error) error = std::current_exception();
      }
    }
  }

  // Own range first, then whatever the others have not taken yet.
  void work(int own) {
    for (int k = 0; k < nranges; ++k) take_from((own + k) % nranges);
  }

  bool try_join() {
    uint32_t s = state.load(std::memory_order_acquire);
    while (s & kOpen) {
      if (state.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_acquire)) return true;
    }
    return false;
  }

  void leave() {
    if (state.fetch_sub(1, std::memory_order_acq_rel) == 1) state.notify_all();  // last out of a closed job
  }

  void worker(int index) {
    tls_inside_pool = this;
    uint64_t seen = 0;
    for (;;) {
      if (!spin_until([&] { return generation.load(std::memory_order_acquire) != seen; }, kSpin))
        generation.wait(seen, std::memory_order_acquire);
      seen = generation.load(std::memory_order_acquire);
      if (stop.load(std::memory_order_acquire)) return;
      if (try_join()) {
        work(index % nranges);
        leave();
      }
    }
  }
};

ThreadPool::ThreadPool(int threads) : impl_(new Impl) {
  if (threads <= 0) threads = int(std::max(1u, std::thread::hardware_concurrency()));
  impl_->size = threads;
  impl_->ranges.reset(new Range[size_t(threads)]);
  for (int i = 1; i < threads; ++i) impl_->workers.emplace_back([this, i] { impl_->worker(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(impl_->submit_mu);
    impl_->stop.store(true, std::memory_order_release);
    impl_->generation.fetch_add(1, std::memory_order_release);
    impl_->generation.notify_all();
  }
  for (auto& t : impl_->workers) t.join();
  delete impl_;
}

int ThreadPool::size() const { return impl_->size; }

void ThreadPool::parallel_for(size_t n, const std::function<void(size_t, size_t)>& body) {
  if (n == 0) return;
  // One index, one thread, or a call from inside one of our own chunks: run here. The nested case
  // would otherwise deadlock waiting for itself.
  if (n == 1 || impl_->size == 1 || tls_inside_pool == impl_) {
    body(0, n);
    return;
  }
  std::lock_guard<std::mutex> lock(impl_->submit_mu);
  Impl& s = *impl_;
  s.body = &body;
  s.nranges = int(std::min(n, size_t(s.size)));
  for (int r = 0; r < s.nranges; ++r) {
    s.ranges[size_t(r)].next.store(n * size_t(r) / size_t(s.nranges), std::memory_order_relaxed);
    s.ranges[size_t(r)].end = n * size_t(r + 1) / size_t(s.nranges);
  }
  s.piece = std::max<size_t>(1, (n / size_t(s.nranges) + kPiecesPerRange - 1) / kPiecesPerRange);
  s.error = nullptr;
  s.state.store(Impl::kOpen, std::memory_order_release);
  s.generation.fetch_add(1, std::memory_order_release);
  s.generation.notify_all();

  const void* outer = tls_inside_pool;
  tls_inside_pool = impl_;
  s.work(0);
  tls_inside_pool = outer;

  // Close the job; wait only for workers that joined (they finish the piece they hold).
  if (s.state.fetch_and(~Impl::kOpen, std::memory_order_acq_rel) != Impl::kOpen) {
    if (!spin_until([&] { return s.state.load(std::memory_order_acquire) == 0; }, kSpin)) {
      for (uint32_t v; (v = s.state.load(std::memory_order_acquire)) != 0;) s.state.wait(v, std::memory_order_acquire);
    }
  }
  if (s.error) {
    std::exception_ptr e = s.error;
    s.error = nullptr;
    std::rethrow_exception(e);
  }
}

}  // namespace ds::kernels
