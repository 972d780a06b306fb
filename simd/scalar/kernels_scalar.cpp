// The scalar twins: the reference every other ISA is tested against. Plain loops, summed left to right, exactly as
// llama2.c's run.c sums them (so greedy output matches run.c byte for byte).
#include "simd/convert.hpp"
#include "simd/kernels.hpp"
#include "simd/scalar/scalar.hpp"

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

void matvec_bf16(float* out, const uint16_t* W, const float* x, int rows, int cols) {
  for (int r = 0; r < rows; ++r) {
    const uint16_t* w = W + static_cast<long>(r) * cols;
    float acc = 0.0f;
    for (int c = 0; c < cols; ++c) acc += bf16_to_f32(w[c]) * x[c];
    out[r] = acc;
  }
}

void matvec_f16(float* out, const uint16_t* W, const float* x, int rows, int cols) {
  for (int r = 0; r < rows; ++r) {
    const uint16_t* w = W + static_cast<long>(r) * cols;
    float acc = 0.0f;
    for (int c = 0; c < cols; ++c) acc += f16_to_f32(w[c]) * x[c];
    out[r] = acc;
  }
}

void axpy_f32(float* y, float alpha, const float* x, int n) {
  for (int i = 0; i < n; ++i) y[i] += alpha * x[i];
}

}  // namespace

const Kernels& scalar_kernels() {
  static const Kernels k = [] {
    Kernels t{.isa = "scalar",
              .matvec_f32 = matvec_f32,
              .matvec_bf16 = matvec_bf16,
              .matvec_f16 = matvec_f16,
              .axpy_f32 = axpy_f32,
              .block_scores_f32 = scalar::block_scores_f32,
              .block_scores_bf16 = scalar::block_scores_bf16,
              .top_n = scalar::top_n,
              .sparse_attn_f32 = scalar::sparse_attn_f32,
              .sparse_attn_bf16 = scalar::sparse_attn_bf16,
              .causal_attn_f32 = scalar::causal_attn_f32,
              .causal_attn_bf16 = scalar::causal_attn_bf16,
              .lag_scores_f32 = scalar::lag_scores_f32,
              .lag_scores_bf16 = scalar::lag_scores_bf16,
              .rmsnorm = scalar::rmsnorm,
              .softmax = scalar::softmax,
              .rope = scalar::rope,
              .swiglu = scalar::swiglu,
              .bf16_to_f32 = scalar::bf16_to_f32_n,
              .f32_to_bf16 = scalar::f32_to_bf16_n,
              .gemm_bf16 = scalar::gemm_bf16,
              .gemm_f32_bf16 = scalar::gemm_f32_bf16,
              .gemm_f32_f16 = scalar::gemm_f32_f16,
              .quantize_q8 = scalar::quantize_q8,
              .matvec_q8_0 = scalar::matvec_q8_0,
              .matvec_q4_0 = scalar::matvec_q4_0,
              .widen_q8_0 = scalar::widen_q8_0,
              .widen_q4_0 = scalar::widen_q4_0,
              .matvec_q8_0_r8 = scalar::matvec_q8_0_r8,
              .matvec_q4_0_r8 = scalar::matvec_q4_0_r8,
              .widen_q8_0_r8 = scalar::widen_q8_0_r8,
              .widen_q4_0_r8 = scalar::widen_q4_0_r8,
              .matvec_q4_k_r8 = scalar::matvec_q4_k_r8,
              .widen_q4_k_r8 = scalar::widen_q4_k_r8,
              .matvec_q6_k_r8 = scalar::matvec_q6_k_r8,
              .widen_q6_k_r8 = scalar::widen_q6_k_r8,
              .gemm_q8_0_r8 = scalar::gemm_q8_0_r8,
              .gemm_q4_0_r8 = scalar::gemm_q4_0_r8,
              .gemm_q4_k_r8 = scalar::gemm_q4_k_r8,
              .gemm_q6_k_r8 = scalar::gemm_q6_k_r8,
              .int8_dot = "scalar"};
    return t;
  }();
  return k;
}

}  // namespace resa::simd
