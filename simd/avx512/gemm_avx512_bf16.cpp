// The bf16 x bf16 weight product for CPUs with AVX512_BF16: simd/vec/gemm.inl's RESA_DPBF16 part (vdpbf16ps on the
// rounded activations and the weights as stored). This file alone is compiled with -mavx512bf16 besides the AVX-512
// flags; the avx512 table takes gemm_bf16 from here only when CPUID reports AVX512_BF16.
#pragma GCC diagnostic ignored "-Wuninitialized"  // GCC 12's AVX-512 headers, see kernels_avx512.cpp
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wunused-function"  // linear.inl's kernels, which the avx512 table takes from its file
#include <immintrin.h>
#include <math.h>

#include <cstdint>

#include "simd/avx512/avx512.hpp"
#include "simd/vec/vec_avx512.hpp"

namespace resa::simd::avx512_bf16 {

namespace {
using X = VecAvx512;
#define RESA_DPBF16 1
#include "simd/vec/linear.inl"
#include "simd/vec/gemm.inl"
}  // namespace

void gemm_dp(float* C, int ldc, const uint16_t* X, int ldx, const uint16_t* W, int ldw, int m, int n, int k,
             bool accumulate) {
  dp_gemm_bf16(C, ldc, X, ldx, W, ldw, m, n, k, accumulate);
}

}  // namespace resa::simd::avx512_bf16
