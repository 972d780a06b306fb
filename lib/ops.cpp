// The small numeric operations of the forward pass (lib/ops.hpp), on the kernel table (simd/).
#include "ops.hpp"

#include <algorithm>
#include <cmath>

#include <omp.h>

#include "parallel.hpp"
#include "simd/kernels.hpp"

namespace resa {

void rmsnorm(float* out, const float* x, const float* weight, int n, float eps) {
  simd::kernels().rmsnorm(out, x, weight, n, eps);
}

void rmsnorm_rows(float* out, const float* x, const float* weight, int rows, int n, float eps, int threads) {
  const simd::Kernels& k = simd::kernels();
  parallel_for(rows, static_cast<long>(rows) * n >= (1 << 16) ? threads : 1, [&](int r) {
    k.rmsnorm(out + static_cast<size_t>(r) * n, x + static_cast<size_t>(r) * n, weight, n, eps);
  });
}

void softmax(float* x, int n) { simd::kernels().softmax(x, n); }

void rope(float* vec, int n_heads, int head_dim, const float* cos, const float* sin, RopeLayout layout) {
  simd::kernels().rope(vec, n_heads, head_dim, cos, sin, layout == RopeLayout::Interleaved);
}

void swiglu(float* gate, const float* up, size_t n, int threads) {
  const simd::Kernels& k = simd::kernels();
  constexpr size_t kChunk = 4096;
  const int chunks = static_cast<int>((n + kChunk - 1) / kChunk);
  parallel_for(chunks, n >= 65536 ? threads : 1, [&](int c) {
    const size_t begin = c * kChunk, end = std::min(n, begin + kChunk);
    k.swiglu(gate + begin, up + begin, static_cast<int>(end - begin));
  });
}

}  // namespace resa
