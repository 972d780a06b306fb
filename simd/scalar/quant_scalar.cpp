// The reference of simd/quant.hpp's layouts, and the scalar twins of the quantized-weight kernels.
#include <cmath>
#include <cstring>

#include "simd/convert.hpp"
#include "simd/quant.hpp"
#include "simd/scalar/scalar.hpp"

namespace resa::simd {

void quantize_q8_0(BlockQ8_0* dst, const float* x, int64_t n) {
  for (int64_t b = 0; b < n / kQBlock; ++b, x += kQBlock) {
    float amax = 0.0f;
    for (int i = 0; i < kQBlock; ++i) amax = std::fmax(amax, std::fabs(x[i]));
    const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    dst[b].d = f32_to_f16(d);
    for (int i = 0; i < kQBlock; ++i) dst[b].q[i] = static_cast<int8_t>(std::roundf(x[i] * id));
  }
}

void quantize_q4_0(BlockQ4_0* dst, const float* x, int64_t n) {
  for (int64_t b = 0; b < n / kQBlock; ++b, x += kQBlock) {
    float amax = 0.0f, max = 0.0f;
    for (int i = 0; i < kQBlock; ++i)
      if (std::fabs(x[i]) > amax) {
        amax = std::fabs(x[i]);
        max = x[i];
      }
    const float d = max / -8.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    dst[b].d = f32_to_f16(d);
    for (int j = 0; j < kQBlock / 2; ++j) {
      const int lo = static_cast<int>(x[j] * id + 8.5f), hi = static_cast<int>(x[j + kQBlock / 2] * id + 8.5f);
      dst[b].q[j] = static_cast<uint8_t>((lo < 15 ? lo : 15) | (hi < 15 ? hi : 15) << 4);
    }
  }
}

void dequantize_q8_0(float* dst, const BlockQ8_0* src, int64_t n) {
  for (int64_t b = 0; b < n / kQBlock; ++b) {
    const float d = f16_to_f32(src[b].d);
    for (int i = 0; i < kQBlock; ++i) *dst++ = d * static_cast<float>(src[b].q[i]);
  }
}

void dequantize_q4_0(float* dst, const BlockQ4_0* src, int64_t n) {
  for (int64_t b = 0; b < n / kQBlock; ++b, dst += kQBlock) {
    const float d = f16_to_f32(src[b].d);
    for (int j = 0; j < kQBlock / 2; ++j) {
      dst[j] = d * static_cast<float>((src[b].q[j] & 0xf) - 8);
      dst[j + kQBlock / 2] = d * static_cast<float>((src[b].q[j] >> 4) - 8);
    }
  }
}

void dequantize_q4_k(float* dst, const BlockQ4_K* src, int64_t n) {
  for (int64_t b = 0; b < n / kKBlock; ++b) {
    const BlockQ4_K& x = src[b];
    const float d = f16_to_f32(x.d), min = f16_to_f32(x.dmin);
    const uint8_t* q = x.qs;
    for (int j = 0; j < 8; j += 2, q += 32) {
      float dj[2], mj[2];
      for (int h = 0; h < 2; ++h) {
        const int i = j + h;
        const int sc = i < 4 ? x.scales[i] & 63 : (x.scales[i + 4] & 15) | ((x.scales[i - 4] >> 6) << 4);
        const int m = i < 4 ? x.scales[i + 4] & 63 : (x.scales[i + 4] >> 4) | ((x.scales[i] >> 6) << 4);
        dj[h] = d * static_cast<float>(sc);
        mj[h] = min * static_cast<float>(m);
      }
      for (int l = 0; l < 32; ++l) *dst++ = dj[0] * static_cast<float>(q[l] & 0xf) - mj[0];
      for (int l = 0; l < 32; ++l) *dst++ = dj[1] * static_cast<float>(q[l] >> 4) - mj[1];
    }
  }
}

void dequantize_q6_k(float* dst, const BlockQ6_K* src, int64_t n) {
  for (int64_t b = 0; b < n / kKBlock; ++b) {
    const BlockQ6_K& x = src[b];
    const float d = f16_to_f32(x.d);
    const uint8_t* ql = x.ql;
    const uint8_t* qh = x.qh;
    const int8_t* sc = x.scales;
    for (int half = 0; half < 2; ++half, dst += 128, ql += 64, qh += 32, sc += 8)
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0xf) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xf) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        dst[l] = d * static_cast<float>(sc[is]) * static_cast<float>(q1);
        dst[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
        dst[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
        dst[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
      }
  }
}

void pack_rows(BlockQ8_0x8* dst, const BlockQ8_0* const* rows, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b)
    for (int i = 0; i < kRowGroup; ++i) {
      dst[b].d[i] = rows[i][b].d;
      for (int g = 0; g < 8; ++g)
        for (int k = 0; k < 4; ++k) dst[b].q[32 * g + 4 * i + k] = static_cast<uint8_t>(rows[i][b].q[4 * g + k] + 128);
    }
}

void pack_rows(BlockQ4_0x8* dst, const BlockQ4_0* const* rows, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b)
    for (int i = 0; i < kRowGroup; ++i) {
      dst[b].d[i] = rows[i][b].d;
      for (int c = 0; c < 4; ++c)
        for (int k = 0; k < 4; ++k) dst[b].q[32 * c + 4 * i + k] = rows[i][b].q[4 * c + k];
    }
}

void unpack_row(BlockQ8_0* dst, const BlockQ8_0x8* group, int i, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b) {
    dst[b].d = group[b].d[i];
    for (int g = 0; g < 8; ++g)
      for (int k = 0; k < 4; ++k) dst[b].q[4 * g + k] = static_cast<int8_t>(group[b].q[32 * g + 4 * i + k] - 128);
  }
}

void unpack_row(BlockQ4_0* dst, const BlockQ4_0x8* group, int i, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b) {
    dst[b].d = group[b].d[i];
    for (int c = 0; c < 4; ++c)
      for (int k = 0; k < 4; ++k) dst[b].q[4 * c + k] = group[b].q[32 * c + 4 * i + k];
  }
}

void pack_rows(BlockQ4_Kx8* dst, const BlockQ4_K* const* rows, int64_t n_super) {
  for (int64_t sb = 0; sb < n_super; ++sb)
    for (int j = 0; j < 8; ++j) {  // sub-block j of super-block sb: row-group block 8 sb + j
      BlockQ4_Kx8& out = dst[8 * sb + j];
      for (int i = 0; i < kRowGroup; ++i) {
        const BlockQ4_K& x = rows[i][sb];
        const int sc = j < 4 ? x.scales[j] & 63 : (x.scales[j + 4] & 15) | ((x.scales[j - 4] >> 6) << 4);
        const int m = j < 4 ? x.scales[j + 4] & 63 : (x.scales[j + 4] >> 4) | ((x.scales[j] >> 6) << 4);
        out.d[i] = f32_to_f16(f16_to_f32(x.d) * static_cast<float>(sc));
        out.m[i] = f32_to_f16(f16_to_f32(x.dmin) * static_cast<float>(m));
        uint8_t w[32];
        for (int l = 0; l < 32; ++l) w[l] = (x.qs[32 * (j / 2) + l] >> (4 * (j % 2))) & 0xf;
        for (int c = 0; c < 4; ++c)
          for (int k = 0; k < 4; ++k) {
            const int t = 4 * c + k;
            out.q[32 * c + 4 * i + k] = static_cast<uint8_t>(w[t] | w[t + 16] << 4);
          }
      }
    }
}

void unpack_row_f32(float* dst, const BlockQ4_Kx8* group, int i, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, dst += kQBlock) {
    const float d = f16_to_f32(group[b].d[i]), m = f16_to_f32(group[b].m[i]);
    for (int c = 0; c < 4; ++c)
      for (int k = 0; k < 4; ++k) {
        const uint8_t byte = group[b].q[32 * c + 4 * i + k];
        dst[4 * c + k] = d * static_cast<float>(byte & 0xf) - m;
        dst[16 + 4 * c + k] = d * static_cast<float>(byte >> 4) - m;
      }
  }
}

// Weight l (0..255) of a q6_K super-block as its 6-bit value (0..63); its scale is scales[l / 16].
inline int q6_value(const BlockQ6_K& x, int l) {
  const int half = l / 128, quarter = l % 128 / 32, pos = l % 32;
  const int low = x.ql[64 * half + 32 * (quarter % 2) + pos] >> (4 * (quarter / 2)) & 0xf;
  return low | (x.qh[32 * half + pos] >> (2 * quarter) & 3) << 4;
}

void pack_rows(BlockQ6_Kx8* dst, const BlockQ6_K* const* rows, int64_t n_super) {
  for (int64_t sb = 0; sb < n_super; ++sb)
    for (int j = 0; j < 8; ++j) {  // weights 32 j .. 32 j + 31 of super-block sb: row-group block 8 sb + j
      BlockQ6_Kx8& out = dst[8 * sb + j];
      std::memset(out.qh, 0, sizeof(out.qh));
      for (int i = 0; i < kRowGroup; ++i) {
        const BlockQ6_K& x = rows[i][sb];
        out.d[i] = x.d;
        out.sc[0][i] = x.scales[2 * j];
        out.sc[1][i] = x.scales[2 * j + 1];
        for (int c = 0; c < 4; ++c)
          for (int k = 0; k < 4; ++k) {
            const int lo = q6_value(x, 32 * j + 4 * c + k), hi = q6_value(x, 32 * j + 16 + 4 * c + k);
            out.ql[32 * c + 4 * i + k] = static_cast<uint8_t>((lo & 0xf) | (hi & 0xf) << 4);
            out.qh[32 * (c % 2) + 4 * i + k] |= static_cast<uint8_t>((lo >> 4) << (4 * (c / 2)) |
                                                                     (hi >> 4) << (4 * (c / 2) + 2));
          }
      }
    }
}

// Row i's 32 weights of a q6_K_r8 block as integers v - 32 (weights 16 t .. 16 t + 15 scaled by d * sc[t][i]).
inline void q6_ints(const BlockQ6_Kx8& b, int i, int* w) {
  for (int c = 0; c < 4; ++c)
    for (int k = 0; k < 4; ++k)
      for (int t = 0; t < 2; ++t) {
        const int low = b.ql[32 * c + 4 * i + k] >> (4 * t) & 0xf;
        const int high = b.qh[32 * (c % 2) + 4 * i + k] >> (4 * (c / 2) + 2 * t) & 3;
        w[16 * t + 4 * c + k] = (low | high << 4) - 32;
      }
}

void unpack_row_f32(float* dst, const BlockQ6_Kx8* group, int i, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, dst += kQBlock) {
    int w[kQBlock];
    q6_ints(group[b], i, w);
    const float d = f16_to_f32(group[b].d[i]);
    for (int l = 0; l < kQBlock; ++l)  // as dequantize_q6_k: (d * scale) * q
      dst[l] = d * static_cast<float>(group[b].sc[l / 16][i]) * static_cast<float>(w[l]);
  }
}

namespace scalar {

void quantize_q8(int8_t* q, float* d, int32_t* sums, const float* x, int n) {
  for (int b = 0; b < n / kQBlock; ++b, x += kQBlock, q += kQBlock) {
    float amax = 0.0f;
    for (int i = 0; i < kQBlock; ++i) amax = std::fmax(amax, std::fabs(x[i]));
    d[b] = amax / 127.0f;
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    sums[2 * b] = sums[2 * b + 1] = 0;
    for (int i = 0; i < kQBlock; ++i) {
      q[i] = static_cast<int8_t>(std::nearbyintf(x[i] * id));
      sums[2 * b + i / 16] += q[i];
    }
  }
}

namespace {

// The 32 weights of block b as integers (q8_0: q; q4_0: q - 8), and its scale.
inline float block_ints(const BlockQ8_0& b, int* w) {
  for (int i = 0; i < kQBlock; ++i) w[i] = b.q[i];
  return f16_to_f32(b.d);
}
inline float block_ints(const BlockQ4_0& b, int* w) {
  for (int j = 0; j < kQBlock / 2; ++j) {
    w[j] = (b.q[j] & 0xf) - 8;
    w[j + kQBlock / 2] = (b.q[j] >> 4) - 8;
  }
  return f16_to_f32(b.d);
}

// out[r] = sum over blocks b of (d_w[b] * d_x[b]) * sum_i w[i] x[i], the integer sums exact.
template <class Block>
void matvec_q(float* out, const void* W, const int8_t* xq, const float* xd, int rows, int cols) {
  const int nb = cols / kQBlock;
  for (int r = 0; r < rows; ++r) {
    const Block* row = static_cast<const Block*>(W) + static_cast<long>(r) * nb;
    float acc = 0.0f;
    for (int b = 0; b < nb; ++b) {
      int w[kQBlock], sum = 0;
      const float d = block_ints(row[b], w);
      for (int i = 0; i < kQBlock; ++i) sum += w[i] * xq[b * kQBlock + i];
      acc += d * xd[b] * static_cast<float>(sum);
    }
    out[r] = acc;
  }
}

template <class Block>
void widen_q(uint16_t* dst, const void* src, int n_blocks) {
  const Block* blocks = static_cast<const Block*>(src);
  for (int b = 0; b < n_blocks; ++b) {
    int w[kQBlock];
    const float d = block_ints(blocks[b], w);
    for (int i = 0; i < kQBlock; ++i) *dst++ = f32_to_bf16(d * static_cast<float>(w[i]));
  }
}

// The row-group forms: row r's weights as integers from its group's block, and its scale.
inline float block_ints(const BlockQ8_0x8& b, int i, int* w) {
  for (int g = 0; g < 8; ++g)
    for (int k = 0; k < 4; ++k) w[4 * g + k] = b.q[32 * g + 4 * i + k] - 128;
  return f16_to_f32(b.d[i]);
}
inline float block_ints(const BlockQ4_0x8& b, int i, int* w) {
  for (int c = 0; c < 4; ++c)
    for (int k = 0; k < 4; ++k) {
      w[4 * c + k] = (b.q[32 * c + 4 * i + k] & 0xf) - 8;
      w[16 + 4 * c + k] = (b.q[32 * c + 4 * i + k] >> 4) - 8;
    }
  return f16_to_f32(b.d[i]);
}

// Row i of a row-group block for the chunk products: its weights as integers w, weight t being
// scale[t / 16] * w[t] - min.
inline void r8_terms(const BlockQ8_0x8& b, int i, int* w, float* scale, float* min) {
  scale[0] = scale[1] = block_ints(b, i, w);
  *min = 0.0f;
}
inline void r8_terms(const BlockQ4_0x8& b, int i, int* w, float* scale, float* min) {
  scale[0] = scale[1] = block_ints(b, i, w);
  *min = 0.0f;
}
inline void r8_terms(const BlockQ4_Kx8& b, int i, int* w, float* scale, float* min) {
  for (int c = 0; c < 4; ++c)
    for (int k = 0; k < 4; ++k) {
      w[4 * c + k] = b.q[32 * c + 4 * i + k] & 0xf;
      w[16 + 4 * c + k] = b.q[32 * c + 4 * i + k] >> 4;
    }
  scale[0] = scale[1] = f16_to_f32(b.d[i]);
  *min = f16_to_f32(b.m[i]);
}
inline void r8_terms(const BlockQ6_Kx8& b, int i, int* w, float* scale, float* min) {
  q6_ints(b, i, w);
  for (int t = 0; t < 2; ++t) scale[t] = f16_to_f32(b.d[i]) * static_cast<float>(b.sc[t][i]);
  *min = 0.0f;
}

// C (+)= x . w per block: the integer sums of each half exact, scaled by scale * d_x; the min times d_x and the
// block's sum of x taken off.
template <class Group>
void gemm_r8(float* C, int ldc, const int8_t* xq, int ldx, const float* xd, const int32_t* xs, int ldd, const void* W,
             int ldw, int m, int n, int k, bool accumulate) {
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      const Group* group = static_cast<const Group*>(W) + static_cast<long>(j / kRowGroup) * ldw;
      float acc = 0.0f;
      for (int b = 0; b < k / kQBlock; ++b) {
        int w[kQBlock], sum[2] = {0, 0};
        float scale[2], min;
        r8_terms(group[b], j % kRowGroup, w, scale, &min);
        for (int t = 0; t < kQBlock; ++t) sum[t / 16] += w[t] * xq[static_cast<long>(i) * ldx + kQBlock * b + t];
        const float dx = xd[i * ldd + b];
        const int32_t* s = xs + 2 * (i * ldd + b);
        acc += scale[0] * dx * static_cast<float>(sum[0]) + scale[1] * dx * static_cast<float>(sum[1]) -
               min * dx * static_cast<float>(s[0] + s[1]);
      }
      float& c = C[static_cast<long>(i) * ldc + j];
      c = accumulate ? c + acc : acc;
    }
}

template <class Group>
void widen_r8(uint16_t* dst, int ld, const void* src, int n_blocks) {
  const Group* blocks = static_cast<const Group*>(src);
  for (int i = 0; i < kRowGroup; ++i)
    for (int b = 0; b < n_blocks; ++b) {
      int w[kQBlock];
      const float d = block_ints(blocks[b], i, w);
      for (int k = 0; k < kQBlock; ++k)
        dst[static_cast<long>(i) * ld + b * kQBlock + k] = f32_to_bf16(d * static_cast<float>(w[k]));
    }
}

}  // namespace

void widen_q8_0_r8(uint16_t* dst, int ld, const void* src, int n_blocks) {
  widen_r8<BlockQ8_0x8>(dst, ld, src, n_blocks);
}
void widen_q4_0_r8(uint16_t* dst, int ld, const void* src, int n_blocks) {
  widen_r8<BlockQ4_0x8>(dst, ld, src, n_blocks);
}

// A row-group form's decode product is its chunk product of one x row.
void matvec_q8_0_r8(float* out, const void* W, const int8_t* xq, const float* xd, const int32_t* xs, int rows,
                    int cols) {
  gemm_r8<BlockQ8_0x8>(out, 0, xq, 0, xd, xs, 0, W, cols / kQBlock, 1, rows, cols, false);
}
void matvec_q4_0_r8(float* out, const void* W, const int8_t* xq, const float* xd, const int32_t* xs, int rows,
                    int cols) {
  gemm_r8<BlockQ4_0x8>(out, 0, xq, 0, xd, xs, 0, W, cols / kQBlock, 1, rows, cols, false);
}
void matvec_q4_k_r8(float* out, const void* W, const int8_t* xq, const float* xd, const int32_t* xs, int rows,
                    int cols) {
  gemm_r8<BlockQ4_Kx8>(out, 0, xq, 0, xd, xs, 0, W, cols / kQBlock, 1, rows, cols, false);
}
void matvec_q6_k_r8(float* out, const void* W, const int8_t* xq, const float* xd, const int32_t* xs, int rows,
                    int cols) {
  gemm_r8<BlockQ6_Kx8>(out, 0, xq, 0, xd, xs, 0, W, cols / kQBlock, 1, rows, cols, false);
}

// The k-quants' tiles: their values (unpack_row_f32) rounded to bf16.
template <class Group>
void widen_values(uint16_t* dst, int ld, const void* src, int n_blocks) {
  const Group* blocks = static_cast<const Group*>(src);
  float w[kQBlock];
  for (int i = 0; i < kRowGroup; ++i)
    for (int b = 0; b < n_blocks; ++b) {
      unpack_row_f32(w, blocks + b, i, 1);
      for (int k = 0; k < kQBlock; ++k) dst[static_cast<long>(i) * ld + b * kQBlock + k] = f32_to_bf16(w[k]);
    }
}
void widen_q4_k_r8(uint16_t* dst, int ld, const void* src, int n_blocks) {
  widen_values<BlockQ4_Kx8>(dst, ld, src, n_blocks);
}
void widen_q6_k_r8(uint16_t* dst, int ld, const void* src, int n_blocks) {
  widen_values<BlockQ6_Kx8>(dst, ld, src, n_blocks);
}

#define RESA_GEMM_R8(name, Group)                                                                               \
  void name(float* C, int ldc, const int8_t* xq, int ldx, const float* xd, const int32_t* xs, int ldd, const void* W, \
            int ldw, int m, int n, int k, bool accumulate) {                                                       \
    gemm_r8<Group>(C, ldc, xq, ldx, xd, xs, ldd, W, ldw, m, n, k, accumulate);                                     \
  }
RESA_GEMM_R8(gemm_q8_0_r8, BlockQ8_0x8)
RESA_GEMM_R8(gemm_q4_0_r8, BlockQ4_0x8)
RESA_GEMM_R8(gemm_q4_k_r8, BlockQ4_Kx8)
RESA_GEMM_R8(gemm_q6_k_r8, BlockQ6_Kx8)
#undef RESA_GEMM_R8

void matvec_q8_0(float* out, const void* W, const int8_t* xq, const float* xd, int rows, int cols) {
  matvec_q<BlockQ8_0>(out, W, xq, xd, rows, cols);
}
void matvec_q4_0(float* out, const void* W, const int8_t* xq, const float* xd, int rows, int cols) {
  matvec_q<BlockQ4_0>(out, W, xq, xd, rows, cols);
}
void widen_q8_0(uint16_t* dst, const void* src, int n_blocks) { widen_q<BlockQ8_0>(dst, src, n_blocks); }
void widen_q4_0(uint16_t* dst, const void* src, int n_blocks) { widen_q<BlockQ4_0>(dst, src, n_blocks); }

}  // namespace scalar

}  // namespace resa::simd
