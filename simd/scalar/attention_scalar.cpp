// The scalar twins of the block-sparse attention kernels (simd/kernels.hpp): plain loops, one token at a time, the
// softmax kept online. They define what the AVX2 / AVX-512 versions must compute. A bf16 cache meets its queries and
// softmax weights rounded to bf16 (simd/vec/attention.inl, Queries, says why); the sums stay f32.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "simd/convert.hpp"
#include "simd/scalar/scalar.hpp"

namespace resa::simd::scalar {

namespace {

inline float load(float x) { return x; }
inline float load(uint16_t h) { return bf16_to_f32(h); }  // 16-bit K/V are bf16

// x as the cache of type T meets it: itself, or rounded to bf16.
template <typename T>
float operand(float x) {
  if constexpr (sizeof(T) == 2) return bf16_to_f32(f32_to_bf16(x));
  return x;
}

template <typename T>
void block_scores(float* scores, const float* qbar, const T* summaries, int n_blocks, int head_dim) {
  for (int b = 0; b < n_blocks; ++b) {
    const T* lo = summaries + static_cast<long>(b) * 2 * head_dim;
    const T* hi = lo + head_dim;
    float s = 0.0f;
    for (int d = 0; d < head_dim; ++d) s += std::max(qbar[d] * load(lo[d]), qbar[d] * load(hi[d]));
    scores[b] = s;
  }
}

// The query q (as the cache of type T meets it: rounded on the fly, so nothing is allocated) dotted with key k.
template <typename T>
float dot(const float* q, const T* k, int n) {
  float acc = 0.0f;
  for (int i = 0; i < n; ++i) acc += operand<T>(q[i]) * load(k[i]);
  return acc;
}

// One step of the online softmax: fold the score s of value row v into (m, l, acc).
template <typename T>
void online_add(float& m, float& l, float* acc, float s, const T* v, int head_dim) {
  if (s > m) {
    const float c = std::exp(m - s);  // 0 for the first token (m = -inf)
    l *= c;
    for (int d = 0; d < head_dim; ++d) acc[d] *= c;
    m = s;
  }
  const float p = std::exp(s - m);
  l += p;
  const float w = operand<T>(p);
  for (int d = 0; d < head_dim; ++d) acc[d] += w * load(v[d]);
}

template <typename T>
void sparse_attn(float* acc, float* m, float* l, const float* q, int g, const T* K, const T* V, const int* blocks,
                 int n_blocks, int block_size, int len, int head_dim, float scale) {
  for (int j = 0; j < g; ++j) {
    m[j] = -std::numeric_limits<float>::infinity();
    l[j] = 0.0f;
    std::fill(acc + static_cast<long>(j) * head_dim, acc + static_cast<long>(j + 1) * head_dim, 0.0f);
  }
  for (int i = 0; i < n_blocks; ++i) {
    const int t0 = blocks[i] * block_size, t1 = std::min(t0 + block_size, len);
    for (int t = t0; t < t1; ++t) {
      const T* k = K + static_cast<long>(t) * head_dim;
      const T* v = V + static_cast<long>(t) * head_dim;
      for (int j = 0; j < g; ++j) {
        const float s = dot(q + static_cast<long>(j) * head_dim, k, head_dim) * scale;
        online_add(m[j], l[j], acc + static_cast<long>(j) * head_dim, s, v, head_dim);
      }
    }
  }
}

template <typename T>
void causal_attn(float* out, int out_stride, const float* q, int q_stride, int g, int n, int pos0, const T* K,
                 const T* V, int head_dim, float scale) {
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < g; ++j) {
      const float* qi = q + static_cast<long>(i) * q_stride + static_cast<long>(j) * head_dim;
      float* o = out + static_cast<long>(i) * out_stride + static_cast<long>(j) * head_dim;
      std::fill(o, o + head_dim, 0.0f);
      float m = -std::numeric_limits<float>::infinity(), l = 0.0f;
      for (int t = 0; t <= pos0 + i; ++t) {
        const float s = dot(qi, K + static_cast<long>(t) * head_dim, head_dim) * scale;
        online_add(m, l, o, s, V + static_cast<long>(t) * head_dim, head_dim);
      }
      for (int d = 0; d < head_dim; ++d) o[d] /= l;
    }
  }
}

}  // namespace

void block_scores_f32(float* scores, const float* qbar, const float* summaries, int n_blocks, int head_dim) {
  block_scores(scores, qbar, summaries, n_blocks, head_dim);
}
void block_scores_bf16(float* scores, const float* qbar, const uint16_t* summaries, int n_blocks, int head_dim) {
  block_scores(scores, qbar, summaries, n_blocks, head_dim);
}

void top_n(int* out, const float* scores, int m, int n, int* work) {
  std::iota(work, work + m, 0);
  auto before = [scores](int a, int b) { return scores[a] > scores[b] || (scores[a] == scores[b] && a < b); };
  if (n < m) std::nth_element(work, work + n, work + m, before);  // the n best first, in no particular order
  std::copy(work, work + n, out);
  std::sort(out, out + n);
}

void sparse_attn_f32(float* acc, float* m, float* l, const float* q, int g, const float* K, const float* V,
                     const int* blocks, int n_blocks, int block_size, int len, int head_dim, float scale) {
  sparse_attn(acc, m, l, q, g, K, V, blocks, n_blocks, block_size, len, head_dim, scale);
}
void sparse_attn_bf16(float* acc, float* m, float* l, const float* q, int g, const uint16_t* K, const uint16_t* V,
                      const int* blocks, int n_blocks, int block_size, int len, int head_dim, float scale) {
  sparse_attn(acc, m, l, q, g, K, V, blocks, n_blocks, block_size, len, head_dim, scale);
}

void causal_attn_f32(float* out, int out_stride, const float* q, int q_stride, int g, int n, int pos0,
                     const float* K, const float* V, int head_dim, float scale) {
  causal_attn(out, out_stride, q, q_stride, g, n, pos0, K, V, head_dim, scale);
}
void causal_attn_bf16(float* out, int out_stride, const float* q, int q_stride, int g, int n, int pos0,
                      const uint16_t* K, const uint16_t* V, int head_dim, float scale) {
  causal_attn(out, out_stride, q, q_stride, g, n, pos0, K, V, head_dim, scale);
}

}  // namespace resa::simd::scalar
