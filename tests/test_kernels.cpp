// Every kernel table this CPU can run, against plain double-precision loops.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "simd/convert.hpp"
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

TEST_P(KernelsTest, AxpyMatchesClosedForm) {
  std::vector<float> a(100);
  for (int i = 0; i < 100; ++i) a[i] = static_cast<float>(i);
  std::vector<float> y(100, 1.0f);
  k->axpy_f32(y.data(), 0.5f, a.data(), 100);
  for (int i = 0; i < 100; ++i) EXPECT_FLOAT_EQ(y[i], 1.0f + 0.5f * i);
}

// ---- Block-sparse attention kernels ------------------------------------------------------------------------------

// Attention of one query over the listed tokens, plainly: scores, max-subtracted softmax in double, weighted values.
// With bf16 = true, as a bf16 cache defines it (simd/vec/attention.inl, Queries): the query rounded to bf16 first, and
// tol[d] bounds what rounding the softmax weights to bf16 may change in out[d]: each weight moves by at most 2^-8 of
// itself, so out[d] by at most 2^-8 sum_t p_t |v_t[d]| / sum_t p_t (the kernels keep the sum of the unrounded
// weights); plus 1e-5 for f32 rounding. K and V hold what the cache holds.
struct Attended {
  std::vector<double> out, tol;
};
Attended attend(const float* q, const std::vector<float>& K, const std::vector<float>& V,
                const std::vector<int>& tokens, int hd, double scale, bool bf16 = false) {
  std::vector<double> s(tokens.size());
  Attended a{std::vector<double>(hd, 0.0), std::vector<double>(hd, 0.0)};
  double mx = -1e300, sum = 0;
  for (size_t i = 0; i < tokens.size(); ++i) {
    double d = 0;
    for (int c = 0; c < hd; ++c) {
      const float qc = bf16 ? bf16_to_f32(f32_to_bf16(q[c])) : q[c];
      d += static_cast<double>(qc) * K[static_cast<size_t>(tokens[i]) * hd + c];
    }
    s[i] = d * scale;
    mx = std::max(mx, s[i]);
  }
  for (double& x : s) sum += (x = std::exp(x - mx));
  for (size_t i = 0; i < tokens.size(); ++i)
    for (int c = 0; c < hd; ++c) {
      const double v = V[static_cast<size_t>(tokens[i]) * hd + c];
      a.out[c] += s[i] / sum * v;
      a.tol[c] += s[i] / sum * std::abs(v);
    }
  for (double& t : a.tol) t = 1e-5 + (bf16 ? std::ldexp(t, -8) : 0.0);
  return a;
}

// The positions of the listed blocks of block_size, the last block ending at len.
std::vector<int> tokens_of(const std::vector<int>& blocks, int block_size, int len) {
  std::vector<int> tokens;
  for (int b : blocks)
    for (int t = b * block_size; t < std::min(b * block_size + block_size, len); ++t) tokens.push_back(t);
  return tokens;
}

std::vector<uint16_t> to_bf16(std::vector<float>& v) {  // rounds v to bf16 in place, returns the bf16 bits
  std::vector<uint16_t> h(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    h[i] = f32_to_bf16(v[i]);
    v[i] = bf16_to_f32(h[i]);
  }
  return h;
}

TEST_P(KernelsTest, BlockScoresAreTheUpperBoundFormula) {
  std::mt19937 rng(2);
  for (int hd : {1, 8, 67}) {
    const int nb = 9;
    auto qbar = random_vector(hd, rng), sum = random_vector(static_cast<size_t>(nb) * 2 * hd, rng);
    auto expect_bound = [&](const std::vector<float>& scores, const char* what) {
      for (int b = 0; b < nb; ++b) {
        double ref = 0;
        for (int d = 0; d < hd; ++d) {
          const double lo = sum[(b * 2) * hd + d], hi = sum[(b * 2 + 1) * hd + d];
          ref += std::max(qbar[d] * lo, qbar[d] * hi);
        }
        EXPECT_NEAR(scores[b], ref, 1e-5 * hd) << what << " hd " << hd << " block " << b;
      }
    };
    std::vector<float> scores(nb);
    k->block_scores_f32(scores.data(), qbar.data(), sum.data(), nb, hd);
    expect_bound(scores, "f32");
    auto sum16 = to_bf16(sum);  // sum now holds the rounded values
    k->block_scores_bf16(scores.data(), qbar.data(), sum16.data(), nb, hd);
    expect_bound(scores, "bf16");
  }
  // By hand: q = (1, -2), min = (-1, 0), max = (3, 1): max(-1, 3) + max(0, -2) = 3.
  const float q[2] = {1, -2}, s[4] = {-1, 0, 3, 1};
  float score = 0;
  k->block_scores_f32(&score, q, s, 1, 2);
  EXPECT_EQ(score, 3.0f);
}

TEST_P(KernelsTest, TopNKeepsTheLargestWithTiesToTheLowerIndex) {
  std::vector<int> out(8), work(8);
  const std::vector<float> scores = {0.5f, 2.0f, 1.0f, 2.0f, -1.0f, 1.0f, 2.0f, 0.0f};
  k->top_n(out.data(), scores.data(), 8, 2, work.data());
  EXPECT_EQ(std::vector<int>(out.begin(), out.begin() + 2), (std::vector<int>{1, 3}));  // 6 ties, loses
  k->top_n(out.data(), scores.data(), 8, 4, work.data());
  EXPECT_EQ(std::vector<int>(out.begin(), out.begin() + 4), (std::vector<int>{1, 2, 3, 6}));  // 2 beats 5
  k->top_n(out.data(), scores.data(), 8, 8, work.data());
  EXPECT_EQ(out, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
  // Random scores with many ties against a full sort.
  std::mt19937 rng(3);
  for (int trial = 0; trial < 50; ++trial) {
    const int m = 1 + trial * 7 % 97, n = 1 + trial % m;
    std::vector<float> sc(m);
    for (float& x : sc) x = static_cast<float>(rng() % 5);
    std::vector<int> idx(m), got(m), w(m);
    for (int i = 0; i < m; ++i) idx[i] = i;
    std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return sc[a] > sc[b]; });
    idx.resize(n);
    std::sort(idx.begin(), idx.end());
    k->top_n(got.data(), sc.data(), m, n, w.data());
    got.resize(n);
    EXPECT_EQ(got, idx) << "m " << m << " n " << n;
  }
}

TEST_P(KernelsTest, SparseAttentionMatchesSoftmaxOverTheSelectedTokens) {
  std::mt19937 rng(4);
  for (int hd : {8, 64, 67}) {
    for (int g : {1, 3, 6}) {
      for (bool bf16 : {false, true}) {
        const int bs = 5, len = 23;  // 5 blocks, the last one partial (3 tokens)
        auto q = random_vector(static_cast<size_t>(g) * hd, rng);
        auto K = random_vector(static_cast<size_t>(25) * hd, rng), V = random_vector(static_cast<size_t>(25) * hd, rng);
        for (float& x : K) x *= 3;  // peaked softmax
        auto K16 = to_bf16(K), V16 = to_bf16(V);
        const std::vector<int> blocks = {0, 2, 4};
        const std::vector<int> tokens = tokens_of(blocks, bs, len);
        std::vector<float> acc(static_cast<size_t>(g) * hd), m(g), l(g);
        const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
        if (bf16)
          k->sparse_attn_bf16(acc.data(), m.data(), l.data(), q.data(), g, K16.data(), V16.data(), blocks.data(), 3,
                              bs, len, hd, scale);
        else
          k->sparse_attn_f32(acc.data(), m.data(), l.data(), q.data(), g, K.data(), V.data(), blocks.data(), 3, bs,
                             len, hd, scale);
        for (int j = 0; j < g; ++j) {
          auto ref = attend(q.data() + j * hd, K, V, tokens, hd, scale, bf16);
          for (int d = 0; d < hd; ++d)
            ASSERT_NEAR(acc[j * hd + d] / l[j], ref.out[d], ref.tol[d]) << "hd " << hd << " g " << g << " bf16 " << bf16;
        }
        // No blocks: the identity of the log-sum-exp merge.
        k->sparse_attn_f32(acc.data(), m.data(), l.data(), q.data(), g, K.data(), V.data(), blocks.data(), 0, bs,
                           len, hd, scale);
        EXPECT_EQ(l[0], 0.0f);
        EXPECT_TRUE(std::isinf(m[0]) && m[0] < 0);
      }
    }
  }
}

TEST_P(KernelsTest, CausalAttentionMatchesPerRowSoftmax) {
  std::mt19937 rng(5);
  for (int hd : {8, 64}) {
    for (int g : {1, 2, 6}) {
      for (bool bf16 : {false, true}) {
        const int n = 7, pos0 = 12, total = pos0 + n, q_stride = g * hd + 3, out_stride = g * hd + 5;
        auto q = random_vector(static_cast<size_t>(n) * q_stride, rng);
        auto K = random_vector(static_cast<size_t>(total) * hd, rng), V = random_vector(static_cast<size_t>(total) * hd, rng);
        auto K16 = to_bf16(K), V16 = to_bf16(V);
        std::vector<float> out(static_cast<size_t>(n) * out_stride, 42.0f);
        const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
        if (bf16)
          k->causal_attn_bf16(out.data(), out_stride, q.data(), q_stride, g, n, pos0, K16.data(), V16.data(), hd, scale);
        else
          k->causal_attn_f32(out.data(), out_stride, q.data(), q_stride, g, n, pos0, K.data(), V.data(), hd, scale);
        for (int i = 0; i < n; ++i) {
          std::vector<int> visible(pos0 + i + 1);
          for (int t = 0; t <= pos0 + i; ++t) visible[t] = t;
          for (int j = 0; j < g; ++j) {
            auto ref = attend(q.data() + i * q_stride + j * hd, K, V, visible, hd, scale, bf16);
            for (int d = 0; d < hd; ++d) ASSERT_NEAR(out[i * out_stride + j * hd + d], ref.out[d], ref.tol[d]);
          }
          for (int d = g * hd; d < out_stride; ++d) EXPECT_EQ(out[i * out_stride + d], 42.0f);  // stride respected
        }
      }
    }
  }
}


// ---- Against the scalar twin: the shapes SIMD code gets wrong (tails of vectors, partial blocks, every group size) --

double relative_gap(float got, float want, double scale) { return std::abs(got - want) / (scale + 1e-30); }

TEST_P(KernelsTest, MatvecMatchesTheScalarTwinOnOddShapes) {
  const Kernels& s = scalar_kernels();
  std::mt19937 rng(11);
  for (int rows : {1, 3, 4, 5, 7, 8, 13, 33})
    for (int cols : {1, 15, 16, 17, 31, 32, 33, 100, 130}) {
      auto W = random_vector(static_cast<size_t>(rows) * cols, rng), x = random_vector(cols, rng);
      std::vector<uint16_t> W16(W.size()), Wh(W.size());
      for (size_t i = 0; i < W.size(); ++i) {
        W16[i] = f32_to_bf16(W[i]);
        Wh[i] = static_cast<uint16_t>(0x3c00 + (i * 2654435761u >> 20) % 0x800);  // f16 in [1, 2)
      }
      std::vector<float> got(rows), want(rows);
      for (int kind = 0; kind < 3; ++kind) {
        if (kind == 0) k->matvec_f32(got.data(), W.data(), x.data(), rows, cols), s.matvec_f32(want.data(), W.data(), x.data(), rows, cols);
        if (kind == 1) k->matvec_bf16(got.data(), W16.data(), x.data(), rows, cols), s.matvec_bf16(want.data(), W16.data(), x.data(), rows, cols);
        if (kind == 2) k->matvec_f16(got.data(), Wh.data(), x.data(), rows, cols), s.matvec_f16(want.data(), Wh.data(), x.data(), rows, cols);
        for (int r = 0; r < rows; ++r)
          ASSERT_LE(relative_gap(got[r], want[r], 2.0 * cols), 1e-6) << rows << "x" << cols << " kind " << kind;
      }
    }
}

TEST_P(KernelsTest, AxpyAndBlockScoresMatchTheScalarTwin) {
  const Kernels& s = scalar_kernels();
  std::mt19937 rng(12);
  for (int n : {1, 7, 8, 15, 16, 17, 63, 64, 65, 127, 128, 129}) {
    auto a = random_vector(n, rng), b = random_vector(n, rng);
    std::vector<float> y1 = a, y2 = a;
    k->axpy_f32(y1.data(), 0.37f, b.data(), n);
    s.axpy_f32(y2.data(), 0.37f, b.data(), n);
    for (int i = 0; i < n; ++i) EXPECT_NEAR(y1[i], y2[i], 1e-6) << "n " << n;  // fused or not: an ulp or so
  }
  for (int hd : {64, 67, 128}) {
    const int nb = 37;
    auto qbar = random_vector(hd, rng), sum = random_vector(static_cast<size_t>(nb) * 2 * hd, rng);
    std::vector<float> got(nb), want(nb);
    k->block_scores_f32(got.data(), qbar.data(), sum.data(), nb, hd);
    s.block_scores_f32(want.data(), qbar.data(), sum.data(), nb, hd);
    for (int b = 0; b < nb; ++b) EXPECT_NEAR(got[b], want[b], 1e-6 * hd);
    auto sum16 = to_bf16(sum);
    k->block_scores_bf16(got.data(), qbar.data(), sum16.data(), nb, hd);
    s.block_scores_bf16(want.data(), qbar.data(), sum16.data(), nb, hd);
    for (int b = 0; b < nb; ++b) EXPECT_NEAR(got[b], want[b], 1e-6 * hd);
  }
}

TEST_P(KernelsTest, SparseAttentionMatchesTheScalarTwinForEveryGroupSize) {
  const Kernels& s = scalar_kernels();
  std::mt19937 rng(13);
  for (int hd : {64, 72, 128})
    for (int g = 1; g <= 8; ++g)
      for (bool bf16 : {false, true})
        for (int bs : {8, 16}) {
          const int len = 21 * bs - 5;  // 21 blocks, the last one partial
          auto q = random_vector(static_cast<size_t>(g) * hd, rng);
          auto K = random_vector(static_cast<size_t>(21) * bs * hd, rng);
          auto V = random_vector(K.size(), rng);
          for (float& x : K) x *= 2;
          auto K16 = to_bf16(K), V16 = to_bf16(V);
          // Runs of consecutive blocks, gaps, and the partial last block.
          const std::vector<int> blocks = {0, 1, 2, 5, 7, 8, 13, 14, 15, 16, 20};
          const int nbl = static_cast<int>(blocks.size());
          const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
          std::vector<float> acc1(static_cast<size_t>(g) * hd), m1(g), l1(g), acc2(acc1.size()), m2(g), l2(g);
          if (bf16) {
            k->sparse_attn_bf16(acc1.data(), m1.data(), l1.data(), q.data(), g, K16.data(), V16.data(), blocks.data(), nbl, bs, len, hd, scale);
            s.sparse_attn_bf16(acc2.data(), m2.data(), l2.data(), q.data(), g, K16.data(), V16.data(), blocks.data(), nbl, bs, len, hd, scale);
          } else {
            k->sparse_attn_f32(acc1.data(), m1.data(), l1.data(), q.data(), g, K.data(), V.data(), blocks.data(), nbl, bs, len, hd, scale);
            s.sparse_attn_f32(acc2.data(), m2.data(), l2.data(), q.data(), g, K.data(), V.data(), blocks.data(), nbl, bs, len, hd, scale);
          }
          const std::vector<int> tokens = tokens_of(blocks, bs, len);
          for (int j = 0; j < g; ++j) {
            // Both round the weights to bf16 (against running maxima of their own): twice the bound of one.
            const Attended ref = attend(q.data() + j * hd, K, V, tokens, hd, scale, bf16);
            ASSERT_NEAR(m1[j], m2[j], 1e-5) << "hd " << hd << " g " << g << " bf16 " << bf16 << " bs " << bs;
            // l and acc are relative to m: compare them at the same reference, and the normalised outputs.
            const float c = std::exp(m1[j] - m2[j]);
            ASSERT_NEAR(l1[j] * c, l2[j], 1e-5 * l2[j]);
            for (int d = 0; d < hd; ++d)
              ASSERT_NEAR(acc1[j * hd + d] / l1[j], acc2[j * hd + d] / l2[j], bf16 ? 2 * ref.tol[d] : 1e-5)
                  << "hd " << hd << " g " << g << " bf16 " << bf16 << " bs " << bs << " d " << d;
          }
        }
}

TEST_P(KernelsTest, CausalAttentionMatchesTheScalarTwin) {
  const Kernels& s = scalar_kernels();
  std::mt19937 rng(14);
  for (int hd : {64, 96, 128})  // 96: a head dim the AVX512_BF16 paths take in three 32-wide chunks
    for (int g : {1, 3, 6, 8})
      for (int n : {1, 7, 40})  // 40 rows x 8 heads: more rows than one pass takes
        for (int pos0 : {0, 5, 100})
          for (bool bf16 : {false, true}) {
            const int total = pos0 + n, stride = g * hd;
            auto q = random_vector(static_cast<size_t>(n) * stride, rng);
            auto K = random_vector(static_cast<size_t>(total) * hd, rng), V = random_vector(K.size(), rng);
            auto K16 = to_bf16(K), V16 = to_bf16(V);
            std::vector<float> got(static_cast<size_t>(n) * stride), want(got.size());
            const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
            if (bf16) {
              k->causal_attn_bf16(got.data(), stride, q.data(), stride, g, n, pos0, K16.data(), V16.data(), hd, scale);
              s.causal_attn_bf16(want.data(), stride, q.data(), stride, g, n, pos0, K16.data(), V16.data(), hd, scale);
            } else {
              k->causal_attn_f32(got.data(), stride, q.data(), stride, g, n, pos0, K.data(), V.data(), hd, scale);
              s.causal_attn_f32(want.data(), stride, q.data(), stride, g, n, pos0, K.data(), V.data(), hd, scale);
            }
            for (int i = 0; i < n; ++i) {
              std::vector<int> visible(pos0 + i + 1);
              for (int t = 0; t <= pos0 + i; ++t) visible[t] = t;
              for (int j = 0; j < g; ++j) {
                const Attended ref = attend(q.data() + i * stride + j * hd, K, V, visible, hd, scale, bf16);
                for (int d = 0; d < hd; ++d) {
                  const size_t at = static_cast<size_t>(i) * stride + j * hd + d;
                  ASSERT_NEAR(got[at], want[at], bf16 ? 2 * ref.tol[d] : 1e-5) << "hd " << hd << " g " << g << " n " << n
                                                                  << " pos0 " << pos0 << " bf16 " << bf16 << " at " << at;
                }
              }
            }
          }
}

TEST_P(KernelsTest, ElementwiseKernelsMatchTheScalarTwin) {
  const Kernels& s = scalar_kernels();
  std::mt19937 rng(15);
  for (int n : {1, 7, 8, 15, 16, 17, 33, 64, 100, 1536}) {
    auto x = random_vector(n, rng), w = random_vector(n, rng);
    for (float& v : x) v *= 4;
    std::vector<float> a(n), b(n);
    k->rmsnorm(a.data(), x.data(), w.data(), n, 1e-6f);
    s.rmsnorm(b.data(), x.data(), w.data(), n, 1e-6f);
    for (int i = 0; i < n; ++i) ASSERT_NEAR(a[i], b[i], 1e-5 * (1 + std::abs(b[i]))) << "rmsnorm n " << n;
    a = x;
    b = x;
    k->softmax(a.data(), n);
    s.softmax(b.data(), n);
    for (int i = 0; i < n; ++i) ASSERT_NEAR(a[i], b[i], 1e-6 + 1e-5 * b[i]) << "softmax n " << n;
    // SwiGLU over gates far into both tails (silu(-100) ~ 0, silu(100) = 100).
    auto up = random_vector(n, rng);
    a = x;
    for (int i = 0; i < n; i += 5) a[i] = i % 2 ? 100.0f : -100.0f;
    b = a;
    k->swiglu(a.data(), up.data(), n);
    s.swiglu(b.data(), up.data(), n);
    for (int i = 0; i < n; ++i) ASSERT_NEAR(a[i], b[i], 1e-5 * (1 + std::abs(b[i]))) << "swiglu n " << n;
  }
  // RoPE, both layouts, a few heads of odd half-dims too.
  for (int hd : {2, 6, 16, 34, 64, 128})
    for (bool interleaved : {false, true}) {
      const int heads = 3;
      auto v = random_vector(static_cast<size_t>(heads) * hd, rng), cs = random_vector(hd / 2, rng),
           sn = random_vector(hd / 2, rng);
      auto a = v, b = v;
      k->rope(a.data(), heads, hd, cs.data(), sn.data(), interleaved);
      s.rope(b.data(), heads, hd, cs.data(), sn.data(), interleaved);
      for (size_t i = 0; i < a.size(); ++i)
        ASSERT_NEAR(a[i], b[i], 1e-6) << "rope hd " << hd << " interleaved " << interleaved;
    }
}

TEST_P(KernelsTest, Bf16ConversionsAreBitExact) {
  const Kernels& s = scalar_kernels();
  std::mt19937 rng(16);
  std::vector<float> x(1000);
  std::uniform_int_distribution<uint32_t> bits;
  for (float& v : x) {
    const uint32_t b = bits(rng);
    std::memcpy(&v, &b, 4);  // every pattern: NaNs, infinities, subnormals
  }
  // Ties (exactly half an ulp of bf16) both ways, the largest finite value, infinities, NaNs with payloads.
  const uint32_t special[] = {0x3f808000u, 0x3f818000u, 0x7f7fffffu, 0x7f800000u, 0xff800000u,
                              0x7fc00001u, 0x7f800001u, 0x00008000u, 0x80018000u, 0};
  for (int i = 0; i < 10; ++i) std::memcpy(&x[i * 7], &special[i], 4);
  for (int n : {1, 9, 16, 31, 1000}) {
    std::vector<uint16_t> a(n), b(n);
    k->f32_to_bf16(a.data(), x.data(), n);
    s.f32_to_bf16(b.data(), x.data(), n);
    ASSERT_EQ(a, b) << "n " << n;
    std::vector<float> fa(n), fb(n);
    k->bf16_to_f32(fa.data(), a.data(), n);
    s.bf16_to_f32(fb.data(), b.data(), n);
    ASSERT_EQ(0, std::memcmp(fa.data(), fb.data(), n * 4)) << "n " << n;
  }
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
