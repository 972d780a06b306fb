// Quantized weights: GGUF's block layouts (ggml-common.h), and the plain reference of how resa quantizes to them and
// back. A row of a quantized matrix is its blocks one after another; a block of 32 weights holds one scale d (IEEE
// half) and the weights as small integers q, each weight being d * q.
//
//   q8_0: d, then q[0..31] as int8                                     34 bytes; weights d * q[i]
//   q4_0: d, then 16 bytes: byte j holds q[j] (low nibble) and q[j+16] (high nibble), unsigned; weights d * (q - 8)
//
// Weights quantize as llama.cpp's reference quantize_row_q8_0 / q4_0 do (the same bytes for the same input):
//   q8_0: d = max|x| / 127; q = roundf(x / d)  (as x * (1/d), halves away from zero; 0 when d = 0)
//   q4_0: m = the x of largest magnitude (the first such), d = m / -8; q = min(15, (int)(x * (1/d) + 8.5))
// with d stored rounded to half precision (q computed from the unrounded d).
//
// Activations meet quantized weights as int8 too (simd/kernels.hpp, quantize_q8): per block of 32, d = max|x| / 127
// kept in f32, q = x * (1/d) rounded to nearest, ties to even (the vector rounding), stored apart: q[n] and d[n / 32].
#pragma once

#include <cstddef>
#include <cstdint>

namespace resa::simd {

constexpr int kQBlock = 32;  // weights per block of q8_0 and q4_0

struct BlockQ8_0 {
  uint16_t d;  // f16
  int8_t q[kQBlock];
};
struct BlockQ4_0 {
  uint16_t d;  // f16
  uint8_t q[kQBlock / 2];
};
static_assert(sizeof(BlockQ8_0) == 34 && sizeof(BlockQ4_0) == 18, "GGUF's block sizes");

// n weights (a multiple of 32) from x into n / 32 blocks at dst, and back.
void quantize_q8_0(BlockQ8_0* dst, const float* x, int64_t n);
void quantize_q4_0(BlockQ4_0* dst, const float* x, int64_t n);
void dequantize_q8_0(float* dst, const BlockQ8_0* src, int64_t n);
void dequantize_q4_0(float* dst, const BlockQ4_0* src, int64_t n);

}  // namespace resa::simd
