// The avx2 kernel table: simd/vec/'s kernels over VecAvx2. This file alone is compiled with -mavx2 -mfma -mf16c
// (CMakeLists.txt); dispatch.cpp calls avx2::kernels() only on a CPU (and OS) that supports it.
#include <immintrin.h>
#include <math.h>

#include <cstdint>

#include "simd/kernels.hpp"
#include "simd/scalar/scalar.hpp"
#include "simd/vec/vec_avx2.hpp"

namespace resa::simd::avx2 {

namespace {
using X = VecAvx2;
#include "simd/vec/linear.inl"
#include "simd/vec/attention.inl"
#include "simd/vec/elementwise.inl"
#include "simd/vec/gemm.inl"
#include "simd/vec/lagkv.inl"
}  // namespace

const Kernels& kernels() {
  static const Kernels k = [] {
    Kernels t{.isa = "avx2",
              .matvec_f32 = matvec_f32,
              .matvec_bf16 = matvec_bf16,
              .matvec_f16 = matvec_f16,
              .axpy_f32 = axpy_f32,
              .block_scores_f32 = block_scores_f32,
              .block_scores_bf16 = block_scores_bf16,
              .top_n = scalar::top_n,
              .sparse_attn_f32 = sparse_attn_f32,
              .sparse_attn_bf16 = sparse_attn_bf16,
              .causal_attn_f32 = causal_attn_f32,
              .causal_attn_bf16 = causal_attn_bf16,
              .lag_scores_f32 = lag_scores_f32,
              .lag_scores_bf16 = lag_scores_bf16,
              .rmsnorm = rmsnorm,
              .softmax = softmax,
              .rope = rope,
              .swiglu = swiglu,
              .bf16_to_f32 = bf16_to_f32,
              .f32_to_bf16 = f32_to_bf16,
              .gemm_bf16 = gemm_bf16,
              .gemm_f32_bf16 = gemm_f32_bf16,
              .gemm_f32_f16 = gemm_f32_f16};
    return t;
  }();
  return k;
}

}  // namespace resa::simd::avx2
