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
constexpr int kRowChunk = 32;              // query rows per work item of a causal pass
}

void dense_decode(const ModelConfig& c, RunState& s, int layer, int pos) {
  flash_decode(c, s, layer, pos, s.all_blocks.data(), 0, pos / s.kv.block_size + 1);
}

void dense_prefill(const ModelConfig& c, RunState& s, int layer, int pos, int n) { dense_rectify(c, s, layer, pos, n); }

void dense_rectify(const ModelConfig& c, RunState& s, int layer, int pos, int n) {
  const simd::Kernels& k = simd::kernels();
  const int hd = c.head_dim, g = c.n_heads / c.n_kv_heads, q_dim = c.q_dim();
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  // Work items: a KV head's g heads over a chunk of kRowChunk query rows, so a one-KV-head model still spreads over
  // the threads; each item reads its head's K/V once for its g x kRowChunk rows.
  const int chunks = (n + kRowChunk - 1) / kRowChunk;
  const bool parallel = static_cast<double>(n) * (pos + n) * hd * c.n_heads >= kParallelWork;
  parallel_for(c.n_kv_heads * chunks, parallel ? s.threads : 1, [&](int w) {
    const int kvh = w / chunks, i0 = (w % chunks) * kRowChunk, rows = std::min(kRowChunk, n - i0);
    const size_t at = static_cast<size_t>(i0) * q_dim + static_cast<size_t>(kvh) * g * hd;
    if (s.kv.dtype == DType::F32)
      k.causal_attn_f32(s.xb.data() + at, q_dim, s.q.data() + at, q_dim, g, rows, pos + i0,
                        static_cast<const float*>(s.kv.keys(layer, kvh)),
                        static_cast<const float*>(s.kv.values(layer, kvh)), hd, scale);
    else
      k.causal_attn_bf16(s.xb.data() + at, q_dim, s.q.data() + at, q_dim, g, rows, pos + i0,
                         static_cast<const uint16_t*>(s.kv.keys(layer, kvh)),
                         static_cast<const uint16_t*>(s.kv.values(layer, kvh)), hd, scale);
  });
}

}  // namespace resa
