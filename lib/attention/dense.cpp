#include "attention/dense.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include <cblas.h>
#include <omp.h>

#include "attention/flash_decode.hpp"
#include "ops.hpp"
#include "parallel.hpp"
#include "simd/kernels.hpp"

namespace resa {

namespace {
constexpr double kParallelWork = 1 << 22;  // multiply-adds below which a prefill product stays on one thread
}

void dense_decode(const ModelConfig& c, RunState& s, int layer, int pos) {
  const int nb = s.kv.n_blocks, n_blocks = pos / s.kv.block_size + 1;
  for (int h = 0; h < c.n_kv_heads; ++h) std::iota(s.selected.begin() + h * nb, s.selected.begin() + h * nb + n_blocks, 0);
  flash_decode(c, s, layer, pos, n_blocks);
}

void dense_prefill(const ModelConfig& c, RunState& s, int layer, int pos, int n) {
  const int hd = c.head_dim, group = c.n_heads / c.n_kv_heads, total = pos + n;
  const int q_dim = c.q_dim();
  const float inv_scale = 1.0f / std::sqrt(static_cast<float>(hd));
  // Each KV head's keys and values as f32 rows [total][head_dim]: the cache itself, or a converted copy of a bf16
  // cache in s.kh / s.vh (one [capacity][head_dim] slab per KV head).
  const size_t slab = static_cast<size_t>(s.kv.capacity) * hd;
  if (s.kv.dtype != DType::F32)
    for (int h = 0; h < c.n_kv_heads; ++h) s.kv.load(layer, h, total, s.kh.data() + h * slab, s.vh.data() + h * slab);
  auto keys = [&](int kvh) {
    return s.kv.dtype == DType::F32 ? static_cast<const float*>(s.kv.keys(layer, kvh)) : s.kh.data() + kvh * slab;
  };
  auto values = [&](int kvh) {
    return s.kv.dtype == DType::F32 ? static_cast<const float*>(s.kv.values(layer, kvh)) : s.vh.data() + kvh * slab;
  };
  const bool parallel = static_cast<double>(n) * total * hd * c.n_heads >= kParallelWork;
  parallel_for(c.n_heads, parallel ? s.threads : 1, [&](int h) {
    float* att = s.att.data() + static_cast<size_t>(omp_get_thread_num()) * s.max_rows * s.context;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, total, hd, inv_scale, s.q.data() + h * hd, q_dim,
                keys(h / group), hd, 0.0f, att, total);
    for (int i = 0; i < n; ++i) {
      float* row = att + static_cast<size_t>(i) * total;
      const int visible = pos + i + 1;
      softmax(row, visible);
      std::fill(row + visible, row + total, 0.0f);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, hd, total, 1.0f, att, total, values(h / group), hd,
                0.0f, s.xb.data() + h * hd, q_dim);
  });
}

void dense_rectify(const ModelConfig& c, RunState& s, int layer, int pos, int n) {
  const simd::Kernels& k = simd::kernels();
  const int hd = c.head_dim, g = c.n_heads / c.n_kv_heads, q_dim = c.q_dim();
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const bool parallel = static_cast<double>(n) * (pos + n) * hd * c.n_heads >= kParallelWork;
  parallel_for(c.n_kv_heads, parallel ? s.threads : 1, [&](int kvh) {
    const size_t at = static_cast<size_t>(kvh) * g * hd;
    if (s.kv.dtype == DType::F32)
      k.causal_attn_f32(s.xb.data() + at, q_dim, s.q.data() + at, q_dim, g, n, pos,
                        static_cast<const float*>(s.kv.keys(layer, kvh)),
                        static_cast<const float*>(s.kv.values(layer, kvh)), hd, scale);
    else
      k.causal_attn_bf16(s.xb.data() + at, q_dim, s.q.data() + at, q_dim, g, n, pos,
                         static_cast<const uint16_t*>(s.kv.keys(layer, kvh)),
                         static_cast<const uint16_t*>(s.kv.values(layer, kvh)), hd, scale);
  });
}

}  // namespace resa
