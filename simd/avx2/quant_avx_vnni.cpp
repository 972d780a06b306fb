// The avx_vnni table's int8 products: simd/vec/quant.inl with AVX-VNNI's vpdpbusd (VEX-encoded, 256-bit: Alder
// Lake and later, Zen 5), one instruction for the int8 dot product and its accumulation where AVX2 needs three. This
// file alone is compiled with -mavxvnni (CMakeLists.txt); dispatch.cpp offers the avx_vnni table (the avx2 table with
// these products) only on a CPU with AVX-VNNI. quant.inl's other kernels come with it and stay unused here.
#pragma GCC diagnostic ignored "-Wunused-function"
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "simd/avx2/avx2.hpp"
#include "simd/quant.hpp"

namespace resa::simd::avx_vnni {

namespace {
inline __m256i qdot(__m256i u, __m256i s) { return _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), u, s); }
#define QDOT qdot
#define QDOT_ACC(sum, u, s) _mm256_dpbusd_avx_epi32(sum, u, s)
#define QDOT_FULL_U8 1
constexpr const char* kInt8Dot = "AVX-VNNI vpdpbusd";
#include "simd/vec/quant.inl"
#undef QDOT
#undef QDOT_ACC
#undef QDOT_FULL_U8
}  // namespace

void set_int8_products(Kernels& t) {
  t.matvec_q8_0 = matvec_q8_0;
  t.matvec_q4_0 = matvec_q4_0;
  t.matvec_q8_0_r8 = matvec_q8_0_r8;
  t.matvec_q4_0_r8 = matvec_q4_0_r8;
  t.matvec_q4_k_r8 = matvec_q4_k_r8;
  t.matvec_q6_k_r8 = matvec_q6_k_r8;
  t.gemm_q8_0_r8 = gemm_q8_0_r8;
  t.gemm_q4_0_r8 = gemm_q4_0_r8;
  t.gemm_q4_k_r8 = gemm_q4_k_r8;
  t.gemm_q6_k_r8 = gemm_q6_k_r8;
  t.int8_dot = kInt8Dot;
}

}  // namespace resa::simd::avx_vnni
