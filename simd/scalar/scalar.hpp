// The scalar twins, one function per kernel of simd/kernels.hpp (the table is assembled in kernels_scalar.cpp).
#pragma once

#include <cstdint>

namespace resa::simd::scalar {

void block_scores_f32(float* scores, const float* qbar, const float* summaries, int n_blocks, int head_dim);
void block_scores_bf16(float* scores, const float* qbar, const uint16_t* summaries, int n_blocks, int head_dim);
void top_n(int* out, const float* scores, int m, int n, int* work);
void sparse_attn_f32(float* acc, float* m, float* l, const float* q, int g, const float* K, const float* V,
                     const int* blocks, int n_blocks, int block_size, int len, int head_dim, float scale);
void sparse_attn_bf16(float* acc, float* m, float* l, const float* q, int g, const uint16_t* K, const uint16_t* V,
                      const int* blocks, int n_blocks, int block_size, int len, int head_dim, float scale);
void causal_attn_f32(float* out, int out_stride, const float* q, int q_stride, int g, int n, int pos0,
                     const float* K, const float* V, int head_dim, float scale);
void causal_attn_bf16(float* out, int out_stride, const float* q, int q_stride, int g, int n, int pos0,
                      const uint16_t* K, const uint16_t* V, int head_dim, float scale);

void lag_scores_f32(float* scores, const float* X, const float* ref, int n, int n_ref, int head_dim, float* work);
void lag_scores_bf16(float* scores, const uint16_t* X, const uint16_t* ref, int n, int n_ref, int head_dim,
                     float* work);

void rmsnorm(float* out, const float* x, const float* weight, int n, float eps);
void softmax(float* x, int n);
void rope(float* vec, int n_heads, int head_dim, const float* cos, const float* sin, bool interleaved);
void swiglu(float* gate, const float* up, int n);
void bf16_to_f32_n(float* out, const uint16_t* in, int n);
void f32_to_bf16_n(uint16_t* out, const float* in, int n);

void gemm_bf16(float* C, int ldc, const uint16_t* X, int ldx, const uint16_t* W, int ldw, int m, int n, int k,
               bool accumulate);
void gemm_f32_bf16(float* C, int ldc, const float* X, int ldx, const uint16_t* W, int ldw, int m, int n, int k,
                   bool accumulate);
void gemm_f32_f16(float* C, int ldc, const float* X, int ldx, const uint16_t* W, int ldw, int m, int n, int k,
                  bool accumulate);

void quantize_q8(int8_t* q, float* d, int32_t* sums, const float* x, int n);
void matvec_q8_0_r8(float* out, const void* W, const int8_t* xq, const float* xd, const int32_t* xs, int rows,
                    int cols);
void matvec_q4_0_r8(float* out, const void* W, const int8_t* xq, const float* xd, const int32_t* xs, int rows,
                    int cols);
void widen_q8_0_r8(uint16_t* dst, int ld, const void* src, int n_blocks);
void widen_q4_0_r8(uint16_t* dst, int ld, const void* src, int n_blocks);
void matvec_q4_k_r8(float* out, const void* W, const int8_t* xq, const float* xd, const int32_t* xs, int rows,
                    int cols);
void widen_q4_k_r8(uint16_t* dst, int ld, const void* src, int n_blocks);
void matvec_q6_k_r8(float* out, const void* W, const int8_t* xq, const float* xd, const int32_t* xs, int rows,
                    int cols);
void widen_q6_k_r8(uint16_t* dst, int ld, const void* src, int n_blocks);
void gemm_q8_0_r8(float* C, int ldc, const int8_t* xq, int ldx, const float* xd, const int32_t* xs, int ldd,
                  const void* W, int ldw, int m, int n, int k, bool accumulate);
void gemm_q4_0_r8(float* C, int ldc, const int8_t* xq, int ldx, const float* xd, const int32_t* xs, int ldd,
                  const void* W, int ldw, int m, int n, int k, bool accumulate);
void gemm_q4_k_r8(float* C, int ldc, const int8_t* xq, int ldx, const float* xd, const int32_t* xs, int ldd,
                  const void* W, int ldw, int m, int n, int k, bool accumulate);
void gemm_q6_k_r8(float* C, int ldc, const int8_t* xq, int ldx, const float* xd, const int32_t* xs, int ldd,
                  const void* W, int ldw, int m, int n, int k, bool accumulate);
void matvec_q8_0(float* out, const void* W, const int8_t* xq, const float* xd, int rows, int cols);
void matvec_q4_0(float* out, const void* W, const int8_t* xq, const float* xd, int rows, int cols);
void widen_q8_0(uint16_t* dst, const void* src, int n_blocks);
void widen_q4_0(uint16_t* dst, const void* src, int n_blocks);

}  // namespace resa::simd::scalar
