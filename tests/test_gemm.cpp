// The weight products of a chunk (simd/kernels.hpp gemm_*) on every kernel table this CPU runs: against a
// double-precision reference and against the scalar twin, on shapes no tile divides (m, n, k not multiples of any
// tile, k odd, m = 1 and 2), with strides wider than the rows, accumulating or not.
//
// The bounds: every product of two bf16 (or bf16 and f32, or f16 and f32) values is exact in double, so the reference
// is exact up to double rounding; summing k products in f32, in any order, is off by at most gamma_k * sum |x w|
// with gamma_k ~ k * 2^-24 (Higham, Accuracy and Stability, 3.1). Rounding X to bf16 (gemm_bf16's fast mode)
// moves each x by at most 2^-9 |x|, so the product by at most 2^-9 sum |x w| more.
#include <cmath>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include <omp.h>

#include "gemm.hpp"
#include "simd/convert.hpp"
#include "simd/kernels.hpp"

namespace resa::simd {
namespace {

class GemmTest : public ::testing::TestWithParam<std::string> {
 protected:
  const Kernels* k = nullptr;
  void SetUp() override {
    k = kernels_for(GetParam());
    if (!k) GTEST_SKIP() << GetParam() << " is not supported by this CPU";
  }
};

struct Shape {
  int m, n, k;
};
const Shape kShapes[] = {{1, 1, 1},   {1, 7, 33},   {2, 5, 31},   {2, 16, 64},  {3, 9, 65},  {5, 6, 100},
                         {4, 4, 32},  {7, 13, 257}, {13, 17, 1001}, {33, 10, 515}, {6, 35, 17}};

double gamma(int k) { return (k + 2) * std::ldexp(1.0, -24); }

// One random problem, stored with row strides wider than its rows (ld = width + 3) and sentinels around C's block.
struct Problem {
  int m, n, k, ldx, ldw, ldc;
  std::vector<float> x;        // [m][ldx]
  std::vector<uint16_t> xb;    // x rounded to bf16
  std::vector<uint16_t> wb;    // [n][ldw] bf16
  std::vector<uint16_t> wh;    // [n][ldw] f16
  std::vector<float> c0;       // [m][ldc] C before the call (accumulate) and sentinels
};

Problem make_problem(Shape s, std::mt19937& rng) {
  std::normal_distribution<float> d(0.0f, 1.0f);
  Problem p{s.m, s.n, s.k, s.k + 3, s.k + 3, s.n + 3, {}, {}, {}, {}, {}};
  p.x.resize(static_cast<size_t>(p.m) * p.ldx);
  for (float& v : p.x) v = d(rng);
  p.xb.resize(p.x.size());
  for (size_t i = 0; i < p.x.size(); ++i) p.xb[i] = f32_to_bf16(p.x[i]);
  p.wb.resize(static_cast<size_t>(p.n) * p.ldw);
  p.wh.resize(p.wb.size());
  for (size_t i = 0; i < p.wb.size(); ++i) {
    const float w = 0.1f * d(rng);
    p.wb[i] = f32_to_bf16(w);
    p.wh[i] = static_cast<uint16_t>(0x3c00 + (i * 2654435761u >> 20) % 0x800 - (i % 2 ? 0x400 : 0));
  }
  p.c0.resize(static_cast<size_t>(p.m) * p.ldc);
  for (float& v : p.c0) v = d(rng);
  return p;
}

enum class Kind { Bf16, F32Bf16, F32F16 };

// Runs one kernel of table t on p; returns C.
std::vector<float> run(const Kernels& t, Kind kind, const Problem& p, bool accumulate) {
  std::vector<float> c = p.c0;
  switch (kind) {
    case Kind::Bf16: t.gemm_bf16(c.data(), p.ldc, p.xb.data(), p.ldx, p.wb.data(), p.ldw, p.m, p.n, p.k, accumulate); break;
    case Kind::F32Bf16: t.gemm_f32_bf16(c.data(), p.ldc, p.x.data(), p.ldx, p.wb.data(), p.ldw, p.m, p.n, p.k, accumulate); break;
    case Kind::F32F16: t.gemm_f32_f16(c.data(), p.ldc, p.x.data(), p.ldx, p.wh.data(), p.ldw, p.m, p.n, p.k, accumulate); break;
  }
  return c;
}

// The exact product of entry (i, j) and sum |x w|, in double; rounded_x: X as gemm_bf16 sees it.
std::pair<double, double> reference(Kind kind, const Problem& p, int i, int j, bool rounded_x) {
  double sum = 0, abs_sum = 0;
  for (int q = 0; q < p.k; ++q) {
    const size_t xi = static_cast<size_t>(i) * p.ldx + q, wi = static_cast<size_t>(j) * p.ldw + q;
    const double x = rounded_x ? bf16_to_f32(p.xb[xi]) : p.x[xi];
    const double w = kind == Kind::F32F16 ? f16_to_f32(p.wh[wi]) : bf16_to_f32(p.wb[wi]);
    sum += x * w;
    abs_sum += std::abs(x * w);
  }
  return {sum, abs_sum};
}

TEST_P(GemmTest, EveryKernelMatchesTheDoubleReferenceAndTheScalarTwin) {
  ASSERT_TRUE(k->gemm_bf16 && k->gemm_f32_bf16 && k->gemm_f32_f16);
  const Kernels& s = scalar_kernels();
  std::mt19937 rng(7);
  for (Shape shape : kShapes) {
    const Problem p = make_problem(shape, rng);
    for (Kind kind : {Kind::Bf16, Kind::F32Bf16, Kind::F32F16})
      for (bool accumulate : {false, true}) {
        const std::vector<float> got = run(*k, kind, p, accumulate), twin = run(s, kind, p, accumulate);
        const std::string where = "m " + std::to_string(p.m) + " n " + std::to_string(p.n) + " k " +
                                  std::to_string(p.k) + " kind " + std::to_string(static_cast<int>(kind)) +
                                  (accumulate ? " accumulating" : "");
        for (int i = 0; i < p.m; ++i) {
          for (int j = 0; j < p.ldc; ++j) {
            const size_t at = static_cast<size_t>(i) * p.ldc + j;
            if (j >= p.n) {  // outside the block: untouched
              ASSERT_EQ(got[at], p.c0[at]) << where << " wrote column " << j;
              continue;
            }
            auto [ref, abs_sum] = reference(kind, p, i, j, kind == Kind::Bf16);
            const double c0 = accumulate ? p.c0[at] : 0.0;
            const double bound = gamma(p.k) * (abs_sum + std::abs(c0)) + 1e-30;
            ASSERT_LE(std::abs(got[at] - (ref + c0)), bound) << where << " (" << i << ", " << j << ")";
            ASSERT_LE(std::abs(got[at] - twin[at]), 2 * bound) << where << " (" << i << ", " << j << ") vs twin";
          }
        }
      }
  }
}

TEST_P(GemmTest, RoundingTheActivationsToBf16CostsAtMostTwoToTheMinusNine) {
  std::mt19937 rng(8);
  const Problem p = make_problem({9, 11, 999}, rng);
  const std::vector<float> got = run(*k, Kind::Bf16, p, false);
  double worst = 0;
  for (int i = 0; i < p.m; ++i)
    for (int j = 0; j < p.n; ++j) {
      auto [exact, abs_sum] = reference(Kind::F32Bf16, p, i, j, false);
      const double gap = std::abs(got[static_cast<size_t>(i) * p.ldc + j] - exact);
      EXPECT_LE(gap, (std::ldexp(1.0, -9) + gamma(p.k) * 1.01) * abs_sum) << i << ", " << j;
      worst = std::max(worst, gap / abs_sum);
    }
  RecordProperty("worst_relative_gap", std::to_string(worst));
}

TEST_P(GemmTest, Bf16DotOnlyWhereTheCpuHasIt) {
  if (GetParam() == "avx512")
    EXPECT_EQ(k->bf16_dot, cpu_has_avx512_bf16());
  else
    EXPECT_FALSE(k->bf16_dot);
}

INSTANTIATE_TEST_SUITE_P(Isas, GemmTest, ::testing::Values("scalar", "avx2", "avx512"));

// lib/gemm.cpp over the kernel this CPU picks: k in several cache blocks (k > 2048, not a multiple of 32), W's rows in
// several L2 blocks and over two threads, three products of one X in one call (biases, one accumulating), in both
// modes. Reference: double sums of what each mode multiplies (X rounded to bf16 where the fast mode has vdpbf16ps).
TEST(Gemm, CacheBlockedJobsOverThreadsMatchTheDoubleReference) {
  std::mt19937 rng(9);
  std::normal_distribution<float> d(0.0f, 1.0f);
  const int m = 37, k = 4133;
  const int rows[3] = {300, 45, 129};
  std::vector<float> X(static_cast<size_t>(m) * k);
  for (float& v : X) v = d(rng);
  std::vector<std::vector<uint16_t>> W(3);
  std::vector<std::vector<float>> bias(3), Y0(3);
  for (int j = 0; j < 3; ++j) {
    W[j].resize(static_cast<size_t>(rows[j]) * k);
    for (uint16_t& w : W[j]) w = f32_to_bf16(0.05f * d(rng));
    bias[j].resize(rows[j]);
    for (float& b : bias[j]) b = d(rng);
    Y0[j].resize(static_cast<size_t>(m) * (rows[j] + 5));
    for (float& y : Y0[j]) y = d(rng);
  }
  std::vector<uint16_t> xbf(X.size());
  // Both ways of splitting the jobs' rows over the threads (K, V, Q stacked; gate and up alike), on 2 and 3 threads.
  for (const auto& [input, split, threads] :
       {std::tuple{GemmInput::Bf16, JobSplit::Stacked, 2}, std::tuple{GemmInput::F32, JobSplit::Stacked, 2},
        std::tuple{GemmInput::Bf16, JobSplit::Alike, 2}, std::tuple{GemmInput::Bf16, JobSplit::Alike, 3}}) {
    const bool rounded = input == GemmInput::Bf16 && kernels().bf16_dot;
    std::vector<std::vector<float>> Y = Y0;
    Mat mats[3];
    GemmJob jobs[3];
    for (int j = 0; j < 3; ++j) {
      mats[j] = Mat{W[j].data(), DType::BF16, rows[j], k};
      jobs[j] = GemmJob{Y[j].data(), rows[j] + 5, &mats[j], j == 1 ? nullptr : bias[j].data(), j == 2};
    }
    gemm(jobs, 3, X.data(), m, input, GemmScratch{xbf.data(), threads}, split);
    for (int j = 0; j < 3; ++j)
      for (int i = 0; i < m; ++i)
        for (int r = 0; r < rows[j] + 5; ++r) {
          const size_t at = static_cast<size_t>(i) * (rows[j] + 5) + r;
          if (r >= rows[j]) {
            ASSERT_EQ(Y[j][at], Y0[j][at]) << "job " << j << " wrote past its rows";
            continue;
          }
          double want = j == 2 ? Y0[j][at] : 0.0, abs_sum = std::abs(want);
          if (j != 1) want += bias[j][r], abs_sum += std::abs(bias[j][r]);
          for (int p = 0; p < k; ++p) {
            const float x = X[static_cast<size_t>(i) * k + p];
            const double xv = rounded ? bf16_to_f32(f32_to_bf16(x)) : x;
            const double t = xv * bf16_to_f32(W[j][static_cast<size_t>(r) * k + p]);
            want += t;
            abs_sum += std::abs(t);
          }
          ASSERT_LE(std::abs(Y[j][at] - want), gamma(k + 2) * abs_sum)
              << "job " << j << " (" << i << ", " << r << ") input " << static_cast<int>(input) << " split "
              << static_cast<int>(split) << " threads " << threads;
        }
  }
}

}  // namespace
}  // namespace resa::simd
