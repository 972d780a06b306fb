// The reference of simd/quant.hpp's layouts, and the scalar twins of the quantized-weight kernels.
#include <cmath>

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

namespace scalar {

void quantize_q8(int8_t* q, float* d, const float* x, int n) {
  for (int b = 0; b < n / kQBlock; ++b, x += kQBlock, q += kQBlock) {
    float amax = 0.0f;
    for (int i = 0; i < kQBlock; ++i) amax = std::fmax(amax, std::fabs(x[i]));
    d[b] = amax / 127.0f;
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    for (int i = 0; i < kQBlock; ++i) q[i] = static_cast<int8_t>(std::nearbyintf(x[i] * id));
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

}  // namespace

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
