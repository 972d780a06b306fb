// resa bench (include/resa/bench.hpp): the synthetic fill keeps the cache's invariants, the bytes a tg row reports
// equal a closed form of the config, depth and policy, the time split covers the step, and bad options are errors.
#include <cmath>
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "attention/lagkv.hpp"
#include "attention/sparse_select.hpp"
#include "bench/kv_fill.hpp"
#include "kv_cache.hpp"
#include "model/model.hpp"
#include "resa/bench.hpp"
#include "resa/resa.hpp"
#include "simd/convert.hpp"
#include "test_helpers.hpp"

namespace resa {
namespace {

// A Qwen2-style config (q/k/v biases, tied embeddings) small enough for a test and large enough that a step takes
// a measurable time; 128 positions, so depths beyond them exercise the synthetic model's allowance.
const char* kConfig = R"({
  "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 256, "intermediate_size": 512,
  "num_hidden_layers": 3, "num_attention_heads": 8, "num_key_value_heads": 2, "vocab_size": 1000,
  "max_position_embeddings": 128, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": true,
  "initializer_range": 0.02, "torch_dtype": "bfloat16"})";

struct Tiny {
  test::TempDir dir;
  Model model;
  Tiny() {
    test::write_file(dir.file("config.json"), kConfig);
    model = synthetic_model(dir.file("config.json"), 7);
  }
  const ModelConfig& config() const { return model.data->config; }
};

BenchMachine fake_machine() {  // the limits rows are shares of; no measurement needed for these tests
  BenchMachine m;
  m.read_gb_per_s = 10;
  m.fma_gflops = 100;
  m.threads = 1;
  return m;
}

TEST(SyntheticModel, HasTheConfigsShapeAndScale) {
  Tiny t;
  const ModelData& m = *t.model.data;
  EXPECT_TRUE(m.synthetic);
  EXPECT_FALSE(m.tokenizer.has_value());
  ASSERT_EQ(m.weights.layers.size(), 3u);
  const Mat& wq = m.weights.layers[1].wq;
  EXPECT_EQ(wq.dtype, DType::BF16);
  EXPECT_EQ(wq.rows, 256);
  EXPECT_EQ(wq.cols, 256);
  EXPECT_EQ(m.weights.lm_head.data, m.weights.token_embedding.data);  // tied
  ASSERT_NE(m.weights.layers[0].bq, nullptr);
  // Uniform with standard deviation 0.02: |w| < 0.02 * sqrt(3), and the sample spread within 2 % of 0.02.
  const uint16_t* w = static_cast<const uint16_t*>(wq.data);
  double sq = 0;
  for (int64_t i = 0; i < wq.rows * wq.cols; ++i) {
    const float x = simd::bf16_to_f32(w[i]);
    ASSERT_LE(std::abs(x), 0.02f * std::sqrt(3.0f) * 1.004f);
    sq += static_cast<double>(x) * x;
  }
  EXPECT_NEAR(std::sqrt(sq / (wq.rows * wq.cols)), 0.02, 0.02 * 0.02);
}

TEST(SyntheticModel, MissingConfigIsAnError) {
  EXPECT_THROW(synthetic_model("/nonexistent/config.json"), Error);
}

// The synthetic fill leaves every block summary equal to the element-wise min/max of its keys, and draws keys and
// values at the statistics it was given.
TEST(SyntheticFill, SummariesAreTheMinMaxOfTheirKeysAndValuesFollowTheStatistics) {
  for (DType dt : {DType::F32, DType::BF16}) {
    ModelConfig c;
    c.n_layers = 2;
    c.n_heads = 4;
    c.n_kv_heads = 2;
    c.head_dim = 8;
    KvCache kv = make_kv_cache(c, 1000, dt, 16);
    KvStatistics st;
    const int kv_dim = c.kv_dim();
    for (auto* v : {&st.k_mean, &st.k_sd, &st.v_mean, &st.v_sd}) v->resize(static_cast<size_t>(c.n_layers) * kv_dim);
    for (int i = 0; i < c.n_layers * kv_dim; ++i) {
      st.k_mean[i] = 0.1f * (i % 7) - 0.3f;
      st.k_sd[i] = 0.5f + 0.25f * (i % 3);
      st.v_mean[i] = -0.05f * (i % 5);
      st.v_sd[i] = 1.0f + 0.1f * (i % 4);
    }
    fill_kv_synthetic(kv, st, 0, 37, 1);     // two fills meeting inside a block, as a prefill then a fill do
    fill_kv_synthetic(kv, st, 37, 997, 2);
    std::vector<float> k(997 * c.head_dim), v(k.size());
    for (int l = 0; l < c.n_layers; ++l)
      for (int h = 0; h < c.n_kv_heads; ++h) {
        kv.load(l, h, 997, k.data(), v.data());
        std::vector<float> sum(kv.n_blocks * 2 * c.head_dim);
        to_f32(sum.data(), kv.summaries(l, h), dt, sum.size());
        for (int b = 0; b * 16 < 997; ++b)
          for (int d = 0; d < c.head_dim; ++d) {
            float lo = INFINITY, hi = -INFINITY;
            for (int t = b * 16; t < std::min(997, b * 16 + 16); ++t) {
              lo = std::min(lo, k[static_cast<size_t>(t) * c.head_dim + d]);
              hi = std::max(hi, k[static_cast<size_t>(t) * c.head_dim + d]);
            }
            ASSERT_EQ(sum[(b * 2) * c.head_dim + d], lo) << "block " << b << " channel " << d;
            ASSERT_EQ(sum[(b * 2 + 1) * c.head_dim + d], hi) << "block " << b << " channel " << d;
          }
        // Sample statistics of 997 draws: the mean within 4 standard errors, the spread within 10 %.
        for (int d = 0; d < c.head_dim; ++d) {
          const int at = l * kv_dim + h * c.head_dim + d;
          double s = 0, q = 0;
          for (int t = 0; t < 997; ++t) {
            s += k[static_cast<size_t>(t) * c.head_dim + d];
            q += k[static_cast<size_t>(t) * c.head_dim + d] * k[static_cast<size_t>(t) * c.head_dim + d];
          }
          const double mean = s / 997, sd = std::sqrt(q / 997 - mean * mean);
          EXPECT_NEAR(mean, st.k_mean[at], 4 * st.k_sd[at] / std::sqrt(997.0));
          EXPECT_NEAR(sd, st.k_sd[at], 0.1 * st.k_sd[at]);
        }
      }
    // kv_statistics measures them back.
    const KvStatistics back = kv_statistics(kv, 997);
    for (int i = 0; i < c.n_layers * kv_dim; ++i) {
      EXPECT_NEAR(back.v_mean[i], st.v_mean[i], 4 * st.v_sd[i] / std::sqrt(997.0));
      EXPECT_NEAR(back.v_sd[i], st.v_sd[i], 0.1 * st.v_sd[i]);
    }
  }
}

// The bytes a tg step reads, in closed form (include/resa/bench.hpp): every weight matrix once and the token's
// embedding row; per layer and KV head the keys and values attention reads (dense: all len positions; sparse: the
// selected blocks' tokens and, when not all blocks are kept, every block's summary); under ReSA, each pass re-reads
// the matrices of every layer but the last (which stops after its K and V projections; no LM head), the f embedding
// rows, and per KV head of every layer but the last the positions up to each 32-row chunk's end.
// Did the step attending over len positions leave blocks out (outside the dense regime)?
bool step_left_blocks_out(const AttentionOptions& o, int len) {
  const int blocks = (len + o.block_size - 1) / o.block_size;
  return sparse_budget(blocks, o) < blocks;
}

// Does the rectify pass due after step i (0-based) of a tg run at depth run, i.e. did a step of its window leave
// blocks out? (Skipped otherwise: see lib/attention/rectifier.hpp.)
bool pass_runs(const AttentionOptions& o, int depth, int i) {
  for (int j = i + 1 - o.rectify_every; j <= i; ++j)
    if (step_left_blocks_out(o, depth + j + 1)) return true;
  return false;
}

double closed_form_bytes(const ModelConfig& c, const Weights& w, const AttentionOptions& o, Attention attn, int depth,
                         int n, double kv_elem) {
  double layer_mats = 0;
  for (const Mat* m : {&w.layers[0].wq, &w.layers[0].wk, &w.layers[0].wv, &w.layers[0].wo, &w.layers[0].w_gate,
                       &w.layers[0].w_up, &w.layers[0].w_down})
    layer_mats += static_cast<double>(m->bytes());
  const double step_weights = c.n_layers * layer_mats + w.lm_head.bytes() + c.dim * 2.0;
  const double row = 2.0 * c.head_dim * kv_elem;  // one token's key and value; also one block's summary
  double total = 0;
  for (int i = 0; i < n; ++i) {
    const int len = depth + i + 1;
    double kv = 0;
    if (attn == Attention::Dense) {
      kv = len * row;
    } else {
      const int blocks = (len + o.block_size - 1) / o.block_size;
      const int keep = sparse_budget(blocks, o);
      const double tokens = static_cast<double>(keep) * o.block_size - (static_cast<double>(blocks) * o.block_size - len);
      kv = tokens * row + (keep < blocks ? blocks * row : 0.0);
    }
    total += step_weights + c.n_layers * c.n_kv_heads * kv;
    if (attn == Attention::Resa && (i + 1) % o.rectify_every == 0 && pass_runs(o, depth, i)) {
      const int f = o.rectify_every, start = depth + i + 1 - f;
      total += (c.n_layers - 1) * layer_mats + w.layers[0].wk.bytes() + w.layers[0].wv.bytes() + f * c.dim * 2.0;
      double causal = 0;
      for (int i0 = 0; i0 < f; i0 += 32) causal += (start + std::min(f, i0 + 32)) * row;
      total += (c.n_layers - 1) * c.n_kv_heads * causal;
    }
  }
  return total / n;
}

TEST(Bench, RowsBytesAndTimeSplit) {
  Tiny t;
  BenchOptions o;
  o.n_prompt = 16;
  o.n_gen = 24;
  o.depths = {300, 0};  // beyond the config's 128 positions: allowed for a synthetic model
  o.policies = {Attention::Dense, Attention::Sparse, Attention::Resa};
  o.attention.block_size = 4;
  o.attention.min_blocks = 4;
  o.attention.sparse_ratio = 0.25;
  o.attention.rectify_every = 8;
  o.repetitions = 2;
  o.threads = 2;
  o.fill = BenchFill::Synthetic;
  const std::vector<BenchRow> rows = run_bench(t.model, o, fake_machine());
  ASSERT_EQ(rows.size(), 12u);  // 2 tests x 2 depths x 3 policies, ordered by test, depth, policy
  const Attention order[] = {Attention::Dense, Attention::Sparse, Attention::Resa};
  for (size_t i = 0; i < rows.size(); ++i) {
    const BenchRow& r = rows[i];
    EXPECT_EQ(r.generation, i >= 6);
    EXPECT_EQ(r.test, i >= 6 ? "tg24" : "pp16");
    EXPECT_EQ(r.depth, (i % 6) < 3 ? 0 : 300);
    EXPECT_EQ(r.attn, order[i % 3]);
    EXPECT_EQ(r.fill, r.depth == 0 ? "-" : "synthetic");
    EXPECT_GT(r.tokens_per_s, 0);
    EXPECT_GT(r.ms_per_token, 0);
    if (!r.generation) {
      EXPECT_GT(r.gflops, 0);
      EXPECT_NEAR(r.peak_share, r.gflops / 100, 1e-12);
      EXPECT_TRUE(std::isnan(r.bytes_per_token));
      EXPECT_EQ(r.bandwidth_gb_per_s, 10);  // the machine's figure: a pp row has no share of it
      continue;
    }
    EXPECT_TRUE(std::isnan(r.gflops));
    const double want = closed_form_bytes(t.config(), t.model.data->weights, o.attention, r.attn, r.depth, o.n_gen, 2);
    EXPECT_NEAR(r.bytes_per_token, want, want * 1e-12) << r.test << " depth " << r.depth << " attn " << int(r.attn);
    EXPECT_NEAR(r.achieved_gb_per_s, r.bytes_per_token * r.tokens_per_s / 1e9, 1e-9);
    // The bandwidth measured around the test (not the machine's 10 GB/s), and the share of it.
    EXPECT_GT(r.bandwidth_gb_per_s, 0);
    EXPECT_NE(r.bandwidth_gb_per_s, 10);
    EXPECT_NEAR(r.bandwidth_share, r.achieved_gb_per_s / r.bandwidth_gb_per_s, 1e-12);
    // Passes due after steps 8, 16, 24. At depth 0 the first two windows lie in the dense regime (up to 4 blocks
    // of 4 = 16 positions, every block is attended): skipped. At depth 300 every step is sparse: all three run.
    const bool resa = r.attn == Attention::Resa;
    EXPECT_EQ(r.rectify_passes, resa ? (r.depth == 0 ? 1 : 3) : 0) << "depth " << r.depth;
    EXPECT_EQ(r.rectify_skipped, resa ? (r.depth == 0 ? 2 : 0) : 0) << "depth " << r.depth;
    EXPECT_EQ(r.ms_rectify > 0, resa);
    EXPECT_EQ(r.ms_select > 0, r.attn != Attention::Dense);
    for (double ms : {r.ms_matmul, r.ms_attention, r.ms_select, r.ms_rectify, r.ms_rest}) EXPECT_GE(ms, 0);
    // The phases cover the step: their sum is the time inside the steps, never more than the wall time per token
    // (their clocks run inside the bench's), and most of it. Not a tight lower bound: a test run beside others can
    // be descheduled between the steps, outside every phase (a 5 % bound failed once that way under ctest -j2).
    const double sum = r.ms_matmul + r.ms_attention + r.ms_select + r.ms_rectify + r.ms_rest;
    EXPECT_LE(sum, r.ms_per_token * (1 + 1e-9)) << r.test << " depth " << r.depth;
    EXPECT_GE(sum, 0.5 * r.ms_per_token) << r.test << " depth " << r.depth;
  }
  // Sparse steps read less than dense ones at depth 300 (19 of 76 blocks).
  EXPECT_LT(rows[10].bytes_per_token, rows[9].bytes_per_token);
}

TEST(Bench, PrefillFillAndFileModelLimits) {
  // A model from a file keeps its maximum positions; the shipped model has 512.
  const Model shipped = load_model(std::string(RESA_MODELS_DIR) + "/stories260K/stories260K.bin");
  BenchOptions o;
  o.n_prompt = 8;
  o.n_gen = 4;
  o.depths = {501};  // 501 + 8 + 4 = 513 positions
  o.repetitions = 1;
  try {
    run_bench(shipped, o, fake_machine());
    FAIL() << "a depth beyond the model's positions ran";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("beyond the model's maximum of 512"), std::string::npos) << e.what();
  }
  o.depths = {40};
  o.policies = {Attention::Dense};
  const std::vector<BenchRow> rows = run_bench(shipped, o, fake_machine());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].fill, "prefill");  // auto: prefill up to 4096
}

// Under LagKV: pp from an empty cache (depth 0) holds the closed form's entries for its prompt; tg continues the cache
// from where it is (repetitions continue one another), by a synthetic fill compressed on the same schedule beyond
// the prefilled part; a prompt test at a depth is refused.
TEST(Bench, LagKvRowsHoldTheCompressedCache) {
  Tiny t;
  BenchOptions o;
  o.n_prompt = 100;
  o.n_gen = 0;
  o.depths = {0};
  o.policies = {Attention::Dense};
  o.attention.prefill = Prefill::LagKv;
  o.attention.lag_sink = 4;
  o.attention.lag_size = 16;
  o.attention.lag_ratio = 0.25;
  o.repetitions = 2;
  std::vector<BenchRow> rows = run_bench(t.model, o, fake_machine());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].kv_tokens, lagkv_length(100, o.attention));
  EXPECT_EQ(rows[0].kv_bytes, static_cast<double>(rows[0].kv_tokens) * kv_bytes_per_token(t.config(), DType::BF16));
  EXPECT_GT(rows[0].gflops, 0);

  o.n_prompt = 0;
  o.n_gen = 8;
  o.depths = {300};
  o.policies = {Attention::Dense, Attention::Resa};
  o.attention.rectify_every = 8;
  o.attention.block_size = 4;
  o.attention.min_blocks = 4;
  o.fill = BenchFill::Synthetic;
  o.bandwidth_per_test = false;  // shares of the machine's figure
  rows = run_bench(t.model, o, fake_machine());
  ASSERT_EQ(rows.size(), 2u);
  for (const BenchRow& r : rows) {
    EXPECT_EQ(r.bandwidth_gb_per_s, 10);
    EXPECT_NEAR(r.bandwidth_share, r.achieved_gb_per_s / 10, 1e-12);
  }
  // Dense: 300 filled, a warm-up step, 2 x 8 steps; then ReSA the same again.
  EXPECT_EQ(rows[0].kv_tokens, lagkv_length(300 + 1 + 16, o.attention));
  EXPECT_EQ(rows[1].kv_tokens, lagkv_length(300 + 2 * (1 + 16), o.attention));
  EXPECT_EQ(rows[1].rectify_passes, 1);
  EXPECT_LT(rows[0].bytes_per_token, closed_form_bytes(t.config(), t.model.data->weights, o.attention,
                                                       Attention::Dense, 300, 8, 1))
      << "reads the compressed cache, not 300 positions";

  o.n_prompt = 8;
  try {
    run_bench(t.model, o, fake_machine());
    ADD_FAILURE() << "pp at a depth ran under LagKV";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("runs at depth 0 only"), std::string::npos) << e.what();
  }
}

TEST(Bench, BadOptionsAreErrors) {
  Tiny t;
  auto error_of = [&](auto change) {
    BenchOptions o;
    o.n_prompt = 4;
    o.n_gen = 2;
    o.repetitions = 1;
    change(o);
    try {
      run_bench(t.model, o, fake_machine());
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error_of([](BenchOptions& o) { o.depths = {0, -1}; }).find("depth (-d) must be >= 0, got -1"),
            std::string::npos);
  EXPECT_NE(error_of([](BenchOptions& o) { o.n_prompt = o.n_gen = 0; }).find("nothing to measure"), std::string::npos);
  EXPECT_NE(error_of([](BenchOptions& o) { o.policies.clear(); }).find("no attention policy"), std::string::npos);
  EXPECT_NE(error_of([](BenchOptions& o) { o.repetitions = 0; }).find("repetitions (-r) must be >= 1"),
            std::string::npos);
  EXPECT_NE(error_of([](BenchOptions& o) { o.attention.block_size = 0; }).find("block"), std::string::npos);
}

}  // namespace
}  // namespace resa
