// The scalar twins: the reference every other ISA is tested against. Plain loops, summed left to right, exactly as
// llama2.c's run.c sums them (so greedy output matches run.c byte for byte).
#include "simd/kernels.hpp"

namespace resa::simd {

namespace {

void matvec_f32(float* out, const float* W, const float* x, int rows, int cols) {
  for (int r = 0; r < rows; ++r) {
    const float* w = W + static_cast<long>(r) * cols;
    float acc = 0.0f;
    for (int c = 0; c < cols; ++c) acc += w[c] * x[c];
    out[r] = acc;
  }
}

float dot_f32(const float* a, const float* b, int n) {
  float acc = 0.0f;
  for (int i = 0; i < n; ++i) acc += a[i] * b[i];
  return acc;
}

void axpy_f32(float* y, float alpha, const float* x, int n) {
  for (int i = 0; i < n; ++i) y[i] += alpha * x[i];
}

}  // namespace

const Kernels& scalar_kernels() {
  static const Kernels k{"scalar", matvec_f32, dot_f32, axpy_f32};
  return k;
}

}  // namespace resa::simd
