// The avx512 kernel table: simd/vec/'s kernels over VecAvx512. This file alone is compiled with -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx2 -mfma -mf16c
// (CMakeLists.txt); dispatch.cpp calls avx512::kernels() only on a CPU (and OS) that supports it.
// GCC 12's AVX-512 intrinsics build their don't-care operands with _mm512_undefined_*(), which its own
// uninitialised-value analysis then flags (GCC bug 105593); the warnings are about the header, not this code.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#include <math.h>

#include <cstdint>

#include "simd/kernels.hpp"
#include "simd/quant.hpp"
#include "simd/avx512/avx512.hpp"
#include "simd/scalar/scalar.hpp"
#include "simd/vec/vec_avx512.hpp"

namespace resa::simd::avx512 {

namespace {
using X = VecAvx512;
#include "simd/vec/linear.inl"
#include "simd/vec/attention.inl"
#include "simd/vec/elementwise.inl"
#include "simd/vec/gemm.inl"
#include "simd/vec/lagkv.inl"
// AVX2's int8 dot product: pairs of u8 x s8 summed to int16 (vpmaddubsw), then pairs of those to int32 (vpmaddwd).
inline __m256i qdot(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}
#define QDOT qdot
constexpr const char* kInt8Dot = "AVX2 vpmaddubsw";
#include "simd/vec/quant.inl"
#undef QDOT
#include "simd/vec/table.inl"
}  // namespace

const Kernels& kernels() {
  static const Kernels k = [] {
    Kernels t = vec_table("avx512");
    if (cpu_has_avx512_bf16()) {  // bf16 K/V and bf16 x bf16 products through vdpbf16ps
      t.sparse_attn_bf16 = avx512_bf16::sparse_attn;
      t.causal_attn_bf16 = avx512_bf16::causal_attn;
      t.gemm_bf16 = avx512_bf16::gemm_dp;
      t.bf16_dot = true;
      t.widen_q8_0 = avx512_bf16::widen_q8_0_bf16;
      t.widen_q4_0 = avx512_bf16::widen_q4_0_bf16;
      t.widen_q8_0_r8 = avx512_bf16::widen_q8_0_r8_bf16;
      t.widen_q4_0_r8 = avx512_bf16::widen_q4_0_r8_bf16;
      t.widen_q4_k_r8 = avx512_bf16::widen_q4_k_r8_bf16;
      t.widen_q6_k_r8 = avx512_bf16::widen_q6_k_r8_bf16;
    }
    if (cpu_has_avx512_vnni()) {  // int8 products of quantized weights through vpdpbusd
      t.matvec_q8_0 = avx512_vnni::matvec_q8_0_vnni;
      t.matvec_q4_0 = avx512_vnni::matvec_q4_0_vnni;
      t.matvec_q8_0_r8 = avx512_vnni::matvec_q8_0_r8_vnni;
      t.matvec_q4_0_r8 = avx512_vnni::matvec_q4_0_r8_vnni;
      t.matvec_q4_k_r8 = avx512_vnni::matvec_q4_k_r8_vnni;
      t.matvec_q6_k_r8 = avx512_vnni::matvec_q6_k_r8_vnni;
      t.gemm_q8_0_r8 = avx512_vnni::gemm_q8_0_r8_vnni;
      t.gemm_q4_0_r8 = avx512_vnni::gemm_q4_0_r8_vnni;
      t.gemm_q4_k_r8 = avx512_vnni::gemm_q4_k_r8_vnni;
      t.gemm_q6_k_r8 = avx512_vnni::gemm_q6_k_r8_vnni;
      t.int8_dot = avx512_vnni::int8_dot();
    }
    return t;
  }();
  return k;
}

}  // namespace resa::simd::avx512
