#include "attention/dense.hpp"

#include <algorithm>
#include <cmath>

#include <omp.h>

#include "attention/flash_decode.hpp"
#include "ops.hpp"
#include "parallel.hpp"
#include "simd/kernels.hpp"

namespace resa {

namespace {
constexpr double kParallelWork = 1 << 22;  // multiply-adds below which a causal pass stays on one thread
}

DecodeStep dense_decode(const ModelConfig& c, const LayerCache& cache, AttentionRows io, const AttentionOptions&,
                        DecodeScratch& sc, int threads, bool) {
  flash_decode(c, cache, io, sc.all_blocks.data(), 0, cache.blocks(), sc, threads);
  DecodeStep st;
  st.kv_bytes = 2.0 * c.n_kv_heads * cache.n * c.head_dim * cache.kv->element_size();
  return st;
}

CausalScratch make_causal_scratch(const ModelConfig& c, int threads) {
  CausalScratch sc;
  // One thread's buffer 4 KB clear of the next (the same reason as below).
  sc.per_thread = static_cast<size_t>(kCausalRows) * c.q_dim() / c.n_kv_heads + 1024;
  sc.rows_out.assign(threads * sc.per_thread, 0.0f);
  return sc;
}

double dense_causal(const ModelConfig& c, const LayerCache& cache, AttentionRows io, int first, int n,
                    CausalScratch& sc, int threads) {
  const simd::Kernels& k = simd::kernels();
  const int hd = c.head_dim, g = c.n_heads / c.n_kv_heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  // Work items: a KV head's g heads over a chunk of kCausalRows query rows, so a one-KV-head model still spreads over
  // the threads; each item reads its head's K/V once for its g x kCausalRows rows.
  // Each item accumulates in its thread's own buffer (sc.rows_out) and copies its rows out once at the end: the
  // kernel rewrites its accumulators every K/V tile, and written in place in the output, two threads on different KV
  // heads write the two halves of the same rows. Measured (Qwen2.5-1.5B layout, 2 threads, rectify of 32 rows at
  // 4096, one item per KV head): in place 4.4 ms, no faster than one thread, against 2.2 ms through the buffers in one of this
  // machine's modes; 2.9-3.0 against 2.7-2.9 ms in another (3 alternating runs, medians of 5).
  const int chunks = (n + kCausalRows - 1) / kCausalRows;
  const size_t width = static_cast<size_t>(g) * hd;  // a row's outputs for one KV head
  const bool parallel = static_cast<double>(n) * (first + n) * hd * c.n_heads >= kParallelWork;
  // Each work item reads its KV head's keys and values up to its last row.
  double bytes = 0;
  for (int i0 = 0; i0 < n; i0 += kCausalRows)
    bytes += 2.0 * c.n_kv_heads * (first + std::min(n, i0 + kCausalRows)) * hd * cache.kv->element_size();
  parallel_for(c.n_kv_heads * chunks, parallel ? threads : 1, [&](int w) {
    const int kvh = w / chunks, i0 = (w % chunks) * kCausalRows, rows = std::min(kCausalRows, n - i0);
    const size_t q_at = static_cast<size_t>(i0) * io.stride + static_cast<size_t>(kvh) * width;
    float* out = sc.rows_out.data() + static_cast<size_t>(omp_get_thread_num()) * sc.per_thread;
    if (cache.kv->dtype == DType::F32)
      k.causal_attn_f32(out, static_cast<int>(width), io.q + q_at, io.stride, g, rows, first + i0,
                        static_cast<const float*>(cache.keys(kvh)), static_cast<const float*>(cache.values(kvh)),
                        hd, scale);
    else
      k.causal_attn_bf16(out, static_cast<int>(width), io.q + q_at, io.stride, g, rows, first + i0,
                         static_cast<const uint16_t*>(cache.keys(kvh)),
                         static_cast<const uint16_t*>(cache.values(kvh)), hd, scale);
    for (int i = 0; i < rows; ++i)
      std::copy(out + i * width, out + (i + 1) * width, io.out + q_at + static_cast<size_t>(i) * io.stride);
  });
  return bytes;
}

}  // namespace resa
