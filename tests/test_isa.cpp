// End to end on every kernel table this CPU runs: with an f32 KV cache, a prompt's prefill and then decode steps fed
// one token at a time (teacher-forced, so every ISA sees the same tokens) under dense, sparse and resa attention give
// logits within 1e-4 of the scalar table's, on the shipped llama2.c model, the tiny Hugging Face checkpoints (f32 and
// bf16 weights, Qwen2 biases, Llama 3 RoPE) and a synthetic model long enough that decode splits over 2 threads.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <omp.h>

#include "attention/rectifier.hpp"
#include "forward.hpp"
#include "model/model.hpp"
#include "resa/resa.hpp"
#include "simd/kernels.hpp"
#include "synthetic_model.hpp"
#include "attention_helpers.hpp"
#include "test_helpers.hpp"

namespace resa {
namespace {

AttentionOptions biting(Attention attn) { return test::biting_attention(attn); }

// The logits of the prefill of seq[0, P) and of every decode step after it, on the kernel table `isa`.
std::vector<float> run(const ModelData& m, const std::vector<int>& seq, int P, const AttentionOptions& o,
                       const char* isa, int threads) {
  EXPECT_TRUE(simd::use_kernels(isa));
  omp_set_num_threads(threads);
  RunState s = make_run_state(m.config, static_cast<int>(seq.size()), DType::F32, 0, o);
  const int V = m.config.vocab_size;
  const float* l = forward(m, s, seq.data(), P, 0);
  std::vector<float> all(l, l + V);
  const int f = rectify_period(o);
  for (int pos = P; pos < static_cast<int>(seq.size()); ++pos) {
    if (rectify_due(pos - P, f)) rectify(m, s, seq.data(), pos, f);
    l = forward_token(m, s, seq[pos], pos);
    all.insert(all.end(), l, l + V);
  }
  return all;
}

float max_gap(const std::vector<float>& a, const std::vector<float>& b) {
  float worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

class IsaEndToEnd : public ::testing::TestWithParam<std::string> {
 protected:
  void TearDown() override {
    simd::use_kernels(simd::kernels_for("avx512") ? "avx512" : simd::kernels_for("avx2") ? "avx2" : "scalar");
    omp_set_num_threads(1);
  }
  void compare(const ModelData& m, const std::vector<int>& seq, int P, int threads) {
    const std::string isa = GetParam();
    if (!simd::kernels_for(isa)) GTEST_SKIP() << isa << " is not supported by this CPU";
    for (Attention attn : {Attention::Dense, Attention::Sparse, Attention::Resa}) {
      const AttentionOptions o = biting(attn);
      const std::vector<float> want = run(m, seq, P, o, "scalar", threads);
      const std::vector<float> got = run(m, seq, P, o, isa.c_str(), threads);
      ASSERT_EQ(got.size(), want.size());
      EXPECT_LE(max_gap(got, want), 1e-4f) << isa << " attn " << static_cast<int>(attn) << " threads " << threads;
    }
  }
};

std::vector<int> ids(int n, int vocab) {
  std::vector<int> v(n);
  for (int i = 0; i < n; ++i) v[i] = static_cast<int>((i * 7919u + 13) % static_cast<unsigned>(vocab));
  return v;
}

TEST_P(IsaEndToEnd, ShippedModel) {
  Model model = load_model(test::model_path());
  compare(*model.data, ids(120, model.data->config.vocab_size), 20, 1);
}

TEST_P(IsaEndToEnd, TinyCheckpoints) {
  for (const char* name : {"tiny-qwen2-f32", "tiny-qwen2-bf16", "tiny-llama3-f32"}) {
    SCOPED_TRACE(name);
    Model model = load_model(test::data_path(std::string("hf/") + name));
    compare(*model.data, ids(120, model.data->config.vocab_size), 20, 1);
  }
}

TEST_P(IsaEndToEnd, LongContextOnTwoThreads) {
  // 1,100 prompt positions: past the 1,024 from which decode attention splits over the threads.
  auto syn = test::synthetic_model(1200, 1);
  compare(syn->data, ids(1160, syn->data.config.vocab_size), 1100, 2);
}

INSTANTIATE_TEST_SUITE_P(Isas, IsaEndToEnd, ::testing::Values("avx2", "avx_vnni", "avx512"));

}  // namespace
}  // namespace resa
