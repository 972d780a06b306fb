// The scalar twins of the weight products of a chunk (simd/kernels.hpp gemm_*): every C entry one plain dot product
// along k, summed left to right in f32.
#include "simd/convert.hpp"
#include "simd/scalar/scalar.hpp"

namespace resa::simd::scalar {

namespace {

template <class TX, class LoadX, class LoadW>
void gemm(float* C, int ldc, const TX* X, int ldx, const uint16_t* W, int ldw, int m, int n, int k, bool accumulate,
          LoadX load_x, LoadW load_w) {
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      const TX* x = X + static_cast<long>(i) * ldx;
      const uint16_t* w = W + static_cast<long>(j) * ldw;
      float acc = 0.0f;
      for (int p = 0; p < k; ++p) acc += load_x(x[p]) * load_w(w[p]);
      float& c = C[static_cast<long>(i) * ldc + j];
      c = accumulate ? c + acc : acc;
    }
}

float same(float x) { return x; }

}  // namespace

void gemm_bf16(float* C, int ldc, const uint16_t* X, int ldx, const uint16_t* W, int ldw, int m, int n, int k,
               bool accumulate) {
  gemm(C, ldc, X, ldx, W, ldw, m, n, k, accumulate, bf16_to_f32, bf16_to_f32);
}

void gemm_f32_bf16(float* C, int ldc, const float* X, int ldx, const uint16_t* W, int ldw, int m, int n, int k,
                   bool accumulate) {
  gemm(C, ldc, X, ldx, W, ldw, m, n, k, accumulate, same, bf16_to_f32);
}

void gemm_f32_f16(float* C, int ldc, const float* X, int ldx, const uint16_t* W, int ldw, int m, int n, int k,
                  bool accumulate) {
  gemm(C, ldc, X, ldx, W, ldw, m, n, k, accumulate, same, f16_to_f32);
}

}  // namespace resa::simd::scalar
