// The ways work is split over OpenMP threads.
// - parallel_for: independent items handed out dynamically (the causal chunks); parallel_for_static: fixed runs.
// - parallel_rows: a weight product's rows, one even contiguous share per thread (thread_share), the same shares on
//   every call, so the thread that copied a matrix's rows at load (lib/model/placement.cpp) is the one that reads
//   them in every decode step (measured on this project's 2-core VM: a model's weights first touched by one thread
//   stream at 60-70 % of the rate of weights each thread touched itself; see placement.hpp); a thread done with its
//   share takes what is left of the others' (see parallel_rows). A chunk's GEMM (lib/gemm.cpp) and decode attention
//   (lib/attention/flash_decode.cpp) share their work out the same way.
// Both run a plain loop on one thread below their thresholds: OpenMP's if() clause would still set up a one-thread
// team on every call, which costs a decode step more than its small loops do.
#pragma once

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdint>

namespace resa {

template <class F>
void parallel_for(int n, int threads, F&& body) {
  if (threads <= 1 || n < 2) {
    for (int i = 0; i < n; ++i) body(i);
    return;
  }
#pragma omp parallel for schedule(dynamic) num_threads(threads)
  for (int i = 0; i < n; ++i) body(i);
}

// The same with fixed contiguous runs: thread t of T takes iterations [t * ceil(n / T), (t + 1) * ceil(n / T)), on
// every call alike, for loops over memory those threads placed (the decode step's attention over the KV cache).
template <class F>
void parallel_for_static(int n, int threads, F&& body) {
  if (threads <= 1 || n < 2) {
    for (int i = 0; i < n; ++i) body(i);
    return;
  }
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int i = 0; i < n; ++i) body(i);
}

// Multiply-adds below which a weight product runs on one thread.
constexpr int64_t kParallelProductWork = int64_t{1} << 18;

struct RowShare {
  int64_t begin = 0, end = 0;
};

// Whether a weight product of `work` multiply-adds runs on its calling thread alone when T threads are available.
inline bool product_alone(int64_t work, int T) { return work < kParallelProductWork || T == 1; }

// Thread t's share of n rows split in T contiguous parts of ceil(n / T) rows, rounded up to a multiple of `align`
// (the last parts may be short or empty). Decode's products split with align 1, a chunk's GEMM with its block rows
// (lib/gemm.cpp), which gives the same shares whenever ceil(n / T) is a multiple of them (every Qwen2.5 shape on
// 2 threads).
inline RowShare thread_share(int64_t n, int64_t t, int64_t T, int64_t align = 1) {
  const int64_t per = ((n + T - 1) / T + align - 1) / align * align;
  return {std::min(n, t * per), std::min(n, (t + 1) * per)};
}

// Most threads a product's row shares are balanced over (more run unbalanced: each its share).
constexpr int kMaxBalancedThreads = 64;

// run(begin, end) over all rows, on the threads OpenMP would use now (omp_get_max_threads()); on the calling thread
// alone when product_alone says so. Each thread works through its own share (thread_share: the rows it placed) in
// runs of about 1/32 of it, then takes the runs left in the other shares: two threads of this machine often stream
// at rates ~15 % apart for a while (a product's two halves measured ~16 % of its time apart on average over a
// decode step), and the faster would otherwise wait at the end of every product. Any run of rows computes the
// same bits, whichever thread takes it.
template <class F>
void parallel_rows(int64_t rows, int64_t work, F&& run) {
  const int T = omp_get_max_threads();
  if (product_alone(work, T)) return run(int64_t{0}, rows);
  if (T > kMaxBalancedThreads) {
#pragma omp parallel
    {
      const RowShare s = thread_share(rows, omp_get_thread_num(), omp_get_num_threads());
      run(s.begin, s.end);
    }
    return;
  }
  struct alignas(64) Cursor {  // a share's next unclaimed row, one cache line each
    std::atomic<int64_t> next;
  };
  Cursor cursor[kMaxBalancedThreads];
  const int64_t per = thread_share(rows, 0, T).end;  // the largest share
  const int64_t step = std::max<int64_t>(8, (per / 32 + 7) / 8 * 8);
  for (int t = 0; t < T; ++t) cursor[t].next.store(thread_share(rows, t, T).begin, std::memory_order_relaxed);
#pragma omp parallel num_threads(T)
  {
    const int me = omp_get_thread_num();
    for (int i = 0; i < T; ++i) {  // its own share first, then the others' in turn (all T: a smaller team too)
      const int t = (me + i) % T;
      const int64_t end = thread_share(rows, t, T).end;
      for (int64_t a; (a = cursor[t].next.fetch_add(step, std::memory_order_relaxed)) < end;)
        run(a, std::min(end, a + step));
    }
  }
}

}  // namespace resa
