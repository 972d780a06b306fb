// The scalar twins of the elementwise kernels (simd/kernels.hpp): the forward pass's plain loops, summed left to
// right as llama2.c's run.c sums them.
#include <cmath>

#include "simd/convert.hpp"
#include "simd/scalar/scalar.hpp"

namespace resa::simd::scalar {

void rmsnorm(float* out, const float* x, const float* weight, int n, float eps) {
  float ss = 0.0f;
  for (int i = 0; i < n; ++i) ss += x[i] * x[i];
  ss /= static_cast<float>(n);
  ss += eps;
  ss = 1.0f / std::sqrt(ss);
  for (int i = 0; i < n; ++i) out[i] = weight[i] * (ss * x[i]);
}

void softmax(float* x, int n) {
  float max_val = x[0];
  for (int i = 1; i < n; ++i) max_val = x[i] > max_val ? x[i] : max_val;
  float sum = 0.0f;
  for (int i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max_val);
    sum += x[i];
  }
  for (int i = 0; i < n; ++i) x[i] /= sum;
}

void rope(float* vec, int n_heads, int head_dim, const float* cos, const float* sin, bool interleaved) {
  const int half = head_dim / 2;
  for (int h = 0; h < n_heads; ++h) {
    float* p = vec + static_cast<long>(h) * head_dim;
    for (int i = 0; i < half; ++i) {
      float* a = interleaved ? p + 2 * i : p + i;
      float* b = interleaved ? p + 2 * i + 1 : p + i + half;
      const float v0 = *a, v1 = *b;
      *a = v0 * cos[i] - v1 * sin[i];
      *b = v0 * sin[i] + v1 * cos[i];
    }
  }
}

void swiglu(float* gate, const float* up, int n) {
  for (int i = 0; i < n; ++i) {
    float g = gate[i];
    g *= 1.0f / (1.0f + std::exp(-g));  // silu
    gate[i] = g * up[i];
  }
}

void bf16_to_f32_n(float* out, const uint16_t* in, int n) {
  for (int i = 0; i < n; ++i) out[i] = bf16_to_f32(in[i]);
}

void f32_to_bf16_n(uint16_t* out, const float* in, int n) {
  for (int i = 0; i < n; ++i) out[i] = f32_to_bf16(in[i]);
}

}  // namespace resa::simd::scalar
