// The table's matvec_q8_0 / q4_0 with AVX512_VNNI's vpdpbusd on 256-bit vectors (AVX512VL): simd/vec/quant.inl with
// one instruction for the int8 dot product where AVX2 needs two. This file alone is compiled with -mavx512vnni
// (CMakeLists.txt); avx512::kernels() puts these in its table only on a CPU with AVX512_VNNI.
// quant.inl's other kernels come with it and stay unused here (the avx512 table keeps its AVX2 forms of them).
#pragma GCC diagnostic ignored "-Wunused-function"
// GCC 12's AVX-512 intrinsics and its uninitialised-value analysis (GCC bug 105593), as in kernels_avx512.cpp.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "simd/avx512/avx512.hpp"
#include "simd/quant.hpp"

namespace resa::simd::avx512_vnni {

namespace {
inline __m256i qdot(__m256i u, __m256i s) { return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s); }
#define QDOT qdot
#define QDOT_ACC(sum, u, s) _mm256_dpbusd_epi32(sum, u, s)
#define QDOT_FULL_U8 1
constexpr const char* kInt8Dot = "AVX512_VNNI vpdpbusd";
#include "simd/vec/quant.inl"
#undef QDOT
#undef QDOT_ACC
#undef QDOT_FULL_U8
// The row-group forms with 512-bit vpdpbusd. A block's quant bytes, 64 at a time, are 2 groups of 4 weights of the
// 8 rows: lanes 0-7 group g (rows 0-7), lanes 8-15 group g + 1. x's block, broadcast to both halves and permuted so
// that each lane holds the 4 bytes of x its weights meet, is the signed operand; the weights the unsigned one: q8_0's
// stored + 128, q4_0's nibbles (0..15) as they are. So sum (w + Offset) x = sum w x + Offset sum x, and each lane's
// integer sum starts at -Offset times a part of the sum of x (lanes 0-7 the block's first 16, lanes 8-15 its last 16:
// quantize_q8's sums; only each lane pair's total counts). The 16 lanes are scaled by [d_0..d_7, d_0..d_7] * d_x and
// summed in halves at the end.
template <class Group>
void matvec_r8_zmm(float* out, const void* W, const int8_t* xq, const float* xd, const int32_t* xs, int rows,
                   int cols) {
  constexpr bool kQ4K = RowGroupForm<Group>::kMins;  // nibbles, no offset, a min per block and row
  constexpr bool kQ4 = !std::is_same_v<Group, BlockQ8_0x8>;  // q4_0, q4_K: nibbles
  constexpr int kOffset = RowGroupForm<Group>::kOffset;
  const int nb = cols / 32;
  const long ahead = static_cast<long>(nb) * static_cast<long>(sizeof(Group));  // the next group, same block
  __m512i idx[4];
  for (int j = 0; j < 4; ++j)
    idx[j] = _mm512_mask_blend_epi32(0xff00, _mm512_set1_epi32(2 * j), _mm512_set1_epi32(2 * j + 1));
  const __m512i low = _mm512_set1_epi8(0x0f);
  for (int r = 0; r < rows; r += 8) {
    const Group* blk = static_cast<const Group*>(W) + static_cast<long>(r / 8) * nb;
    __m512 acc = _mm512_setzero_ps();
    __m256 mins = _mm256_setzero_ps();
    for (int b = 0; b < nb; ++b, ++blk) {
      for (int line = 0; line < static_cast<int>(sizeof(Group)); line += 64)
        __builtin_prefetch(reinterpret_cast<const char*>(blk) + ahead + line);
      const __m512i xv = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + 32 * b)));
      __m512i sum = _mm512_mask_blend_epi32(0xff00, _mm512_set1_epi32(-kOffset * xs[2 * b]),
                                            _mm512_set1_epi32(-kOffset * xs[2 * b + 1]));
      if constexpr (kQ4) {
        for (int j = 0; j < 2; ++j) {
          const __m512i raw = _mm512_loadu_si512(blk->q + 64 * j);
          sum = _mm512_dpbusd_epi32(sum, _mm512_and_si512(raw, low), _mm512_permutexvar_epi32(idx[j], xv));
          sum = _mm512_dpbusd_epi32(sum, _mm512_and_si512(_mm512_srli_epi16(raw, 4), low),
                                    _mm512_permutexvar_epi32(idx[j + 2], xv));
        }
      } else {
        for (int j = 0; j < 4; ++j)
          sum = _mm512_dpbusd_epi32(sum, _mm512_loadu_si512(blk->q + 64 * j), _mm512_permutexvar_epi32(idx[j], xv));
      }
      const __m512 d =
          _mm512_cvtph_ps(_mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk->d))));
      acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), _mm512_mul_ps(d, _mm512_set1_ps(xd[b])), acc);
      if constexpr (kQ4K) {
        const __m256 m = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(
            reinterpret_cast<const char*>(blk) + 16)));
        mins = _mm256_fmadd_ps(m, _mm256_set1_ps(xd[b] * static_cast<float>(xs[2 * b] + xs[2 * b + 1])), mins);
      }
    }
    const __m256 total = _mm256_add_ps(_mm512_castps512_ps256(acc), _mm512_extractf32x8_ps(acc, 1));
    _mm256_storeu_ps(out + r, _mm256_sub_ps(total, mins));
  }
}


// q6_K_r8 with 512-bit vpdpbusd: each 64 bytes of ql (chunks 2 h, 2 h + 1: weights 8 h .. 8 h + 7 in the low
// nibbles, 16 + 8 h .. in the high ones) meet qh's 64 bytes as they are (its halves line up with the two chunks,
// simd/quant.hpp). The block's halves sum apart (their scales differ) from -32 times their sums of x; their lane
// halves are added into one vector [half 0's 8 rows, half 1's 8 rows] before the scales [d sc_0, d sc_1] x d_x.
void matvec_q6_k_r8_zmm(float* out, const void* W, const int8_t* xq, const float* xd, const int32_t* xs, int rows,
                        int cols) {
  const int nb = cols / 32;
  const long ahead = static_cast<long>(nb) * static_cast<long>(sizeof(BlockQ6_Kx8));
  __m512i idx[4];
  for (int j = 0; j < 4; ++j)
    idx[j] = _mm512_mask_blend_epi32(0xff00, _mm512_set1_epi32(2 * j), _mm512_set1_epi32(2 * j + 1));
  const __m512i low = _mm512_set1_epi8(0x0f), high = _mm512_set1_epi8(0x30);
  for (int r = 0; r < rows; r += 8) {
    const BlockQ6_Kx8* blk = static_cast<const BlockQ6_Kx8*>(W) + static_cast<long>(r / 8) * nb;
    __m512 acc = _mm512_setzero_ps();
    for (int b = 0; b < nb; ++b, ++blk) {
      for (int line = 0; line < static_cast<int>(sizeof(BlockQ6_Kx8)); line += 64)
        __builtin_prefetch(reinterpret_cast<const char*>(blk) + ahead + line);
      const __m512i xv = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + 32 * b)));
      const __m512i qh = _mm512_loadu_si512(blk->qh);
      __m512i sum[2];
      constexpr int kOffset = RowGroupForm<BlockQ6_Kx8>::kOffset;
      for (int t = 0; t < 2; ++t)
        sum[t] = _mm512_mask_blend_epi32(0xff00, _mm512_set1_epi32(-kOffset * xs[2 * b + t]), _mm512_setzero_si512());
      for (int h = 0; h < 2; ++h) {
        const __m512i raw = _mm512_loadu_si512(blk->ql + 64 * h);
        // qh's bits 4 h (low nibbles) and 4 h + 2 (high nibbles) to bits 4-5; (nibble & 0x0f) | those: vpternlogd's
        // a ? b : c (0xca) with a = 0x0f.
        const __m512i hi0 = _mm512_and_si512(h ? qh : _mm512_slli_epi16(qh, 4), high);
        const __m512i hi1 = _mm512_and_si512(h ? _mm512_srli_epi16(qh, 2) : _mm512_slli_epi16(qh, 2), high);
        const __m512i v0 = _mm512_ternarylogic_epi32(low, raw, hi0, 0xca);
        const __m512i v1 = _mm512_ternarylogic_epi32(low, _mm512_srli_epi16(raw, 4), hi1, 0xca);
        sum[0] = _mm512_dpbusd_epi32(sum[0], v0, _mm512_permutexvar_epi32(idx[h], xv));
        sum[1] = _mm512_dpbusd_epi32(sum[1], v1, _mm512_permutexvar_epi32(idx[h + 2], xv));
      }
      const __m512i both = _mm512_add_epi32(_mm512_shuffle_i64x2(sum[0], sum[1], 0x44),
                                            _mm512_shuffle_i64x2(sum[0], sum[1], 0xee));
      const __m512 d = _mm512_mul_ps(
          _mm512_cvtph_ps(_mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk->d)))),
          _mm512_set1_ps(xd[b]));
      const __m512 sc =
          _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk->sc))));
      acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(both), _mm512_mul_ps(d, sc), acc);
    }
    _mm256_storeu_ps(out + r, _mm256_add_ps(_mm512_castps512_ps256(acc), _mm512_extractf32x8_ps(acc, 1)));
  }
}


// The chunk products of the row-group forms: M rows of x against 16 rows of W (two groups, each 32-byte piece of a
// block in one half of a zmm: so x's 4 bytes of a group of 4 weights broadcast to all 16 lanes from memory, vpdpbusd's
// {1to16}), one block of 32 at a time: the rows' integer sums per x row (apart for the block's two halves where they
// have scales of their own: q6_K), then scaled by d_w * d_x into M f32 accumulators. The x tile (M rows x k, int8)
// stays in L1 while the W strips stream from L2 (lib/gemm.cpp keeps a W block there). Per type (R8<Group>): the 8
// unsigned operands of a block (operand o meets x's group of 4 o: weights 4 o .. 4 o + 3), the scales of each half,
// and q4_K's mins; the offset they carry (taken off through x's half sums) from simd/quant.hpp's RowGroupForm.
inline __m512i halves(const uint8_t* a, const uint8_t* b) {  // 32 bytes of group a | 32 of group b
  return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a))),
                            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b)), 1);
}
inline __m512 f16_halves(const uint16_t* a, const uint16_t* b) {  // 8 halfs of group a | 8 of group b, as f32
  return _mm512_cvtph_ps(_mm256_inserti128_si256(
      _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a))),
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(b)), 1));
}
inline void nibble_operands(const uint8_t* a, const uint8_t* b, __m512i* op) {  // q4_0_r8's byte layout
  const __m512i low = _mm512_set1_epi8(0x0f);
  for (int c = 0; c < 4; ++c) {
    const __m512i raw = halves(a + 32 * c, b + 32 * c);
    op[c] = _mm512_and_si512(raw, low);
    op[4 + c] = _mm512_and_si512(_mm512_srli_epi16(raw, 4), low);
  }
}

template <class Group>
struct R8;
template <>
struct R8<BlockQ8_0x8> : RowGroupForm<BlockQ8_0x8> {
  static void operands(const BlockQ8_0x8& a, const BlockQ8_0x8& b, __m512i* op) {
    for (int g = 0; g < 8; ++g) op[g] = halves(a.q + 32 * g, b.q + 32 * g);
  }
  static void scales(const BlockQ8_0x8& a, const BlockQ8_0x8& b, __m512* s) { s[0] = f16_halves(a.d, b.d); }
};
template <>
struct R8<BlockQ4_0x8> : RowGroupForm<BlockQ4_0x8> {
  static void operands(const BlockQ4_0x8& a, const BlockQ4_0x8& b, __m512i* op) { nibble_operands(a.q, b.q, op); }
  static void scales(const BlockQ4_0x8& a, const BlockQ4_0x8& b, __m512* s) { s[0] = f16_halves(a.d, b.d); }
};
template <>
struct R8<BlockQ4_Kx8> : RowGroupForm<BlockQ4_Kx8> {
  static void operands(const BlockQ4_Kx8& a, const BlockQ4_Kx8& b, __m512i* op) { nibble_operands(a.q, b.q, op); }
  static void scales(const BlockQ4_Kx8& a, const BlockQ4_Kx8& b, __m512* s) { s[0] = f16_halves(a.d, b.d); }
  static __m512 mins(const BlockQ4_Kx8& a, const BlockQ4_Kx8& b) { return f16_halves(a.m, b.m); }
};
template <>
struct R8<BlockQ6_Kx8> : RowGroupForm<BlockQ6_Kx8> {
  static void operands(const BlockQ6_Kx8& a, const BlockQ6_Kx8& b, __m512i* op) {
    const __m512i low = _mm512_set1_epi8(0x0f), high = _mm512_set1_epi8(0x30);
    for (int c = 0; c < 4; ++c) {  // chunk c's high bits: qh half c % 2, bits 4 (c / 2) (+ 2 for the high nibbles)
      const __m512i raw = halves(a.ql + 32 * c, b.ql + 32 * c), qh = halves(a.qh + 32 * (c % 2), b.qh + 32 * (c % 2));
      const __m512i h0 = _mm512_and_si512(c / 2 ? qh : _mm512_slli_epi16(qh, 4), high);
      const __m512i h1 = _mm512_and_si512(c / 2 ? _mm512_srli_epi16(qh, 2) : _mm512_slli_epi16(qh, 2), high);
      op[c] = _mm512_ternarylogic_epi32(low, raw, h0, 0xca);  // (raw & 0x0f) | h0
      op[4 + c] = _mm512_ternarylogic_epi32(low, _mm512_srli_epi16(raw, 4), h1, 0xca);
    }
  }
  static void scales(const BlockQ6_Kx8& a, const BlockQ6_Kx8& b, __m512* s) {  // d * sc, exact in f32
    const __m512 d = f16_halves(a.d, b.d);
    for (int t = 0; t < 2; ++t) {
      const __m128i sc = _mm_unpacklo_epi64(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(a.sc[t])),
                                            _mm_loadl_epi64(reinterpret_cast<const __m128i*>(b.sc[t])));
      s[t] = _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(sc)));
    }
  }
};

template <class Group, int M>
void gemm_r8_tile_zmm(float* C, int ldc, const int8_t* xq, int ldx, const float* xd, const int32_t* xs, int ldd,
                  const Group* wa, const Group* wb, int nb, bool accumulate, __mmask16 lanes) {
  using T = R8<Group>;
  constexpr int H = T::kTwoScales ? 2 : 1;  // integer sums per x row: one per half where the halves' scales differ
  __m512 acc[M];
  for (int i = 0; i < M; ++i) acc[i] = _mm512_setzero_ps();
  for (int b = 0; b < nb; ++b) {
    __m512i op[8];
    T::operands(wa[b], wb[b], op);
    __m512i sum[M][H];
    for (int i = 0; i < M; ++i) {
      const int32_t* s = xs + 2 * (i * ldd + b);
      if constexpr (H == 2) {
        for (int h = 0; h < 2; ++h) sum[i][h] = _mm512_set1_epi32(-T::kOffset * s[h]);
      } else {
        sum[i][0] = _mm512_set1_epi32(-T::kOffset * (s[0] + s[1]));
      }
    }
#pragma GCC unroll 8
    for (int o = 0; o < 8; ++o)
      for (int i = 0; i < M; ++i) {
        int32_t x4;
        __builtin_memcpy(&x4, xq + static_cast<long>(i) * ldx + 32 * b + 4 * o, 4);
        __m512i& s = sum[i][H == 2 ? o / 4 : 0];
        s = _mm512_dpbusd_epi32(s, op[o], _mm512_set1_epi32(x4));
      }
    __m512 scale[H];
    T::scales(wa[b], wb[b], scale);
    for (int i = 0; i < M; ++i) {
      const __m512 dx = _mm512_set1_ps(xd[i * ldd + b]);
      for (int h = 0; h < H; ++h)
        acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum[i][h]), _mm512_mul_ps(scale[h], dx), acc[i]);
    }
    if constexpr (T::kMins) {  // q4_K: minus min * (d_x * the block's sum of x)
      const __m512 m = T::mins(wa[b], wb[b]);
      for (int i = 0; i < M; ++i) {
        const int32_t* s = xs + 2 * (i * ldd + b);
        acc[i] = _mm512_fnmadd_ps(m, _mm512_set1_ps(xd[i * ldd + b] * static_cast<float>(s[0] + s[1])), acc[i]);
      }
    }
  }
  for (int i = 0; i < M; ++i) {
    float* c = C + static_cast<long>(i) * ldc;
    if (accumulate) acc[i] = _mm512_add_ps(acc[i], _mm512_maskz_loadu_ps(lanes, c));
    _mm512_mask_storeu_ps(c, lanes, acc[i]);
  }
}

template <class Group, int M>
void gemm_r8_rows_zmm(float* C, int ldc, const int8_t* xq, int ldx, const float* xd, const int32_t* xs, int ldd,
                  const Group* groups, int ldw, int n, int nb, bool accumulate) {
  for (int j = 0; j < n; j += 16) {
    const Group* wa = groups + static_cast<long>(j / 8) * ldw;
    const bool two = j + 16 <= n;  // else the last 8 rows: the one group twice, half the lanes stored
    gemm_r8_tile_zmm<Group, M>(C + j, ldc, xq, ldx, xd, xs, ldd, wa, two ? wa + ldw : wa, nb, accumulate,
                           two ? 0xffff : 0x00ff);
  }
}

template <class Group>
void gemm_r8_zmm(float* C, int ldc, const int8_t* xq, int ldx, const float* xd, const int32_t* xs, int ldd,
                 const void* W, int ldw, int m, int n, int k, bool accumulate) {
  constexpr int M = 8;
  const auto* groups = static_cast<const Group*>(W);
  const int nb = k / 32;
  for (int i0 = 0; i0 < m; i0 += M) {
    const long xo = static_cast<long>(i0) * ldx, d = static_cast<long>(i0) * ldd;
    float* c = C + static_cast<long>(i0) * ldc;
    switch (std::min(M, m - i0)) {
#define RESA_TILE(R)                                                                                        \
  case R:                                                                                                   \
    gemm_r8_rows_zmm<Group, R>(c, ldc, xq + xo, ldx, xd + d, xs + 2 * d, ldd, groups, ldw, n, nb, accumulate); \
    break;
      RESA_TILE(8) RESA_TILE(7) RESA_TILE(6) RESA_TILE(5) RESA_TILE(4) RESA_TILE(3) RESA_TILE(2) RESA_TILE(1)
#undef RESA_TILE
    }
  }
}

}  // namespace

void gemm_q8_0_r8_vnni(float* C, int ldc, const int8_t* xq, int ldx, const float* xd, const int32_t* xs, int ldd,
                       const void* W, int ldw, int m, int n, int k, bool accumulate) {
  gemm_r8_zmm<BlockQ8_0x8>(C, ldc, xq, ldx, xd, xs, ldd, W, ldw, m, n, k, accumulate);
}
void gemm_q4_0_r8_vnni(float* C, int ldc, const int8_t* xq, int ldx, const float* xd, const int32_t* xs, int ldd,
                       const void* W, int ldw, int m, int n, int k, bool accumulate) {
  gemm_r8_zmm<BlockQ4_0x8>(C, ldc, xq, ldx, xd, xs, ldd, W, ldw, m, n, k, accumulate);
}
void gemm_q4_k_r8_vnni(float* C, int ldc, const int8_t* xq, int ldx, const float* xd, const int32_t* xs, int ldd,
                       const void* W, int ldw, int m, int n, int k, bool accumulate) {
  gemm_r8_zmm<BlockQ4_Kx8>(C, ldc, xq, ldx, xd, xs, ldd, W, ldw, m, n, k, accumulate);
}
void gemm_q6_k_r8_vnni(float* C, int ldc, const int8_t* xq, int ldx, const float* xd, const int32_t* xs, int ldd,
                       const void* W, int ldw, int m, int n, int k, bool accumulate) {
  gemm_r8_zmm<BlockQ6_Kx8>(C, ldc, xq, ldx, xd, xs, ldd, W, ldw, m, n, k, accumulate);
}

void matvec_q6_k_r8_vnni(float* out, const void* W, const int8_t* xq, const float* xd, const int32_t* xs, int rows,
                         int cols) {
  matvec_q6_k_r8_zmm(out, W, xq, xd, xs, rows, cols);
}
void matvec_q8_0_r8_vnni(float* out, const void* W, const int8_t* xq, const float* xd, const int32_t* xs, int rows,
                         int cols) {
  matvec_r8_zmm<BlockQ8_0x8>(out, W, xq, xd, xs, rows, cols);
}
void matvec_q4_0_r8_vnni(float* out, const void* W, const int8_t* xq, const float* xd, const int32_t* xs, int rows,
                         int cols) {
  matvec_r8_zmm<BlockQ4_0x8>(out, W, xq, xd, xs, rows, cols);
}

void matvec_q8_0_vnni(float* out, const void* W, const int8_t* xq, const float* xd, int rows, int cols) {
  matvec_q8_0(out, W, xq, xd, rows, cols);
}
void matvec_q4_0_vnni(float* out, const void* W, const int8_t* xq, const float* xd, int rows, int cols) {
  matvec_q4_0(out, W, xq, xd, rows, cols);
}
void matvec_q4_k_r8_vnni(float* out, const void* W, const int8_t* xq, const float* xd, const int32_t* xs, int rows,
                         int cols) {
  matvec_r8_zmm<BlockQ4_Kx8>(out, W, xq, xd, xs, rows, cols);
}
const char* int8_dot() { return kInt8Dot; }

}  // namespace resa::simd::avx512_vnni
