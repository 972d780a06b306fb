// The small numeric operations of the forward pass (lib/ops.hpp), as plain loops.
#include "ops.hpp"

#include <algorithm>
#include <cmath>

#include <omp.h>

#include "parallel.hpp"

namespace resa {

// out = weight * x / sqrt(mean(x^2) + eps)
void rmsnorm(float* out, const float* x, const float* weight, int n, float eps) {
  float ss = 0.0f;
  for (int i = 0; i < n; ++i) ss += x[i] * x[i];
  ss /= static_cast<float>(n);
  ss += eps;
  ss = 1.0f / std::sqrt(ss);
  for (int i = 0; i < n; ++i) out[i] = weight[i] * (ss * x[i]);
}

void rmsnorm_rows(float* out, const float* x, const float* weight, int rows, int n, float eps) {
  parallel_for(rows, static_cast<long>(rows) * n >= (1 << 16) ? omp_get_max_threads() : 1, [&](int r) {
    rmsnorm(out + static_cast<size_t>(r) * n, x + static_cast<size_t>(r) * n, weight, n, eps);
  });
}

// In place, numerically stable.
void softmax(float* x, int n) {
  float max_val = x[0];
  for (int i = 1; i < n; ++i) max_val = std::max(max_val, x[i]);
  float sum = 0.0f;
  for (int i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max_val);
    sum += x[i];
  }
  for (int i = 0; i < n; ++i) x[i] /= sum;
}

// Rotates every head of vec by the angles whose cos/sin are given ([head_dim / 2]): element i pairs with i + 1
// (interleaved, llama2.c) or with i + head_dim/2 (rotate_half, Hugging Face).
void rope(float* vec, int n_heads, int head_dim, const float* cos, const float* sin, RopeLayout layout) {
  const int half = head_dim / 2;
  for (int h = 0; h < n_heads; ++h) {
    float* p = vec + h * head_dim;
    for (int i = 0; i < half; ++i) {
      float* a = layout == RopeLayout::Interleaved ? p + 2 * i : p + i;
      float* b = layout == RopeLayout::Interleaved ? p + 2 * i + 1 : p + i + half;
      const float v0 = *a, v1 = *b;
      *a = v0 * cos[i] - v1 * sin[i];
      *b = v0 * sin[i] + v1 * cos[i];
    }
  }
}

void swiglu(float* gate, const float* up, size_t n) {
  constexpr size_t kChunk = 4096;
  const int chunks = static_cast<int>((n + kChunk - 1) / kChunk);
  parallel_for(chunks, n >= 65536 ? omp_get_max_threads() : 1, [&](int c) {
    const size_t end = std::min(n, (c + 1) * kChunk);
    for (size_t i = c * kChunk; i < end; ++i) {
      float g = gate[i];
      g *= 1.0f / (1.0f + std::exp(-g));  // silu
      gate[i] = g * up[i];
    }
  });
}

}  // namespace resa
