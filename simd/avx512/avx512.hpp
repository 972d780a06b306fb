// The AVX-512 kernels that live outside kernels_avx512.cpp (files with flags of their own).
#pragma once

#include <cstdint>

namespace resa::simd::avx512_bf16 {

// The table's sparse_attn_bf16 and causal_attn_bf16 with AVX512_BF16 dot products (attention_avx512_bf16.cpp).
void sparse_attn(float* acc, float* m, float* l, const float* q, int g, const uint16_t* K, const uint16_t* V,
                 const int* blocks, int n_blocks, int block_size, int len, int head_dim, float scale);
void causal_attn(float* out, int out_stride, const float* q, int q_stride, int g, int n, int pos0, const uint16_t* K,
                 const uint16_t* V, int head_dim, float scale);

// The table's gemm_bf16 with vdpbf16ps (gemm_avx512_bf16.cpp).
void gemm_dp(float* C, int ldc, const uint16_t* X, int ldx, const uint16_t* W, int ldw, int m, int n, int k,
             bool accumulate);

// The table's widen_q* with vcvtneps2bf16 (quant_avx512_bf16.cpp).
void widen_q8_0_bf16(uint16_t* dst, const void* src, int n_blocks);
void widen_q4_0_bf16(uint16_t* dst, const void* src, int n_blocks);
void widen_q8_0_r8_bf16(uint16_t* dst, int ld, const void* src, int n_blocks);
void widen_q4_0_r8_bf16(uint16_t* dst, int ld, const void* src, int n_blocks);
void widen_q4_k_r8_bf16(uint16_t* dst, int ld, const void* src, int n_blocks);
void widen_q6_k_r8_bf16(uint16_t* dst, int ld, const void* src, int n_blocks);

}  // namespace resa::simd::avx512_bf16

namespace resa::simd::avx512_vnni {

// The table's matvec_q8_0 / q4_0 with vpdpbusd (quant_avx512_vnni.cpp), and the name of that dot product.
void matvec_q8_0_vnni(float* out, const void* W, const int8_t* xq, const float* xd, int rows, int cols);
void matvec_q4_0_vnni(float* out, const void* W, const int8_t* xq, const float* xd, int rows, int cols);
void matvec_q8_0_r8_vnni(float* out, const void* W, const int8_t* xq, const float* xd, const int32_t* xs, int rows,
                         int cols);
void matvec_q4_0_r8_vnni(float* out, const void* W, const int8_t* xq, const float* xd, const int32_t* xs, int rows,
                         int cols);
void gemm_q8_0_r8_vnni(float* C, int ldc, const int8_t* xq, int ldx, const float* xd, const int32_t* xs, int ldd,
                       const void* W, int ldw, int m, int n, int k, bool accumulate);
void gemm_q4_0_r8_vnni(float* C, int ldc, const int8_t* xq, int ldx, const float* xd, const int32_t* xs, int ldd,
                       const void* W, int ldw, int m, int n, int k, bool accumulate);
void gemm_q4_k_r8_vnni(float* C, int ldc, const int8_t* xq, int ldx, const float* xd, const int32_t* xs, int ldd,
                       const void* W, int ldw, int m, int n, int k, bool accumulate);
void gemm_q6_k_r8_vnni(float* C, int ldc, const int8_t* xq, int ldx, const float* xd, const int32_t* xs, int ldd,
                       const void* W, int ldw, int m, int n, int k, bool accumulate);
void matvec_q6_k_r8_vnni(float* out, const void* W, const int8_t* xq, const float* xd, const int32_t* xs, int rows,
                         int cols);
void matvec_q4_k_r8_vnni(float* out, const void* W, const int8_t* xq, const float* xd, const int32_t* xs, int rows,
                         int cols);
const char* int8_dot();

}  // namespace resa::simd::avx512_vnni
