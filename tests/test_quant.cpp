// Quantized weights: the block layouts against hand-made blocks (simd/quant.hpp's reference, bit for bit), the
// f32 -> f16 rounding, and the kernels of every kernel table this CPU runs against the scalar twin and against a
// double-precision sum.
//
// Bounds: a block's integer dot product is exact (|q| <= 127, 32 terms); each block's term d_w * d_x * isum is one
// f32 product off by at most 2^-23 relative, and summing the nb terms in f32, in any order, by gamma_nb * sum |term|
// (gamma_n ~ n * 2^-24). So the kernels agree with the double sum to within (nb + 4) * 2^-24 * sum |term|.
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "simd/convert.hpp"
#include "simd/kernels.hpp"
#include "simd/quant.hpp"

namespace resa::simd {
namespace {

TEST(F16, RoundsToNearestEven) {
  EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(f32_to_f16(-2.0f), 0xc000);
  EXPECT_EQ(f32_to_f16(0.0f), 0x0000);
  EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7bff);               // the largest half
  EXPECT_EQ(f32_to_f16(65519.0f), 0x7bff);               // below the halfway point to 65536
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);               // the tie rounds to even: 65536, infinity
  EXPECT_EQ(f32_to_f16(1e10f), 0x7c00);
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -24)), 0x0001);  // the smallest subnormal
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);  // half of it: a tie, to even (zero)
  EXPECT_EQ(f32_to_f16(std::ldexp(3.0f, -25)), 0x0002);  // 1.5 units: a tie, to even (2)
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -14)), 0x0400);  // the smallest normal
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);  // a tie between 1 and 1 + 2^-10: to even
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(3.0f, -11)), 0x3c02);  // a tie between 1 + 2^-10 and 1 + 2^-9: to even
  EXPECT_EQ(f32_to_f16(0.1f), 0x2e66);
  EXPECT_EQ(f32_to_f16(NAN) & 0x7c00, 0x7c00);
  EXPECT_NE(f32_to_f16(NAN) & 0x03ff, 0);
  // Every finite half comes back to itself.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7c00) == 0x7c00) continue;
    ASSERT_EQ(f32_to_f16(f16_to_f32(static_cast<uint16_t>(h))), h) << std::hex << h;
  }
}

TEST(QuantLayout, Q8_0HandMadeBlocks) {
  float x[64] = {};
  x[0] = 127.0f;  // the largest magnitude: d = 1
  x[1] = -127.0f;
  x[2] = 63.5f;  // halves round away from zero
  x[3] = -63.5f;
  x[4] = 0.49f;
  x[5] = -0.5f;
  x[31] = 2.0f;
  // The second block all zero: d = 0, q = 0.
  BlockQ8_0 b[2];
  quantize_q8_0(b, x, 64);
  EXPECT_EQ(b[0].d, 0x3c00);
  const int8_t want[32] = {127, -127, 64, -64, 0, -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                           0,   0,    0,  0,   0, 0,  0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  EXPECT_EQ(std::memcmp(b[0].q, want, 32), 0);
  EXPECT_EQ(b[1].d, 0);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(b[1].q[i], 0);

  // A scale that half precision rounds: d = 0.3 / 127 stored as f16, q computed from the exact d.
  float y[32];
  for (int i = 0; i < 32; ++i) y[i] = 0.3f * static_cast<float>(i - 16) / 16.0f;
  BlockQ8_0 c;
  quantize_q8_0(&c, y, 32);
  EXPECT_EQ(c.d, f32_to_f16(0.3f / 127.0f));
  EXPECT_EQ(c.q[0], -127);
  EXPECT_EQ(c.q[8], static_cast<int8_t>(std::roundf(y[8] * (127.0f / 0.3f))));
  float back[32];
  dequantize_q8_0(back, &c, 32);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(back[i], f16_to_f32(c.d) * c.q[i]);
}

TEST(QuantLayout, Q4_0HandMadeBlocks) {
  float x[32] = {};
  x[0] = -16.0f;  // the largest magnitude, negative: d = -16 / -8 = 2
  x[1] = 14.0f;   // 14 / 2 + 8.5 = 15.5 -> 15
  x[2] = 15.0f;   // 16 -> clamped to 15
  x[3] = 1.0f;    // 9
  x[4] = -1.0f;   // 8
  x[16] = -3.0f;  // -1.5 + 8.5 = 7
  x[17] = 16.0f;  // as large as the first but not first: 16.5 -> 15
  BlockQ4_0 b;
  quantize_q4_0(&b, x, 32);
  EXPECT_EQ(b.d, 0x4000);  // 2
  EXPECT_EQ(b.q[0], 0 | 7 << 4);
  EXPECT_EQ(b.q[1], 15 | 15 << 4);
  EXPECT_EQ(b.q[2], 15 | 8 << 4);
  EXPECT_EQ(b.q[3], 9 | 8 << 4);
  EXPECT_EQ(b.q[4], 8 | 8 << 4);
  float back[32];
  dequantize_q4_0(back, &b, 32);
  EXPECT_EQ(back[0], -16.0f);
  EXPECT_EQ(back[1], 14.0f);
  EXPECT_EQ(back[16], -2.0f);
  EXPECT_EQ(back[17], 14.0f);
  EXPECT_EQ(back[5], 0.0f);

  // The largest magnitude positive: d negative, and it comes back exactly.
  float y[32] = {};
  y[7] = 8.0f;
  y[8] = -7.0f;
  quantize_q4_0(&b, y, 32);
  EXPECT_EQ(b.d, f32_to_f16(-1.0f));
  dequantize_q4_0(back, &b, 32);
  EXPECT_EQ(back[7], 8.0f);
  EXPECT_EQ(back[8], -7.0f);
  EXPECT_EQ(back[0], 0.0f);

  // All zero: d = 0 / -8 = -0 (as llama.cpp stores it), every nibble 8 (the zero point).
  std::fill(y, y + 32, 0.0f);
  quantize_q4_0(&b, y, 32);
  EXPECT_EQ(b.d, 0x8000);
  for (int j = 0; j < 16; ++j) EXPECT_EQ(b.q[j], 0x88);
}

TEST(QuantLayout, RowGroupsInterleaveGroupsOfFour) {
  // Row i's weight j is i * 32 + j - 128 (q8_0, d = 1) / its nibble pattern (q4_0).
  BlockQ8_0 rows8[kRowGroup];
  BlockQ4_0 rows4[kRowGroup];
  const BlockQ8_0* p8[kRowGroup];
  const BlockQ4_0* p4[kRowGroup];
  for (int i = 0; i < kRowGroup; ++i) {
    rows8[i].d = static_cast<uint16_t>(0x3c00 + i);
    rows4[i].d = static_cast<uint16_t>(0x4000 + i);
    for (int j = 0; j < 32; ++j) rows8[i].q[j] = static_cast<int8_t>(i * 16 + j - 64);
    for (int j = 0; j < 16; ++j) rows4[i].q[j] = static_cast<uint8_t>(i * 16 + j);
    p8[i] = &rows8[i];
    p4[i] = &rows4[i];
  }
  BlockQ8_0x8 g8;
  BlockQ4_0x8 g4;
  pack_rows(&g8, p8, 1);
  pack_rows(&g4, p4, 1);
  EXPECT_EQ(g8.d[3], 0x3c03);
  EXPECT_EQ(g4.d[5], 0x4005);
  // q8_0_r8: byte 32 g + 4 i + k is row i's weight 4 g + k, offset by 128.
  EXPECT_EQ(g8.q[0], static_cast<uint8_t>(-64 + 128));                   // row 0, weight 0
  EXPECT_EQ(g8.q[4 * 2 + 1], static_cast<uint8_t>(2 * 16 + 1 - 64 + 128));  // row 2, weight 1
  EXPECT_EQ(g8.q[32 * 7 + 4 * 7 + 3], static_cast<uint8_t>(7 * 16 + 31 - 64 + 128));  // row 7, weight 31
  // q4_0_r8: byte 32 c + 4 i + k is row i's byte 4 c + k.
  EXPECT_EQ(g4.q[0], 0);
  EXPECT_EQ(g4.q[32 * 3 + 4 * 6 + 2], 6 * 16 + 14);
}

// The k-quants written by hand from their layout (simd/quant.hpp) and read back through llama.cpp's formulas.
TEST(QuantLayout, Q4_KSixBitScalesAndMins) {
  const int sc[8] = {1, 2, 3, 4, 17, 33, 48, 63}, mn[8] = {0, 1, 2, 63, 16, 5, 40, 62};
  BlockQ4_K b{};
  b.d = 0x3c00;     // 1
  b.dmin = 0x3800;  // 0.5
  for (int j = 0; j < 4; ++j) {  // sub-blocks 0-3 in the low 6 bits; 4-7 split: high 2 bits above them
    b.scales[j] = static_cast<uint8_t>(sc[j] | (sc[j + 4] >> 4) << 6);
    b.scales[j + 4] = static_cast<uint8_t>(mn[j] | (mn[j + 4] >> 4) << 6);
    b.scales[j + 8] = static_cast<uint8_t>((sc[j + 4] & 15) | (mn[j + 4] & 15) << 4);
  }
  for (int g = 0; g < 4; ++g)
    for (int l = 0; l < 32; ++l) b.qs[32 * g + l] = static_cast<uint8_t>((l % 16) | (15 - l % 16) << 4);
  float w[256];
  dequantize_q4_k(w, &b, 256);
  for (int g = 0; g < 4; ++g)
    for (int l = 0; l < 32; ++l) {
      ASSERT_EQ(w[64 * g + l], 1.0f * sc[2 * g] * (l % 16) - 0.5f * mn[2 * g]) << g << " " << l;
      ASSERT_EQ(w[64 * g + 32 + l], 1.0f * sc[2 * g + 1] * (15 - l % 16) - 0.5f * mn[2 * g + 1]) << g << " " << l;
    }
  EXPECT_EQ(w[64 * 3 + 32 + 3], 63.0f * 12 - 31.0f);  // sub-block 7: scale 63, min 62
  EXPECT_EQ(w[64 * 2 + 5], 17.0f * 5 - 8.0f);         // sub-block 4: scale 17, min 16
}

TEST(QuantLayout, Q6_KLowAndHighBits) {
  BlockQ6_K b{};
  b.d = 0x3400;  // 0.25
  for (int i = 0; i < 16; ++i) b.scales[i] = static_cast<int8_t>(i * 9 - 70);
  auto q = [](int i) { return (i * 7 + 3) % 64; };
  for (int h = 0; h < 2; ++h)
    for (int l = 0; l < 32; ++l) {
      const int q1 = q(128 * h + l), q2 = q(128 * h + l + 32), q3 = q(128 * h + l + 64), q4 = q(128 * h + l + 96);
      b.ql[64 * h + l] = static_cast<uint8_t>((q1 & 15) | (q3 & 15) << 4);
      b.ql[64 * h + l + 32] = static_cast<uint8_t>((q2 & 15) | (q4 & 15) << 4);
      b.qh[32 * h + l] = static_cast<uint8_t>((q1 >> 4) | (q2 >> 4) << 2 | (q3 >> 4) << 4 | (q4 >> 4) << 6);
    }
  float w[256];
  dequantize_q6_k(w, &b, 256);
  for (int i = 0; i < 256; ++i)
    ASSERT_EQ(w[i], 0.25f * b.scales[8 * (i / 128) + (i % 128) / 16] * (q(i) - 32)) << i;
  EXPECT_EQ(w[0], 0.25f * -70 * (3 - 32));
  EXPECT_EQ(w[255], 0.25f * (15 * 9 - 70) * ((255 * 7 + 3) % 64 - 32));
}

class QuantKernels : public ::testing::TestWithParam<std::string> {
 protected:
  const Kernels* k = nullptr;
  void SetUp() override {
    k = kernels_for(GetParam());
    if (!k) GTEST_SKIP() << GetParam() << " is not supported by this CPU";
  }
};

std::vector<float> randoms(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& f : v) f = dist(rng);
  return v;
}

TEST_P(QuantKernels, ActivationsQuantizeLikeTheScalarTwin) {
  for (int n : {32, 64, 1536, 8960}) {
    std::vector<float> x = randoms(n, n);
    x[5] = 0.0f;
    std::fill(x.begin(), x.begin() + std::min(n, 64) / 2, 0.0f);  // a zero block
    if (n > 64) x[40] = x[41] * 1000.0f;                          // a block with one outlier
    std::vector<int8_t> q(n), q_ref(n);
    std::vector<float> d(n / 32), d_ref(n / 32);
    std::vector<int32_t> sums(n / 16), sums_ref(n / 16);
    k->quantize_q8(q.data(), d.data(), sums.data(), x.data(), n);
    scalar_kernels().quantize_q8(q_ref.data(), d_ref.data(), sums_ref.data(), x.data(), n);
    EXPECT_EQ(q, q_ref) << n;
    EXPECT_EQ(d, d_ref) << n;
    EXPECT_EQ(sums, sums_ref) << n;
    for (int b = 0; b < n / 32; ++b) {  // the sums of the block's first and last 16
      int first = 0, last = 0;
      for (int i = 0; i < 32; ++i) (i < 16 ? first : last) += q[b * 32 + i];
      ASSERT_EQ(sums[2 * b], first);
      ASSERT_EQ(sums[2 * b + 1], last);
    }
    for (int b = 0; b < n / 32; ++b)  // each value within half a step of its quantized form
      for (int i = 0; i < 32; ++i)
        ASSERT_LE(std::fabs(x[b * 32 + i] - d[b] * q[b * 32 + i]), 0.5f * d[b] * 1.0001f + 1e-30f);
  }
}

// The reference quantizer of each block type, by overload.
void quantize(BlockQ8_0* dst, const float* x, int64_t n) { quantize_q8_0(dst, x, n); }
void quantize(BlockQ4_0* dst, const float* x, int64_t n) { quantize_q4_0(dst, x, n); }
void dequantize(float* dst, const BlockQ8_0* src, int64_t n) { dequantize_q8_0(dst, src, n); }
void dequantize(float* dst, const BlockQ4_0* src, int64_t n) { dequantize_q4_0(dst, src, n); }

// The int8 chunk product of a row-group form (where the table has one; the scalar twin always): m rows of x quantized
// as quantize_q8 does against the n rows of `packed` (wd: their values as f32), C with a stride (what lies past n
// untouched), over a sub-range of k blocks as lib/gemm.cpp calls it per k block, with and without accumulating;
// against a double sum of the values times the int8 x.
template <class Group>
void check_chunk(const Kernels& k, Kernels::GemmR8 gemm, Kernels::GemmR8 gemm_ref, const std::vector<Group>& packed,
                 const std::vector<float>& wd, int n, int cols) {
  const int nb = cols / 32, ldc = n + 3, b0 = nb / 4, kb = std::max(1, nb - b0 - nb / 8);
  for (const int m : {1, 11}) {
    const std::vector<float> x = randoms(static_cast<size_t>(m) * cols, m + cols, 3.0f);
    std::vector<int8_t> xq(x.size());
    std::vector<float> xd(x.size() / 32);
    std::vector<int32_t> xs(x.size() / 16);
    for (int i = 0; i < m; ++i)
      scalar_kernels().quantize_q8(xq.data() + i * cols, xd.data() + i * nb, xs.data() + 2 * i * nb,
                                   x.data() + i * cols, cols);
    for (const bool accumulate : {false, true}) {
      std::vector<float> c(static_cast<size_t>(m) * ldc, 0.5f), c_ref(c);
      const int p0 = 32 * b0;
      if (gemm)
        gemm(c.data(), ldc, xq.data() + p0, cols, xd.data() + b0, xs.data() + 2 * b0, nb, packed.data() + b0, nb, m,
             n, 32 * kb, accumulate);
      gemm_ref(c_ref.data(), ldc, xq.data() + p0, cols, xd.data() + b0, xs.data() + 2 * b0, nb, packed.data() + b0, nb,
               m, n, 32 * kb, accumulate);
      for (int i = 0; i < m; ++i) {
        for (int j = 0; j < n; ++j) {
          double sum = accumulate ? 0.5 : 0.0, mag = std::fabs(sum);
          for (int p = p0; p < p0 + 32 * kb; ++p) {
            const double t = static_cast<double>(wd[static_cast<size_t>(j) * cols + p]) * xd[i * nb + p / 32] *
                             xq[static_cast<size_t>(i) * cols + p];
            sum += t;
            mag += std::fabs(t);
          }
          const double bound = 4 * (kb + 4) * std::ldexp(1.0, -24) * mag + 1e-30;
          const size_t at = static_cast<size_t>(i) * ldc + j;
          if (gemm) {
            EXPECT_LE(std::fabs(c[at] - sum), bound) << k.isa << " chunk " << n << "x" << cols << " " << i;
          }
          EXPECT_LE(std::fabs(c_ref[at] - sum), bound) << "scalar chunk " << n << "x" << cols << " " << i << "," << j;
        }
        for (int j = n; j < ldc; ++j) {
          if (gemm) {
            ASSERT_EQ(c[static_cast<size_t>(i) * ldc + j], 0.5f) << "past n: " << j;
          }
          ASSERT_EQ(c_ref[static_cast<size_t>(i) * ldc + j], 0.5f) << "past n: " << j;
        }
      }
    }
  }
}

// rows x cols weights quantized to Block; the kernel's product against a double sum of the dequantized weights times
// the quantized x, and against the scalar twin; the widened tile bit for bit against the scalar twin's.
template <class Block, class Group>
void check_type(const Kernels& k, Kernels::MatvecQ mv, Kernels::MatvecQ mv_ref, Kernels::WidenQ widen,
                Kernels::WidenQ widen_ref, Kernels::MatvecR8 mv8, Kernels::MatvecR8 mv8_ref, Kernels::WidenR8 widen8,
                Kernels::WidenR8 widen8_ref, Kernels::GemmR8 gemm8, Kernels::GemmR8 gemm8_ref) {
  struct Shape {
    int rows, cols;
  };
  for (const Shape s : {Shape{1, 32}, Shape{3, 64}, Shape{8, 96}, Shape{9, 1536}, Shape{37, 256}, Shape{16, 8960},
                        Shape{24, 32}}) {
    const int nb = s.cols / 32;
    std::vector<float> wf = randoms(static_cast<size_t>(s.rows) * s.cols, s.rows * 7 + s.cols, 0.05f);
    for (int c = 0; c < 32 && s.rows > 2; ++c) wf[2 * s.cols + c] = 0.0f;  // a zero block
    std::vector<Block> w(static_cast<size_t>(s.rows) * nb);
    quantize(w.data(), wf.data(), static_cast<int64_t>(wf.size()));
    std::vector<float> wd(wf.size());
    dequantize(wd.data(), w.data(), static_cast<int64_t>(wf.size()));
    const std::vector<float> x = randoms(s.cols, s.cols, 3.0f);
    std::vector<int8_t> xq(s.cols);
    std::vector<float> xd(nb);
    std::vector<int32_t> xs(2 * nb);
    scalar_kernels().quantize_q8(xq.data(), xd.data(), xs.data(), x.data(), s.cols);

    std::vector<float> out(s.rows), ref(s.rows);
    mv(out.data(), w.data(), xq.data(), xd.data(), s.rows, s.cols);
    mv_ref(ref.data(), w.data(), xq.data(), xd.data(), s.rows, s.cols);
    for (int r = 0; r < s.rows; ++r) {
      double sum = 0, mag = 0;
      for (int c = 0; c < s.cols; ++c) {
        const double t = static_cast<double>(wd[static_cast<size_t>(r) * s.cols + c]) * xd[c / 32] * xq[c];
        sum += t;
        mag += std::fabs(t);
      }
      const double bound = (nb + 4) * std::ldexp(1.0, -24) * mag + 1e-30;
      EXPECT_LE(std::fabs(out[r] - sum), bound) << k.isa << " " << s.rows << "x" << s.cols << " row " << r;
      EXPECT_LE(std::fabs(ref[r] - sum), bound) << "scalar " << s.rows << "x" << s.cols << " row " << r;
    }

    std::vector<uint16_t> tile(static_cast<size_t>(nb) * 32), tile_ref(tile.size());
    widen(tile.data(), w.data() + nb * (s.rows - 1), nb);
    widen_ref(tile_ref.data(), w.data() + nb * (s.rows - 1), nb);
    EXPECT_EQ(tile, tile_ref) << k.isa << " " << s.cols;
    for (int c = 0; c < s.cols; ++c)  // and it is the dequantized weight, rounded to bf16
      ASSERT_EQ(tile[c], f32_to_bf16(wd[static_cast<size_t>(s.rows - 1) * s.cols + c]));

    // The row-group form of the same weights (whole groups of 8 rows): the same products and tiles.
    const int groups = s.rows / kRowGroup;
    if (groups == 0) continue;
    std::vector<Group> packed(static_cast<size_t>(groups) * nb);
    for (int g = 0; g < groups; ++g) {
      const Block* rows[kRowGroup];
      for (int i = 0; i < kRowGroup; ++i) rows[i] = w.data() + static_cast<size_t>(g * kRowGroup + i) * nb;
      pack_rows(packed.data() + static_cast<size_t>(g) * nb, rows, nb);
      for (int i = 0; i < kRowGroup; ++i) {  // and each row comes back out as it went in
        std::vector<Block> back(nb);
        unpack_row(back.data(), packed.data() + static_cast<size_t>(g) * nb, i, nb);
        ASSERT_EQ(std::memcmp(back.data(), rows[i], nb * sizeof(Block)), 0) << "group " << g << " row " << i;
      }
    }
    const int grouped = groups * kRowGroup;
    std::vector<float> out8(grouped), ref8(grouped);
    mv8(out8.data(), packed.data(), xq.data(), xd.data(), xs.data(), grouped, s.cols);
    mv8_ref(ref8.data(), packed.data(), xq.data(), xd.data(), xs.data(), grouped, s.cols);
    for (int r = 0; r < grouped; ++r) {
      double mag = 0;
      for (int c = 0; c < s.cols; ++c)
        mag += std::fabs(static_cast<double>(wd[static_cast<size_t>(r) * s.cols + c]) * xd[c / 32] * xq[c]);
      const double bound = 2 * (nb + 4) * std::ldexp(1.0, -24) * mag + 1e-30;
      EXPECT_LE(std::fabs(out8[r] - ref[r]), bound) << k.isa << " r8 " << s.rows << "x" << s.cols << " row " << r;
      EXPECT_LE(std::fabs(ref8[r] - ref[r]), bound) << "scalar r8 " << s.rows << "x" << s.cols << " row " << r;
    }
    const int ld = s.cols + 5;
    std::vector<uint16_t> tile8(static_cast<size_t>(kRowGroup) * ld), tile8_ref(tile8.size());
    widen8(tile8.data(), ld, packed.data(), nb);
    widen8_ref(tile8_ref.data(), ld, packed.data(), nb);
    for (int i = 0; i < kRowGroup; ++i)
      for (int c = 0; c < s.cols; ++c) {
        const uint16_t want = f32_to_bf16(wd[static_cast<size_t>(i) * s.cols + c]);
        ASSERT_EQ(tile8[static_cast<size_t>(i) * ld + c], want) << k.isa << " row " << i << " col " << c;
        ASSERT_EQ(tile8_ref[static_cast<size_t>(i) * ld + c], want) << "scalar row " << i << " col " << c;
      }
    check_chunk(k, gemm8, gemm8_ref, packed, wd, grouped, s.cols);
  }
}

TEST_P(QuantKernels, Q8_0ProductsAndTiles) {
  const Kernels& s = scalar_kernels();
  check_type<BlockQ8_0, BlockQ8_0x8>(*k, k->matvec_q8_0, s.matvec_q8_0, k->widen_q8_0, s.widen_q8_0,
                                     k->matvec_q8_0_r8, s.matvec_q8_0_r8, k->widen_q8_0_r8, s.widen_q8_0_r8,
                                     k->gemm_q8_0_r8, s.gemm_q8_0_r8);
}

TEST_P(QuantKernels, Q4_0ProductsAndTiles) {
  const Kernels& s = scalar_kernels();
  check_type<BlockQ4_0, BlockQ4_0x8>(*k, k->matvec_q4_0, s.matvec_q4_0, k->widen_q4_0, s.widen_q4_0,
                                     k->matvec_q4_0_r8, s.matvec_q4_0_r8, k->widen_q4_0_r8, s.widen_q4_0_r8,
                                     k->gemm_q4_0_r8, s.gemm_q4_0_r8);
}

// The k-quants' row-group forms: random super-blocks (any bytes, scales made finite: d set by `scale`) regrouped;
// each row comes back as the file's values within `unpack_bound` (q6_K: exactly; q4_K: up to the f16 rounding of
// d * scale and dmin * min); the products against a double sum of those values times the int8 x, the tiles bit for bit
// as those values rounded to bf16.
template <class Block, class Group>
void check_k_group(const Kernels& k, Kernels::MatvecR8 matvec, Kernels::MatvecR8 matvec_ref, Kernels::WidenR8 widen,
                   Kernels::WidenR8 widen_ref, Kernels::GemmR8 gemm, Kernels::GemmR8 gemm_ref,
                   void (*dequantize)(float*, const Block*, int64_t), void (*scale)(Block&, uint32_t),
                   float unpack_bound) {
  for (const int cols : {256, 1536}) {
    const int rows = 16, nb = cols / 32, ns = cols / 256;
    std::vector<Block> q(static_cast<size_t>(rows) * ns);
    uint32_t x = 99;
    for (Block& b : q) {
      auto* bytes = reinterpret_cast<uint8_t*>(&b);
      for (size_t i = 0; i < sizeof b; ++i) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        bytes[i] = static_cast<uint8_t>(x >> 24);
      }
      scale(b, x);
    }
    std::vector<float> exact(static_cast<size_t>(rows) * cols);
    dequantize(exact.data(), q.data(), static_cast<int64_t>(exact.size()));
    std::vector<Group> packed(static_cast<size_t>(rows / 8) * nb);
    std::vector<float> wd(exact.size());
    for (int g = 0; g < rows / 8; ++g) {
      const Block* r8[8];
      for (int i = 0; i < 8; ++i) r8[i] = q.data() + static_cast<size_t>(g * 8 + i) * ns;
      pack_rows(packed.data() + static_cast<size_t>(g) * nb, r8, ns);
      for (int i = 0; i < 8; ++i) unpack_row_f32(wd.data() + static_cast<size_t>(g * 8 + i) * cols,
                                                 packed.data() + static_cast<size_t>(g) * nb, i, nb);
    }
    for (size_t i = 0; i < wd.size(); ++i) ASSERT_LE(std::fabs(wd[i] - exact[i]), unpack_bound) << i;
    const std::vector<float> xf = randoms(cols, cols + 1, 2.0f);
    std::vector<int8_t> xq(cols);
    std::vector<float> xd(nb);
    std::vector<int32_t> xs(2 * nb);
    scalar_kernels().quantize_q8(xq.data(), xd.data(), xs.data(), xf.data(), cols);
    std::vector<float> out(rows), ref(rows);
    matvec(out.data(), packed.data(), xq.data(), xd.data(), xs.data(), rows, cols);
    matvec_ref(ref.data(), packed.data(), xq.data(), xd.data(), xs.data(), rows, cols);
    for (int r = 0; r < rows; ++r) {
      double sum = 0, mag = 0;
      for (int c = 0; c < cols; ++c) {
        const double t = static_cast<double>(wd[static_cast<size_t>(r) * cols + c]) * xd[c / 32] * xq[c];
        sum += t;
        mag += std::fabs(t);
      }
      const double bound = 4 * (nb + 4) * std::ldexp(1.0, -24) * mag + 1e-30;  // the min / half terms sum apart
      EXPECT_LE(std::fabs(out[r] - sum), bound) << k.isa << " row " << r;
      EXPECT_LE(std::fabs(ref[r] - sum), bound) << "scalar row " << r;
    }
    const int ld = cols + 3;
    std::vector<uint16_t> tile(static_cast<size_t>(8) * ld), tile_ref(tile.size());
    widen(tile.data(), ld, packed.data(), nb);
    widen_ref(tile_ref.data(), ld, packed.data(), nb);
    for (int i = 0; i < 8; ++i)
      for (int c = 0; c < cols; ++c) {
        ASSERT_EQ(tile[static_cast<size_t>(i) * ld + c], f32_to_bf16(wd[static_cast<size_t>(i) * cols + c]));
        ASSERT_EQ(tile_ref[static_cast<size_t>(i) * ld + c], f32_to_bf16(wd[static_cast<size_t>(i) * cols + c]));
      }
    check_chunk(k, gemm, gemm_ref, packed, wd, rows, cols);
  }
}

TEST_P(QuantKernels, Q4_KRowGroupProductsAndTiles) {
  const Kernels& s = scalar_kernels();
  auto scale = [](BlockQ4_K& b, uint32_t x) {
    b.d = f32_to_f16(0.001f * static_cast<float>(x % 7 + 1));
    b.dmin = f32_to_f16(0.002f);
  };
  // d * scale and dmin * min rounded to f16: 2^-11 of each term
  check_k_group<BlockQ4_K, BlockQ4_Kx8>(*k, k->matvec_q4_k_r8, s.matvec_q4_k_r8, k->widen_q4_k_r8, s.widen_q4_k_r8,
                                        k->gemm_q4_k_r8, s.gemm_q4_k_r8, dequantize_q4_k, scale,
                                        std::ldexp(1.0f, -10) * (0.007f * 63 * 15 + 0.002f * 63));
}

TEST_P(QuantKernels, Q6_KRowGroupProductsAndTiles) {
  const Kernels& s = scalar_kernels();
  auto scale = [](BlockQ6_K& b, uint32_t x) { b.d = f32_to_f16(0.0001f * static_cast<float>(x % 7 + 1)); };
  check_k_group<BlockQ6_K, BlockQ6_Kx8>(*k, k->matvec_q6_k_r8, s.matvec_q6_k_r8, k->widen_q6_k_r8, s.widen_q6_k_r8,
                                        k->gemm_q6_k_r8, s.gemm_q6_k_r8, dequantize_q6_k, scale, 0.0f);
}

INSTANTIATE_TEST_SUITE_P(AllIsas, QuantKernels, ::testing::Values("scalar", "avx2", "avx_vnni", "avx512"));

}  // namespace
}  // namespace resa::simd
