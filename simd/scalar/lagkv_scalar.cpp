// The scalar twin of LagKV's lag-relative scores (SPEC §3.2; simd/kernels.hpp, lag_scores_*): plain loops, f32.
#include <cmath>

#include "simd/convert.hpp"
#include "simd/kernels.hpp"
#include "simd/scalar/scalar.hpp"

namespace resa::simd::scalar {

namespace {

inline float load(float x) { return x; }
inline float load(uint16_t h) { return bf16_to_f32(h); }  // 16-bit K/V are bf16

template <typename T>
void lag_scores(float* scores, const T* X, const T* ref, int n, int n_ref, int hd, float* work) {
  float* lo = work;            // [hd] the reference's per-channel minimum
  float* inv = work + hd;      // [hd] 1 / (max - min + eps)
  float* sigma = work + 2 * hd;  // [n]
  for (int c = 0; c < hd; ++c) lo[c] = inv[c] = load(ref[c]);
  for (int t = 1; t < n_ref; ++t)
    for (int c = 0; c < hd; ++c) {
      const float x = load(ref[static_cast<long>(t) * hd + c]);
      lo[c] = x < lo[c] ? x : lo[c];
      inv[c] = x > inv[c] ? x : inv[c];
    }
  for (int c = 0; c < hd; ++c) inv[c] = 1.0f / (inv[c] - lo[c] + kLagEpsilon);
  for (int i = 0; i < n; ++i) {
    const T* x = X + static_cast<long>(i) * hd;
    float sum = 0.0f;
    for (int c = 0; c < hd; ++c) sum += (load(x[c]) - lo[c]) * inv[c];
    const float mean = sum / static_cast<float>(hd);
    float ss = 0.0f;
    for (int c = 0; c < hd; ++c) {
      const float d = (load(x[c]) - lo[c]) * inv[c] - mean;
      ss += d * d;
    }
    sigma[i] = std::sqrt(ss / static_cast<float>(hd - 1));
  }
  softmax(sigma, n);
  for (int i = 0; i < n; ++i) scores[i] += sigma[i];
}

}  // namespace

void lag_scores_f32(float* scores, const float* X, const float* ref, int n, int n_ref, int head_dim, float* work) {
  lag_scores(scores, X, ref, n, n_ref, head_dim, work);
}
void lag_scores_bf16(float* scores, const uint16_t* X, const uint16_t* ref, int n, int n_ref, int head_dim,
                     float* work) {
  lag_scores(scores, X, ref, n, n_ref, head_dim, work);
}

}  // namespace resa::simd::scalar
