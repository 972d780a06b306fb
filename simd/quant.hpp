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
// with the sums of each block's first and last 16 q (sums[2 b], sums[2 b + 1]) for the row-group kernels.
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
// q4_K's row-group form, per 32 weights of 8 rows: d[i] = d * scale and m[i] = dmin * min of the sub-block (rounded to
// f16: 2^-11 relative), the nibbles as in q4_0_r8 (weights d[i] * q - m[i], q in 0..15): 5 bits per weight.
struct BlockQ4_Kx8 {
  uint16_t d[kRowGroup];
  uint16_t m[kRowGroup];
  uint8_t q[kRowGroup * kQBlock / 2];
};
static_assert(sizeof(BlockQ4_Kx8) == 8 * 20, "8 rows' blocks");
// q6_K's row-group form, per 32 weights of 8 rows, the file's values unchanged (7 bits per weight against its 6.56:
// d repeated per 32): d[i] row i's super-block scale (f16), sc[t][i] its int8 scale of weights 16 t .. 16 t + 15 of
// the block, and the 6-bit values v (0..63; weight d * sc * (v - 32)) as 4 low bits in ql, laid out as q4_0_r8's
// nibbles (ql[32 c + 4 i + k]: low nibble weight 4 c + k, high nibble 16 + 4 c + k), and 2 high bits in qh:
// qh[32 e + 4 i + k], bits 4 h + 2 t, hold those of weight 16 t + 4 c + k, c = 2 h + e. So the 64 bytes of qh line up
// with either 32-byte chunk of ql (c = 0..3) or 64-byte pair (c = 2 h, 2 h + 1) a kernel loads.
struct BlockQ6_Kx8 {
  uint16_t d[kRowGroup];
  int8_t sc[2][kRowGroup];
  uint8_t ql[kRowGroup * kQBlock / 2];
  uint8_t qh[kRowGroup * kQBlock / 4];
};
static_assert(sizeof(BlockQ6_Kx8) == 8 * 28, "8 rows' blocks");

// What a row-group block's stored values carry, for the int8 kernels (all of which take them as the unsigned operand
// of an unsigned x signed dot product): weight = scale * (v - kOffset), less a min per block and row where kMins
// (q4_K), with a scale per 16-weight half where kTwoScales (q6_K), else one per block.
template <class Group>
struct RowGroupForm;
template <>
struct RowGroupForm<BlockQ8_0x8> {
  static constexpr int kOffset = 128;
  static constexpr bool kTwoScales = false, kMins = false;
};
template <>
struct RowGroupForm<BlockQ4_0x8> {
  static constexpr int kOffset = 8;
  static constexpr bool kTwoScales = false, kMins = false;
};
template <>
struct RowGroupForm<BlockQ4_Kx8> {
  static constexpr int kOffset = 0;
  static constexpr bool kTwoScales = false, kMins = true;
};
template <>
struct RowGroupForm<BlockQ6_Kx8> {
  static constexpr int kOffset = 32;
  static constexpr bool kTwoScales = true, kMins = false;
};

// The k-quants of a Q4_K_M file (ggml-common.h), super-blocks of 256 weights:
//   q4_K (144 bytes): d, dmin (f16), scales[12]: 8 sub-blocks of 32 with a 6-bit scale and a 6-bit min each (sub-block
//     j < 4: scale scales[j] & 63, min scales[j + 4] & 63; j >= 4: scale (scales[j + 4] & 15) | (scales[j - 4] >> 6)
//     << 4, min (scales[j + 4] >> 4) | (scales[j] >> 6) << 4), qs[128]: 4-bit values, the 64 weights of sub-blocks
//     2i and 2i + 1 in bytes 32i .. 32i + 31 (low nibbles the first); weight = d * scale * q - dmin * min
//   q6_K (210 bytes): ql[128] (low 4 bits), qh[64] (high 2 bits), scales[16] (int8, one per 16 weights), d (f16);
//     weight = d * scale * (q - 32), in each half of 128: weight l (l < 32) from ql[l] low, qh[l] bits 0-1; l + 32
//     from ql[l + 32] low, qh[l] bits 2-3; l + 64 from ql[l] high, qh[l] bits 4-5; l + 96 from ql[l + 32] high,
//     qh[l] bits 6-7; scale index l / 16 + 0, 2, 4, 6 respectively
constexpr int kKBlock = 256;
struct BlockQ4_K {
  uint16_t d, dmin;
  uint8_t scales[12];
  uint8_t qs[kKBlock / 2];
};
struct BlockQ6_K {
  uint8_t ql[kKBlock / 2];
  uint8_t qh[kKBlock / 4];
  int8_t scales[kKBlock / 16];
  uint16_t d;
};
static_assert(sizeof(BlockQ4_K) == 144 && sizeof(BlockQ6_K) == 210, "GGUF's k-quant block sizes");

// n weights (a multiple of 256) of k-quant blocks as f32, as llama.cpp's dequantize_row_q4_K / q6_K compute them.
void dequantize_q4_k(float* dst, const BlockQ4_K* src, int64_t n);
void dequantize_q6_k(float* dst, const BlockQ6_K* src, int64_t n);

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
// 8 rows of n_super q4_K super-blocks each into 8 * n_super row-group blocks of 32; and one row back as f32.
void pack_rows(BlockQ4_Kx8* dst, const BlockQ4_K* const* rows, int64_t n_super);
void unpack_row_f32(float* dst, const BlockQ4_Kx8* group, int row, int64_t nb);
void pack_rows(BlockQ6_Kx8* dst, const BlockQ6_K* const* rows, int64_t n_super);
void unpack_row_f32(float* dst, const BlockQ6_Kx8* group, int row, int64_t nb);

}  // namespace resa::simd
