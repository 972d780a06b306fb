// The AVX-512 attention kernels for a bf16 KV cache on CPUs with AVX512_BF16: simd/vec/attention.inl's flash routine
// with its RESA_DPBF16 part (vdpbf16ps on K and V as stored). This file alone is compiled with -mavx512bf16 besides
// the AVX-512 flags; the avx512 table takes these two entries only when CPUID reports AVX512_BF16.
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
#include "simd/vec/attention.inl"
}  // namespace

void sparse_attn(float* acc, float* m, float* l, const float* q, int g, const uint16_t* K, const uint16_t* V,
                 const int* blocks, int n_blocks, int block_size, int len, int head_dim, float scale) {
  sparse_attn_bf16(acc, m, l, q, g, K, V, blocks, n_blocks, block_size, len, head_dim, scale);
}

void causal_attn(float* out, int out_stride, const float* q, int q_stride, int g, int n, int pos0, const uint16_t* K,
                 const uint16_t* V, int head_dim, float scale) {
  causal_attn_bf16(out, out_stride, q, q_stride, g, n, pos0, K, V, head_dim, scale);
}

}  // namespace resa::simd::avx512_bf16
