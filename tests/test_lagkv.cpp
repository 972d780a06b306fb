// LagKV (SPEC §3): the lag-relative scores on every kernel table against a plain double reference, the selection and
// the in-place compaction against that reference, the closed-form cache length through chunked prefill and decoding,
// lag_ratio 1 against dense prefill, and whole generations (dense, sparse, ReSA decoding over the compressed cache)
// against the independent plain model of tests/reference_resa.hpp, token for token.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "attention/lagkv.hpp"
#include "attention_helpers.hpp"
#include "forward.hpp"
#include "generate.hpp"
#include "kv_cache.hpp"
#include "model/load.hpp"
#include "model/model.hpp"
#include "reference_resa.hpp"
#include "resa/resa.hpp"
#include "simd/convert.hpp"
#include "simd/kernels.hpp"
#include "expect_error.hpp"
#include "test_helpers.hpp"

namespace resa {
namespace {

using test::Reference;

std::vector<float> random_rows(int n, int hd, std::mt19937& rng) {
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n) * hd);
  for (float& x : v) x = d(rng);
  return v;
}

std::vector<uint16_t> to_bf16(const std::vector<float>& v) {
  std::vector<uint16_t> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = f32_to_bf16(v[i]);
  return out;
}

std::vector<float> widened(const std::vector<uint16_t>& v) {
  std::vector<float> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = bf16_to_f32(v[i]);
  return out;
}

class LagScores : public ::testing::TestWithParam<std::string> {
 protected:
  const simd::Kernels* k = nullptr;
  void SetUp() override {
    k = simd::kernels_for(GetParam());
    if (!k) GTEST_SKIP() << GetParam() << " is not supported by this CPU";
  }
};

// s^K + s^V from the kernel (f32 and bf16 rows) against Reference::lag_scores in double, on shapes that are no
// vector multiple, a partial reference partition, a constant channel and a channel constant only in the reference.
TEST_P(LagScores, MatchThePlainReferenceOnRandomRows) {
  std::mt19937 rng(5);
  struct Shape { int n, n_ref, hd; };
  for (const Shape sh : {Shape{32, 32, 8}, Shape{128, 128, 128}, Shape{7, 5, 12}, Shape{33, 17, 20}, Shape{16, 16, 64}}) {
    for (int variant = 0; variant < 3; ++variant) {
      std::vector<float> K = random_rows(sh.n + sh.n_ref, sh.hd, rng), V = random_rows(sh.n + sh.n_ref, sh.hd, rng);
      if (variant == 1)  // channel 3 constant everywhere: normalises to 0 in every row
        for (int t = 0; t < sh.n + sh.n_ref; ++t) K[static_cast<size_t>(t) * sh.hd + 3] = 0.75f;
      if (variant == 2)  // channel 1 constant in the reference only: range 0, the partition's rows spread by 1/eps
        for (int t = 0; t < sh.n + sh.n_ref; ++t)
          V[static_cast<size_t>(t) * sh.hd + 1] = t < sh.n ? 0.5f + 0.25f * static_cast<float>(t) : 0.5f;
      for (bool bf16 : {false, true}) {
        std::vector<float> kf = K, vf = V;
        std::vector<uint16_t> kb, vb;
        if (bf16) {
          kb = to_bf16(K), vb = to_bf16(V);
          kf = widened(kb), vf = widened(vb);
        }
        const size_t off = static_cast<size_t>(sh.n) * sh.hd;
        std::vector<double> want = Reference::lag_scores(kf.data(), kf.data() + off, sh.n, sh.n_ref, sh.hd, sh.hd);
        const std::vector<double> wv = Reference::lag_scores(vf.data(), vf.data() + off, sh.n, sh.n_ref, sh.hd, sh.hd);
        for (int i = 0; i < sh.n; ++i) want[i] += wv[i];
        std::vector<float> got(sh.n, 0.0f), work(2 * sh.hd + sh.n);
        if (bf16) {
          k->lag_scores_bf16(got.data(), kb.data(), kb.data() + off, sh.n, sh.n_ref, sh.hd, work.data());
          k->lag_scores_bf16(got.data(), vb.data(), vb.data() + off, sh.n, sh.n_ref, sh.hd, work.data());
        } else {
          k->lag_scores_f32(got.data(), K.data(), K.data() + off, sh.n, sh.n_ref, sh.hd, work.data());
          k->lag_scores_f32(got.data(), V.data(), V.data() + off, sh.n, sh.n_ref, sh.hd, work.data());
        }
        double total = 0;
        for (int i = 0; i < sh.n; ++i) {
          EXPECT_NEAR(got[i], want[i], 1e-4 * want[i] + 1e-7)
              << GetParam() << " n " << sh.n << " hd " << sh.hd << " variant " << variant << " bf16 " << bf16
              << " row " << i;
          total += got[i];
        }
        EXPECT_NEAR(total, 2.0, 1e-5) << "two softmaxes";
      }
    }
  }
}

// Identical rows score identically on any ISA, and the selection keeps the lowest indices among ties.
TEST_P(LagScores, TiesKeepTheLowerIndices) {
  const std::string before = simd::kernels().isa;  // the process's table, restored at the end
  ASSERT_TRUE(simd::use_kernels(GetParam()));
  ModelConfig c;
  c.n_layers = 1;
  c.n_kv_heads = 2;
  c.head_dim = 16;
  AttentionOptions o;
  o.prefill = Prefill::LagKv;
  o.lag_sink = 0;
  o.lag_size = 16;
  o.lag_ratio = 0.25;
  KvCache kv = make_kv_cache(c, 64, DType::F32, 8);
  std::mt19937 rng(9);
  const std::vector<float> row = random_rows(1, 2 * c.head_dim, rng);
  std::vector<float> rows = random_rows(32, 2 * c.head_dim, rng);
  for (int t = 0; t < 16; ++t) std::copy(row.begin(), row.end(), rows.begin() + t * 2 * c.head_dim);  // partition 0
  kv.store(0, 0, 32, rows.data(), rows.data());
  LagKvScratch scratch = make_lagkv_scratch(c.n_kv_heads, c.head_dim, o);
  lagkv_select(kv, 0, 0, o, scratch);
  for (int h = 0; h < 2; ++h)
    for (int i = 0; i < 4; ++i) EXPECT_EQ(scratch.keep[h * 4 + i], i) << "head " << h;
  simd::use_kernels(before);
}

INSTANTIATE_TEST_SUITE_P(AllIsas, LagScores, ::testing::Values("scalar", "avx2", "avx512"));

// A cache of T random tokens compressed in one call: each head keeps, of every partition but the last, the tokens
// the double reference ranks highest against the next partition's original rows, in order; the sink and the last
// partition (and the remainder) whole. Lengths follow the closed form; summaries equal min/max over the compacted keys.
TEST(LagKv, CompressionKeepsWhatThePlainReferenceSelects) {
  ModelConfig c;
  c.n_layers = 2;
  c.n_kv_heads = 2;
  c.head_dim = 12;
  AttentionOptions o;
  o.prefill = Prefill::LagKv;
  o.lag_sink = 5;
  o.lag_size = 16;
  o.lag_ratio = 0.3;  // int(4.8) = 4
  const int T = 5 + 16 * 5 + 7, kv_dim = c.n_kv_heads * c.head_dim, keep = lag_keep(o);
  ASSERT_EQ(keep, 4);
  for (DType dt : {DType::F32, DType::BF16}) {
    KvCache kv = make_kv_cache(c, T, dt, 8);
    std::mt19937 rng(3);
    std::vector<std::vector<float>> K(c.n_layers), V(c.n_layers);
    for (int l = 0; l < c.n_layers; ++l) {
      K[l] = random_rows(T, kv_dim, rng), V[l] = random_rows(T, kv_dim, rng);
      kv.store(l, 0, T, K[l].data(), V[l].data());
      std::vector<float> kr(static_cast<size_t>(T) * c.head_dim), vr(kr.size());
      for (int h = 0; h < c.n_kv_heads; ++h) {  // the rows as the cache holds them (rounded in bf16)
        kv.load(l, h, T, kr.data(), vr.data());
        for (int t = 0; t < T; ++t)
          for (int d = 0; d < c.head_dim; ++d) {
            K[l][static_cast<size_t>(t) * kv_dim + h * c.head_dim + d] = kr[static_cast<size_t>(t) * c.head_dim + d];
            V[l][static_cast<size_t>(t) * kv_dim + h * c.head_dim + d] = vr[static_cast<size_t>(t) * c.head_dim + d];
          }
      }
    }
    LagKvScratch scratch = make_lagkv_scratch(c.n_kv_heads, c.head_dim, o);
    EXPECT_EQ(lagkv_compress(kv, o, scratch), 4);  // 5 full partitions: all but the last
    EXPECT_EQ(kv.length(0), lagkv_length(T, o));
    EXPECT_EQ(kv.length(1), 5 + 4 * 4 + 16 + 7);
    EXPECT_EQ(kv.frozen_entries(0), 5 + 4 * 4);
    EXPECT_EQ(kv.frozen_entries(1), 5 + 4 * 4);
    for (int l = 0; l < c.n_layers; ++l)
      for (int h = 0; h < c.n_kv_heads; ++h) {
        std::vector<int> want;
        for (int t = 0; t < 5; ++t) want.push_back(t);
        for (int p = 0; p < 4; ++p) {
          const int from = 5 + 16 * p;
          const float* base_k = K[l].data() + static_cast<size_t>(from) * kv_dim + h * c.head_dim;
          const float* base_v = V[l].data() + static_cast<size_t>(from) * kv_dim + h * c.head_dim;
          std::vector<double> s = Reference::lag_scores(base_k, base_k + 16 * kv_dim, 16, 16, kv_dim, c.head_dim);
          const std::vector<double> sv =
              Reference::lag_scores(base_v, base_v + 16 * kv_dim, 16, 16, kv_dim, c.head_dim);
          for (int i = 0; i < 16; ++i) s[i] += sv[i];
          std::vector<int> order(16);
          std::iota(order.begin(), order.end(), 0);
          std::sort(order.begin(), order.end(), [&](int a, int b) { return s[a] != s[b] ? s[a] > s[b] : a < b; });
          ASSERT_GT(s[order[keep - 1]] - s[order[keep]], 1e-5) << "a near-tie: pick another seed";
          order.resize(keep);
          std::sort(order.begin(), order.end());
          for (int i : order) want.push_back(from + i);
        }
        for (int t = 5 + 16 * 4; t < T; ++t) want.push_back(t);
        const int32_t* got = kv.positions(l, h);
        ASSERT_EQ(static_cast<int>(want.size()), kv.length(l));
        for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(got[i], want[i]) << "layer " << l << " head " << h;
        // The entries moved with their positions, and the summaries describe the compacted blocks.
        const int n = kv.length(l);
        std::vector<float> kr(static_cast<size_t>(n) * c.head_dim), vr(kr.size());
        kv.load(l, h, n, kr.data(), vr.data());
        std::vector<float> sum(static_cast<size_t>(kv.n_blocks) * 2 * c.head_dim);
        to_f32(sum.data(), kv.summaries(l, h), dt, sum.size());
        for (int e = 0; e < n; ++e)
          for (int d = 0; d < c.head_dim; ++d) {
            ASSERT_EQ(kr[static_cast<size_t>(e) * c.head_dim + d], K[l][static_cast<size_t>(got[e]) * kv_dim + h * c.head_dim + d]);
            ASSERT_EQ(vr[static_cast<size_t>(e) * c.head_dim + d], V[l][static_cast<size_t>(got[e]) * kv_dim + h * c.head_dim + d]);
          }
        for (int b = 0; b * kv.block_size < n; ++b)
          for (int d = 0; d < c.head_dim; ++d) {
            float lo = INFINITY, hi = -INFINITY;
            for (int e = b * kv.block_size; e < std::min(n, (b + 1) * kv.block_size); ++e) {
              lo = std::min(lo, kr[static_cast<size_t>(e) * c.head_dim + d]);
              hi = std::max(hi, kr[static_cast<size_t>(e) * c.head_dim + d]);
            }
            EXPECT_EQ(sum[(static_cast<size_t>(b) * 2) * c.head_dim + d], lo) << "block " << b;
            EXPECT_EQ(sum[(static_cast<size_t>(b) * 2 + 1) * c.head_dim + d], hi) << "block " << b;
          }
      }
  }
}

TEST(LagKv, ClosedFormLengthAndCapacity) {
  AttentionOptions o;
  o.prefill = Prefill::LagKv;  // S 16, L 128, r 0.2: 25 kept
  EXPECT_EQ(lag_keep(o), 25);
  EXPECT_EQ(lagkv_length(0, o), 0);
  EXPECT_EQ(lagkv_length(143, o), 143);                                   // below S + L
  EXPECT_EQ(lagkv_length(16 + 128, o), 16 + 128);                         // n = 1: nothing compressed
  EXPECT_EQ(lagkv_length(16 + 2 * 128, o), 16 + 25 + 128);               // n = 2
  EXPECT_EQ(lagkv_length(16 + 10 * 128 + 77, o), 16 + 25 * 9 + 128 + 77);
  o.lag_ratio = 0.29, o.lag_size = 100;
  EXPECT_EQ(lag_keep(o), 28) << "int(0.29 * 100) in double, truncated";
  o.lag_ratio = 0.2, o.lag_size = 128;
  // Before a compression the chunk (or step) that triggers it is held whole: 2L in the tail.
  EXPECT_EQ(lagkv_capacity(16 + 2 * 128, o), 16 + 2 * 128);
  EXPECT_EQ(lagkv_capacity(16 + 2 * 128 + 5, o), 16 + 2 * 128);
  // 32768 tokens: the last arrives at 32767 - 16 = 255 L + 111, a cache of 16 + 25 * 254 + 128 + 111, plus itself
  // (more than just before the last compression: 16 + 25 * 253 + 2 L).
  EXPECT_EQ(lagkv_capacity(32768, o), 16 + 25 * 254 + 128 + 111 + 1);
  // A context far beyond what a dense cache of the same bytes holds.
  ModelConfig c;
  c.n_layers = 2, c.n_kv_heads = 1, c.head_dim = 8, c.dim = 8, c.n_heads = 1, c.hidden_dim = 8, c.vocab_size = 4;
  RunState s = make_run_state(c, 1 << 20, DType::BF16, 64, o);
  EXPECT_EQ(s.kv.capacity % 16, 0);
  EXPECT_LT(s.kv.capacity, (1 << 20) / 5 + 512) << "about r of the context";
  EXPECT_GE(s.kv.capacity, lagkv_capacity(1 << 20, o));
}

// The cache is sized from the closed form; a write past it (a sizing bug) is an error, never a write out of bounds.
TEST(LagKv, StoringPastTheCapacityIsAnError) {
  ModelConfig c;
  c.n_layers = 1, c.n_kv_heads = 1, c.head_dim = 4;
  KvCache kv = make_kv_cache(c, 16, DType::F32, 8);
  std::vector<float> rows(17 * 4, 1.0f);
  kv.store(0, 0, 16, rows.data(), rows.data());
  test::expect_error([&] { kv.store(0, 16, 1, rows.data(), rows.data()); }, "outside its 16 entries");
}

TEST(LagKv, RejectsSettingsThatBreakTheSchedule) {
  AttentionOptions o;
  o.prefill = Prefill::LagKv;
  o.attn = Attention::Resa;
  o.lag_size = 16;
  o.rectify_every = 32;
  test::expect_error([&] { make_policy(o); }, "--rectify-every 32 exceeds --lag-size 16");
  o.rectify_every = 16;
  EXPECT_NO_THROW(make_policy(o));
  o.lag_ratio = 0;
  test::expect_error([&] { make_policy(o); }, "--lag-ratio must be in (0, 1]");
  o.lag_ratio = 1.5;
  test::expect_error([&] { make_policy(o); }, "--lag-ratio must be in (0, 1]");
  o.lag_ratio = 0.5, o.lag_size = 0;
  test::expect_error([&] { make_policy(o); }, "--lag-size must be at least 1");
}

AttentionOptions lagkv(Attention attn, double ratio) {
  AttentionOptions o = test::biting_attention(attn);
  o.prefill = Prefill::LagKv;
  o.lag_sink = 4;
  o.lag_size = 32;
  o.lag_ratio = ratio;
  return o;
}

// Chunked prefill then decoding, token by token: the cache length equals the closed form after every step, in every
// layer; every head holds its sink, then ascending positions, then the consecutive tail up to the last token.
TEST(LagKv, CacheLengthFollowsTheClosedFormThroughPrefillAndDecoding) {
  const Model model = load_model(test::model_path());
  const ModelData& m = model_data(model);
  for (int threads : {1, 2}) {
    const AttentionOptions o = lagkv(Attention::Resa, 0.25);
    RunState s = make_run_state(m.config, 400, DType::BF16, 0, o, threads);
    std::vector<int> ids(400);
    for (int i = 0; i < 400; ++i) ids[i] = (i * 37 + 11) % m.config.vocab_size;
    forward(m, s, ids.data(), 150, 0);
    for (int pos = 150; pos < 400; ++pos) {
      ASSERT_EQ(s.kv.length(0), lagkv_length(pos, o)) << pos;
      forward_token(m, s, ids[pos], pos);
    }
    for (int l = 0; l < m.config.n_layers; ++l)
      for (int h = 0; h < m.config.n_kv_heads; ++h) {
        ASSERT_EQ(s.kv.length(l), lagkv_length(400, o));
        const int32_t* p = s.kv.positions(l, h);
        for (int i = 0; i < 4; ++i) EXPECT_EQ(p[i], i);
        for (int i = 1; i < s.kv.length(l); ++i) EXPECT_LT(p[i - 1], p[i]);
        EXPECT_EQ(p[s.kv.length(l) - 1], 399);
        EXPECT_EQ(p[s.kv.frozen_entries(l)], 399 - (s.kv.length(l) - 1 - s.kv.frozen_entries(l))) << "the tail is consecutive";
      }
    // Positions LagKV compressed cannot be rewritten; the tail can.
    test::expect_error([&] { forward(m, s, ids.data() + 10, 4, 10); }, "was compressed by LagKV");
  }
}

// lag_ratio 1 keeps every token: the chunked prefill computes what a dense prefill computes.
TEST(LagKv, RatioOneEqualsDensePrefill) {
  const Model model = load_model(test::data_path("hf/tiny-qwen2-f32"));
  const ModelData& m = model_data(model);
  std::vector<int> ids(90);
  for (int i = 0; i < 90; ++i) ids[i] = (i * 53 + 7) % m.config.vocab_size;
  const std::vector<float> dense = prompt_logits(model, ids, KvType::F32);
  AttentionOptions o = lagkv(Attention::Dense, 1.0);
  o.lag_sink = 3, o.lag_size = 8;
  RunState s = make_run_state(m.config, 90, DType::F32, 0, o);
  std::vector<float> got(dense.size());
  forward(m, s, ids.data(), 90, 0, got.data());
  EXPECT_EQ(s.kv.length(0), 90);
  float worst = 0;
  for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::fabs(got[i] - dense[i]));
  EXPECT_LE(worst, 1e-4f);
}

// Greedy generation with a LagKV prefill and decoding dense, sparse or ReSA over the compressed cache equals the
// independent plain model token for token (f32 KV), and compression changes the text.
TEST(LagKv, GreedyGenerationFollowsThePlainReference) {
  const Model model = load_model(test::model_path());
  const ModelData& m = model_data(model);
  const std::vector<int> prompt = tokenize(model, "Once upon a time, there was a little girl named Lily. She loved to "
                                                  "play outside in the park. One day, she saw a big, red ball.");
  const int n = 200;
  GenerateOptions opt;
  opt.n_predict = n;
  opt.threads = 1;
  opt.kv_type = KvType::F32;
  opt.ignore_eos = true;
  opt.sampling.temperature = 0;
  std::vector<int> plain;
  opt.attention = test::biting_attention(Attention::Dense);
  generate_ids(model, prompt, opt, [&](int id, std::string_view) { plain.push_back(id); });
  for (Attention attn : {Attention::Dense, Attention::Sparse, Attention::Resa}) {
    opt.attention = lagkv(attn, 0.25);
    std::vector<int> got;
    const GenerateStats st = generate_ids(model, prompt, opt, [&](int id, std::string_view) { got.push_back(id); });
    Reference ref(m, opt.attention, static_cast<int>(prompt.size()) + n);
    const std::vector<int> want = ref.greedy(prompt, n);
    ASSERT_EQ(got.size(), static_cast<size_t>(n));
    EXPECT_EQ(got, want) << attention_name(attn);
    EXPECT_NE(got, plain) << "compression must change the text";
    EXPECT_EQ(st.kv_tokens, lagkv_length(static_cast<int>(prompt.size()) + n - 1, opt.attention));
    EXPECT_EQ(st.kv_tokens, static_cast<int>(ref.held[0][0].size()));
    if (attn == Attention::Resa) {
      EXPECT_GT(st.rectify_passes, 0);
    }
  }
}

}  // namespace
}  // namespace resa
