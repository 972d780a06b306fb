// RMSNorm, softmax, RoPE (both layouts) and SwiGLU against closed forms worked out by hand.
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "model/config.hpp"
#include "ops.hpp"

namespace resa {
namespace {

const float kPi = 3.14159265358979f;

TEST(Ops, RmsNorm) {
  // x = (3, 4): mean square 12.5, so out = w * x / sqrt(12.5 + eps).
  const std::vector<float> x = {3.0f, 4.0f}, w = {1.0f, 2.0f};
  std::vector<float> out(2);
  rmsnorm(out.data(), x.data(), w.data(), 2, 0.0f);
  EXPECT_NEAR(out[0], 3.0 / std::sqrt(12.5), 1e-6);
  EXPECT_NEAR(out[1], 8.0 / std::sqrt(12.5), 1e-6);
  rmsnorm(out.data(), x.data(), w.data(), 2, 0.5f);  // eps inside the root
  EXPECT_NEAR(out[0], 3.0 / std::sqrt(13.0), 1e-6);
  // Rows are independent.
  const std::vector<float> xx = {3.0f, 4.0f, 0.0f, 2.0f};
  std::vector<float> yy(4);
  rmsnorm_rows(yy.data(), xx.data(), w.data(), 2, 2, 0.0f);
  EXPECT_NEAR(yy[1], 8.0 / std::sqrt(12.5), 1e-6);
  EXPECT_NEAR(yy[2], 0.0, 1e-7);
  EXPECT_NEAR(yy[3], 2.0 * 2.0 / std::sqrt(2.0), 1e-6);
}

TEST(Ops, Softmax) {
  std::vector<float> x = {0.0f, std::log(2.0f), std::log(3.0f)};
  softmax(x.data(), 3);
  EXPECT_NEAR(x[0], 1.0 / 6, 1e-7);
  EXPECT_NEAR(x[1], 2.0 / 6, 1e-7);
  EXPECT_NEAR(x[2], 3.0 / 6, 1e-7);
  std::vector<float> big = {1000.0f, 1000.0f, -1000.0f};  // would overflow exp without the max shift
  softmax(big.data(), 3);
  EXPECT_FLOAT_EQ(big[0], 0.5f);
  EXPECT_FLOAT_EQ(big[1], 0.5f);
  EXPECT_FLOAT_EQ(big[2], 0.0f);
}

TEST(Ops, RopeRotateHalfAndInterleavedPairDifferentElements) {
  // head_dim 4, angles pi/2 (pair 0) and pi (pair 1). A pair (a, b) rotated by t is (a cos t - b sin t,
  // a sin t + b cos t): by pi/2 (a, b) -> (-b, a); by pi -> (-a, -b).
  const float cs[2] = {std::cos(kPi / 2), std::cos(kPi)}, sn[2] = {std::sin(kPi / 2), std::sin(kPi)};
  std::vector<float> half = {1, 2, 3, 4};  // pairs (x0, x2) = (1, 3) and (x1, x3) = (2, 4)
  rope(half.data(), 1, 4, cs, sn, RopeLayout::RotateHalf);
  const float want_half[4] = {-3, -2, 1, -4};
  std::vector<float> inter = {1, 2, 3, 4};  // pairs (x0, x1) = (1, 2) and (x2, x3) = (3, 4)
  rope(inter.data(), 1, 4, cs, sn, RopeLayout::Interleaved);
  const float want_inter[4] = {-2, 1, -3, -4};
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(half[i], want_half[i], 1e-6) << i;
    EXPECT_NEAR(inter[i], want_inter[i], 1e-6) << i;
  }
}

TEST(Ops, RopeMatchesTheHuggingFaceFormula) {
  // transformers: q * cat(cos, cos) + rotate_half(q) * cat(sin, sin), rotate_half(q) = cat(-q[h:], q[:h]).
  const int hd = 8, h = 4;
  std::vector<float> q = {0.3f, -1.2f, 0.7f, 2.0f, -0.5f, 0.9f, 1.1f, -0.4f};
  float cs[h], sn[h];
  for (int i = 0; i < h; ++i) {
    cs[i] = std::cos(0.37f * (i + 1));
    sn[i] = std::sin(0.37f * (i + 1));
  }
  std::vector<float> want(hd);
  for (int i = 0; i < hd; ++i) {
    const float rot = i < h ? -q[i + h] : q[i - h];
    want[i] = q[i] * cs[i % h] + rot * sn[i % h];
  }
  rope(q.data(), 1, hd, cs, sn, RopeLayout::RotateHalf);
  for (int i = 0; i < hd; ++i) EXPECT_NEAR(q[i], want[i], 1e-6) << i;
}

TEST(Ops, RopeScoresDependOnlyOnRelativePosition) {
  // <RoPE(q, m), RoPE(k, n)> is a function of m - n: (m, n) = (5, 2) and (103, 100) agree. Uses the llama3-scaled
  // frequencies, which must keep this property.
  ModelConfig c;
  c.head_dim = 16;
  c.rope.theta = 500000.0f;
  c.rope.type = "llama3";
  c.rope.factor = 8.0f;
  c.rope.original_max_positions = 256;
  const std::vector<float> inv = rope_inv_freq(c);
  auto rotated = [&](std::vector<float> v, int pos) {
    float cs[8], sn[8];
    for (int i = 0; i < 8; ++i) {
      cs[i] = std::cos(static_cast<float>(pos) * inv[i]);
      sn[i] = std::sin(static_cast<float>(pos) * inv[i]);
    }
    rope(v.data(), 1, 16, cs, sn, RopeLayout::RotateHalf);
    return v;
  };
  std::vector<float> q(16), k(16);
  for (int i = 0; i < 16; ++i) {
    q[i] = std::sin(1.0f + i);
    k[i] = std::cos(2.0f * i);
  }
  auto dot = [](const std::vector<float>& a, const std::vector<float>& b) {
    double s = 0;
    for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
    return s;
  };
  EXPECT_NEAR(dot(rotated(q, 5), rotated(k, 2)), dot(rotated(q, 103), rotated(k, 100)), 1e-4);
  EXPECT_GT(std::abs(dot(rotated(q, 5), rotated(k, 2)) - dot(rotated(q, 5), rotated(k, 4))), 1e-3);
}

TEST(Ops, SwiGlu) {
  std::vector<float> gate = {0.0f, 1.0f, -2.0f}, up = {5.0f, 2.0f, 3.0f};
  swiglu(gate.data(), up.data(), 3);
  EXPECT_FLOAT_EQ(gate[0], 0.0f);
  EXPECT_NEAR(gate[1], 2.0 / (1.0 + std::exp(-1.0)), 1e-6);
  EXPECT_NEAR(gate[2], 3.0 * -2.0 / (1.0 + std::exp(2.0)), 1e-6);
}

}  // namespace
}  // namespace resa
