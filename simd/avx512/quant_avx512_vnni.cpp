// The table's matvec_q8_0 / q4_0 with AVX512_VNNI's vpdpbusd on 256-bit vectors (AVX512VL): simd/vec/quant.inl with
// one instruction for the int8 dot product where AVX2 needs two. This file alone is compiled with -mavx512vnni
// (CMakeLists.txt); avx512::kernels() puts these in its table only on a CPU with AVX512_VNNI.
// quant.inl's other kernels come with it and stay unused here (the avx512 table keeps its AVX2 forms of them).
#pragma GCC diagnostic ignored "-Wunused-function"
#include <immintrin.h>

#include <cstdint>

#include "simd/avx512/avx512.hpp"
#include "simd/quant.hpp"
#include "simd/scalar/scalar.hpp"

namespace resa::simd::avx512_vnni {

namespace {
inline __m256i qdot(__m256i u, __m256i s) { return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s); }
inline void f32_to_bf16(uint16_t* out, const float* in, int n) { scalar::f32_to_bf16_n(out, in, n); }
#define QDOT qdot
constexpr const char* kInt8Dot = "AVX512_VNNI vpdpbusd";
#include "simd/vec/quant.inl"
#undef QDOT
}  // namespace

void matvec_q8_0_vnni(float* out, const void* W, const int8_t* xq, const float* xd, int rows, int cols) {
  matvec_q8_0(out, W, xq, xd, rows, cols);
}
void matvec_q4_0_vnni(float* out, const void* W, const int8_t* xq, const float* xd, int rows, int cols) {
  matvec_q4_0(out, W, xq, xd, rows, cols);
}
const char* int8_dot() { return kInt8Dot; }

}  // namespace resa::simd::avx512_vnni
