// The table's widen_q* (a quantized tile to bf16 for the chunk products) with AVX512_BF16's vcvtneps2bf16: one
// instruction for 16 roundings to nearest even where AVX2 needs six. This file alone is compiled with -mavx512bf16
// (CMakeLists.txt); avx512::kernels() puts these in its table only on a CPU with AVX512_BF16.
// quant.inl's other kernels come with it and stay unused here.
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstdint>

#include "simd/avx512/avx512.hpp"
#include "simd/quant.hpp"

namespace resa::simd::avx512_bf16 {

namespace {
inline __m256i qdot(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}
#define QDOT qdot
constexpr const char* kInt8Dot = "";
#include "simd/vec/quant.inl"
#undef QDOT
}  // namespace

void widen_q8_0_bf16(uint16_t* dst, const void* src, int n_blocks) { widen_q8_0(dst, src, n_blocks); }
void widen_q4_0_bf16(uint16_t* dst, const void* src, int n_blocks) { widen_q4_0(dst, src, n_blocks); }
void widen_q8_0_r8_bf16(uint16_t* dst, int ld, const void* src, int n_blocks) {
  widen_q8_0_r8(dst, ld, src, n_blocks);
}
void widen_q4_0_r8_bf16(uint16_t* dst, int ld, const void* src, int n_blocks) {
  widen_q4_0_r8(dst, ld, src, n_blocks);
}

void widen_q4_k_r8_bf16(uint16_t* dst, int ld, const void* src, int n_blocks) {
  widen_q4_k_r8(dst, ld, src, n_blocks);
}
void widen_q6_k_r8_bf16(uint16_t* dst, int ld, const void* src, int n_blocks) {
  widen_q6_k_r8(dst, ld, src, n_blocks);
}

}  // namespace resa::simd::avx512_bf16
