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

void dense_decode(const ModelConfig& c, RunState& s, int layer, int n, int) {
  flash_decode(c, s, layer, n, s.all_blocks.data(), 0, (n + s.kv.block_size - 1) / s.kv.block_size);
  s.profile.kv_bytes += 2.0 * c.n_kv_heads * n * c.head_dim * s.kv.element_size();
}

void dense_causal(const ModelConfig& c, RunState& s, int layer, int first, int n) {
  const simd::Kernels& k = simd::kernels();
  const int hd = c.head_dim, g = c.n_heads / c.n_kv_heads, q_dim = c.q_dim();
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  // Work items: a KV head's g heads over a chunk of kCausalRows query rows, so a one-KV-head model still spreads over
  // the threads; each item reads its head's K/V once for its g x kCausalRows rows.
  // Each item accumulates in its thread's own buffer (s.rows_out) and copies its rows into xb once at the end: the
  // kernel rewrites its accumulators every K/V tile, and written in place in xb, two threads on different KV heads
  // write the two halves of the same rows. Measured (Qwen2.5-1.5B layout, 2 threads, rectify of 32 rows at 4096, one
  // item per KV head): in place 4.4 ms, no faster than one thread, against 2.2 ms through the buffers in one of this
  // machine's modes; 2.9-3.0 against 2.7-2.9 ms in another (3 alternating runs, medians of 5).
  const int chunks = (n + kCausalRows - 1) / kCausalRows;
  const size_t width = static_cast<size_t>(g) * hd;  // a row's outputs for one KV head
  const bool parallel = static_cast<double>(n) * (first + n) * hd * c.n_heads >= kParallelWork;
  // Each work item reads its KV head's keys and values up to its last row.
  for (int i0 = 0; i0 < n; i0 += kCausalRows)
    s.profile.kv_bytes += 2.0 * c.n_kv_heads * (first + std::min(n, i0 + kCausalRows)) * hd * s.kv.element_size();
  parallel_for(c.n_kv_heads * chunks, parallel ? s.threads : 1, [&](int w) {
    const int kvh = w / chunks, i0 = (w % chunks) * kCausalRows, rows = std::min(kCausalRows, n - i0);
    const size_t at = static_cast<size_t>(i0) * q_dim + static_cast<size_t>(kvh) * width;
    float* out = s.rows_out.data() + static_cast<size_t>(omp_get_thread_num()) * s.rows_out_per_thread;
    if (s.kv.dtype == DType::F32)
      k.causal_attn_f32(out, static_cast<int>(width), s.q.data() + at, q_dim, g, rows, first + i0,
                        static_cast<const float*>(s.kv.keys(layer, kvh)),
                        static_cast<const float*>(s.kv.values(layer, kvh)), hd, scale);
    else
      k.causal_attn_bf16(out, static_cast<int>(width), s.q.data() + at, q_dim, g, rows, first + i0,
                         static_cast<const uint16_t*>(s.kv.keys(layer, kvh)),
                         static_cast<const uint16_t*>(s.kv.values(layer, kvh)), hd, scale);
    for (int i = 0; i < rows; ++i)
      std::copy(out + i * width, out + (i + 1) * width, s.xb.data() + at + static_cast<size_t>(i) * q_dim);
  });
}

}  // namespace resa
