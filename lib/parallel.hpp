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

#include <fmt/format.h>

#include "resa/resa.hpp"

namespace resa {

// The threads a call runs on (RunContext::threads): `threads` when > 0, else OpenMP's default for the calling thread
// (OMP_NUM_THREADS, else every core). Every parallel loop of a call gets this count from its caller: nothing sets
// OpenMP's process-wide default, so sessions on different threads each run on the threads they were given.
inline int resolve_threads(int threads) {
  if (threads < 0) throw Error(fmt::format("the number of threads must be >= 0, got {}", threads));
  return threads > 0 ? threads : std::max(1, omp_get_max_threads());
}

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
// every call alike, for loops over memory those threads placed (block selection outside a decode step, sparse.cpp).
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
// (the last parts may be short or empty). Decode's products split with align 8, a chunk's GEMM with its block rows
// (lib/gemm.cpp), which gives the same shares whenever ceil(n / T) is a multiple of them (every Qwen2.5 shape on
// 2 threads).
inline RowShare thread_share(int64_t n, int64_t t, int64_t T, int64_t align = 1) {
  const int64_t per = ((n + T - 1) / T + align - 1) / align * align;
  return {std::min(n, t * per), std::min(n, (t + 1) * per)};
}

// Decode shares are multiples of this many rows: the row groups of the quantized types' placed form (simd/quant.hpp),
// which a thread reads whole.
constexpr int64_t kDecodeRowAlign = 8;

// Most threads a product is spread over (more are left idle).
constexpr int kMaxShares = 64;

// A share's next unclaimed row, counted from the share's start; one cache line each. Zero when made (C++20).
struct alignas(64) ShareCursor {
  std::atomic<int64_t> next;
};

// What thread `me` does with a product cut in n shares (share u: size(u) rows; share me: the rows it placed): runs of
// ~1/runs of its own share first, then the runs left in the others' shares in turn, each run claimed from its share's
// cursor, run(u, a, b) for rows [a, b) of share u (a, b counted from its start; run lengths multiples of `align`).
// The two cores of this project's machine often stream at rates ~15 % apart for a while (a decode product's two
// halves finished ~16 % of its time apart on average, a prefill GEMM's ~8 %), and the faster would otherwise wait at
// the end of every product. Visiting all n shares, whatever the team's size, covers every row.
template <class Size, class Run>
void claim_shares(ShareCursor* cursor, int me, int n, int64_t runs, int64_t align, Size&& size, Run&& run) {
  for (int i = 0; i < n; ++i) {
    const int u = (me + i) % n;
    const int64_t rows = size(u), step = std::max(align, (rows / runs + align - 1) / align * align);
    for (int64_t a; (a = cursor[u].next.fetch_add(step, std::memory_order_relaxed)) < rows;)
      run(u, a, std::min(rows, a + step));
  }
}

// run(begin, end) over all rows, on `threads` threads (at most kMaxShares); on the calling thread
// alone when product_alone says so. Each thread takes its own share (thread_share: the rows it placed) in runs of
// ~1/32 of it first, then what is left of the others' (claim_shares). Any run of rows computes the same bits,
// whichever thread takes it.
template <class F>
void parallel_rows(int threads, int64_t rows, int64_t work, F&& run) {
  const int T = std::clamp(threads, 1, kMaxShares);
  if (product_alone(work, T)) return run(int64_t{0}, rows);
  ShareCursor cursor[kMaxShares];
#pragma omp parallel num_threads(T)
  claim_shares(
      cursor, omp_get_thread_num(), T, 32, kDecodeRowAlign,
      [&](int u) {
        const RowShare s = thread_share(rows, u, T, kDecodeRowAlign);
        return s.end - s.begin;
      },
      [&](int u, int64_t a, int64_t b) {
        const int64_t begin = thread_share(rows, u, T, kDecodeRowAlign).begin;
        run(begin + a, begin + b);
      });
}

}  // namespace resa
