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
// The same types in row groups (the form --load copy places them in, ik_llama.cpp's "_r8" idea): 8 consecutive rows
// of q8_0 or q4_0 stored block by block, block b of the 8 rows together, so one vector load holds 4 weights of each of
// the 8 rows and one integer dot-product instruction advances all 8 rows (no per-row scale broadcast, no per-row sum):
//
//   q8_0_r8 block (272 bytes): d[8] (row i's scale), then q[256]: q[32 g + 4 i + k] = row i's q[4 g + k] + 128
//                              (g = 0..7: groups of 4 weights; stored unsigned, offset by 128, for vpdpbusd)
//   q4_0_r8 block (144 bytes): d[8], then q[128]: q[32 c + 4 i + k] = row i's byte 4 c + k (c = 0..3), its nibbles
//                              as in q4_0 (low: weight 4 c + k, high: weight 16 + 4 c + k, both offset by 8)
//
// A matrix in a row-group form has a multiple of 8 rows; its row r is row r % 8 of group r / 8.
//
// Activations meet quantized weights as int8 too (simd/kernels.hpp, quantize_q8): per block of 32, d = max|x| / 127
// kept in f32, q = x * (1/d) rounded to nearest, ties to even (the vector rounding), stored apart: q[n] and d[n / 32],
// with the sums of each block's even and odd groups of 4 (sums[2 b], sums[2 b + 1]) for the row-group kernels.
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

constexpr int kRowGroup = 8;  // rows of a row-group form
struct BlockQ8_0x8 {
  uint16_t d[kRowGroup];
  uint8_t q[kRowGroup * kQBlock];
};
struct BlockQ4_0x8 {
  uint16_t d[kRowGroup];
  uint8_t q[kRowGroup * kQBlock / 2];
};
static_assert(sizeof(BlockQ8_0x8) == 8 * 34 && sizeof(BlockQ4_0x8) == 8 * 18, "8 rows' blocks");

// n weights (a multiple of 32) from x into n / 32 blocks at dst, and back.
void quantize_q8_0(BlockQ8_0* dst, const float* x, int64_t n);
void quantize_q4_0(BlockQ4_0* dst, const float* x, int64_t n);
void dequantize_q8_0(float* dst, const BlockQ8_0* src, int64_t n);
void dequantize_q4_0(float* dst, const BlockQ4_0* src, int64_t n);

// 8 rows of nb blocks each (rows[i] row i's blocks) into one row group (nb blocks at dst), and one row back out.
void pack_rows(BlockQ8_0x8* dst, const BlockQ8_0* const* rows, int64_t nb);
void pack_rows(BlockQ4_0x8* dst, const BlockQ4_0* const* rows, int64_t nb);
void unpack_row(BlockQ8_0* dst, const BlockQ8_0x8* group, int row, int64_t nb);
void unpack_row(BlockQ4_0* dst, const BlockQ4_0x8* group, int row, int64_t nb);

}  // namespace resa::simd
