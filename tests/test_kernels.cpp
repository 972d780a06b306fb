// Every kernel table this CPU can run, against plain double-precision loops.
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "simd/kernels.hpp"

namespace resa::simd {
namespace {

std::vector<float> random_vector(size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

class KernelsTest : public ::testing::TestWithParam<std::string> {
 protected:
  const Kernels* k = nullptr;
  void SetUp() override {
    k = kernels_for(GetParam());
    if (!k) GTEST_SKIP() << GetParam() << " is not in this build or not supported by this CPU";
  }
};

TEST_P(KernelsTest, MatvecMatchesDoubleReference) {
  std::mt19937 rng(1);
  for (auto [rows, cols] : {std::pair{1, 1}, {7, 13}, {64, 64}, {33, 200}}) {
    auto W = random_vector(static_cast<size_t>(rows) * cols, rng), x = random_vector(cols, rng);
    std::vector<float> out(rows);
    k->matvec_f32(out.data(), W.data(), x.data(), rows, cols);
    for (int r = 0; r < rows; ++r) {
      double ref = 0;
      for (int c = 0; c < cols; ++c) ref += static_cast<double>(W[r * cols + c]) * x[c];
      EXPECT_NEAR(out[r], ref, 1e-5 * cols) << rows << "x" << cols << " row " << r;
    }
  }
}

TEST_P(KernelsTest, DotAndAxpyMatchClosedForms) {
  // sum_{i<n} i * 2 = n(n-1)
  std::vector<float> a(100), b(100, 2.0f);
  for (int i = 0; i < 100; ++i) a[i] = static_cast<float>(i);
  EXPECT_FLOAT_EQ(k->dot_f32(a.data(), b.data(), 100), 9900.0f);
  EXPECT_FLOAT_EQ(k->dot_f32(a.data(), b.data(), 0), 0.0f);
  std::vector<float> y(100, 1.0f);
  k->axpy_f32(y.data(), 0.5f, a.data(), 100);
  for (int i = 0; i < 100; ++i) EXPECT_FLOAT_EQ(y[i], 1.0f + 0.5f * i);
}

INSTANTIATE_TEST_SUITE_P(AllIsas, KernelsTest, ::testing::Values("scalar", "avx2", "avx512"));

TEST(Dispatch, KnowsItsTables) {
  ASSERT_NE(kernels_for("scalar"), nullptr);
  EXPECT_EQ(std::string(kernels_for("scalar")->isa), "scalar");
  EXPECT_EQ(kernels_for("no-such-isa"), nullptr);
  EXPECT_NE(kernels().isa, nullptr);
}

}  // namespace
}  // namespace resa::simd
