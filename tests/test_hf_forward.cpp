// The forward pass on real Hugging Face checkpoints against transformers' float32 logits (tests/data/hf/*):
// batched prefill, chunked prefill and token-by-token decode with f32 and bf16 KV caches, greedy continuations,
// and a sharded copy of a checkpoint.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <cblas.h>
#include <gtest/gtest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "forward.hpp"
#include "model/load.hpp"
#include "model/model.hpp"
#include "resa/resa.hpp"
#include "safetensors_helpers.hpp"
#include "test_helpers.hpp"

namespace resa {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// ../shared/README.md: f32 activations + f32 KV within 1e-3 of transformers; the fast defaults (bf16 KV) 3e-2.
constexpr float kTolF32 = 1e-3f;
constexpr float kTolBf16Kv = 3e-2f;

struct Reference {
  std::string dir;
  std::vector<int> prompt, continuation;
  std::vector<float> logits, logits_full;  // [48, vocab], [80, vocab]
};

std::vector<float> read_f32(const std::string& path) {
  const std::string bytes = test::read_file(path);
  std::vector<float> v(bytes.size() / 4);
  std::memcpy(v.data(), bytes.data(), v.size() * 4);
  return v;
}

Reference reference(const std::string& name) {
  Reference r;
  r.dir = test::data_path("hf/" + name);
  const json j = json::parse(test::read_file(r.dir + "/reference.json"));
  r.prompt = j["prompt_ids"].get<std::vector<int>>();
  r.continuation = j["greedy_continuation"].get<std::vector<int>>();
  r.logits = read_f32(r.dir + "/logits.f32");
  r.logits_full = read_f32(r.dir + "/logits_full.f32");
  return r;
}

// max |a - b| over the first n values.
float max_diff(const float* a, const float* b, size_t n) {
  float m = 0;
  for (size_t i = 0; i < n; ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

class HfForward : public ::testing::TestWithParam<std::string> {
 protected:
  Reference ref = reference(GetParam());
  Model model = load_model(ref.dir);
  int vocab = model_info(model).vocab_size;
  std::vector<int> full() const {
    std::vector<int> ids = ref.prompt;
    ids.insert(ids.end(), ref.continuation.begin(), ref.continuation.end());
    return ids;
  }
};

TEST_P(HfForward, BatchedPrefillMatchesTransformers) {
  ASSERT_EQ(ref.logits.size(), 48u * vocab);
  const std::vector<float> got = prompt_logits(model, ref.prompt);
  EXPECT_LE(max_diff(got.data(), ref.logits.data(), got.size()), kTolF32);
  const std::vector<float> got_full = prompt_logits(model, full());
  ASSERT_EQ(got_full.size(), ref.logits_full.size());
  EXPECT_LE(max_diff(got_full.data(), ref.logits_full.data(), got_full.size()), kTolF32);
}

TEST_P(HfForward, ChunkedPrefillOverTheCacheMatches) {
  // Chunks of 7 rows: every chunk after the first attends to the cache and to itself.
  const ModelData& m = *model.data;
  const std::vector<int> ids = full();
  RunState s = make_run_state(m.config, 80, DType::F32, 7);
  std::vector<float> got(80 * vocab);
  forward(m, s, ids.data(), 80, 0, got.data());
  EXPECT_LE(max_diff(got.data(), ref.logits_full.data(), got.size()), kTolF32);
}

TEST_P(HfForward, TokenByTokenDecodeMatches) {
  const ModelData& m = *model.data;
  const std::vector<int> ids = full();
  for (DType kv : {DType::F32, DType::BF16}) {
    RunState s = make_run_state(m.config, 80, kv);
    float worst = 0;
    for (int pos = 0; pos < 80; ++pos) {
      const float* logits = forward_token(m, s, ids[pos], pos);
      worst = std::max(worst, max_diff(logits, ref.logits_full.data() + static_cast<size_t>(pos) * vocab, vocab));
    }
    EXPECT_LE(worst, kv == DType::F32 ? kTolF32 : kTolBf16Kv) << "KV cache " << dtype_name(kv);
  }
}

TEST_P(HfForward, PrefillThenDecodeWithTheDefaultBf16Cache) {
  // The engine's defaults: the prompt in one batch, then decode steps, keys and values stored in bf16.
  const ModelData& m = *model.data;
  const std::vector<int> ids = full();
  RunState s = make_run_state(m.config, 80, DType::BF16);
  const float* logits = forward(m, s, ids.data(), 48, 0);
  float worst = max_diff(logits, ref.logits_full.data() + 47 * static_cast<size_t>(vocab), vocab);
  for (int pos = 48; pos < 80; ++pos) {
    logits = forward_token(m, s, ids[pos], pos);
    worst = std::max(worst, max_diff(logits, ref.logits_full.data() + static_cast<size_t>(pos) * vocab, vocab));
  }
  EXPECT_LE(worst, kTolBf16Kv);
  const std::vector<float> batched = prompt_logits(model, ref.prompt, KvType::BF16);
  EXPECT_LE(max_diff(batched.data(), ref.logits.data(), batched.size()), kTolBf16Kv);
}

TEST_P(HfForward, GreedyContinuationIsIdentical) {
  GenerateOptions opt;
  opt.n_predict = 32;
  opt.sampling.temperature = 0;
  opt.kv_type = KvType::F32;
  opt.ignore_eos = true;  // tiny-llama3's continuation passes through its EOS id
  std::vector<int> got;
  GenerateStats st = generate_ids(model, ref.prompt, opt, [&](int id, std::string_view) { got.push_back(id); });
  EXPECT_EQ(got, ref.continuation);
  EXPECT_EQ(st.generated_tokens, 32);
  EXPECT_EQ(st.prompt_tokens, 48);
}

INSTANTIATE_TEST_SUITE_P(Checkpoints, HfForward,
                         ::testing::Values("tiny-qwen2-f32", "tiny-qwen2-bf16", "tiny-llama3-f32"),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(HfGenerate, StopsAtEosUnlessIgnored) {
  // tiny-llama3's greedy continuation emits its EOS id (2) as the 25th token.
  const Reference ref = reference("tiny-llama3-f32");
  ASSERT_EQ(ref.continuation[24], 2);
  Model model = load_model(ref.dir);
  GenerateOptions opt;
  opt.n_predict = 32;
  opt.sampling.temperature = 0;
  opt.kv_type = KvType::F32;
  std::vector<int> got;
  GenerateStats st = generate_ids(model, ref.prompt, opt, [&](int id, std::string_view) { got.push_back(id); });
  EXPECT_EQ(st.generated_tokens, 24);
  EXPECT_EQ(got, std::vector<int>(ref.continuation.begin(), ref.continuation.begin() + 24));
}

TEST(HfGenerate, OpenBlasStaysSingleThreadedWhateverTheThreadCount) {
  // OpenMP splits the work; OpenBLAS inside it must stay on one thread (two pools fight for the cores), on every
  // call, not just the first.
  const Reference ref = reference("tiny-qwen2-f32");
  Model model = load_model(ref.dir);
  GenerateOptions opt;
  opt.n_predict = 2;
  for (int threads : {2, 1, 2}) {
    opt.threads = threads;
    generate_ids(model, ref.prompt, opt, nullptr);
    EXPECT_EQ(openblas_get_num_threads(), 1) << "after a generation with " << threads << " threads";
  }
}

TEST(HfGenerate, TextNeedsATokenizer) {
  Model model = load_model(test::data_path("hf/tiny-qwen2-f32"));
  try {
    generate(model, "hello", GenerateOptions{}, nullptr);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--prompt-ids"), std::string::npos) << e.what();
  }
}

TEST(HfSharded, ASplitCheckpointGivesTheSameLogits) {
  // Split tiny-llama3 (untied: lm_head is its own tensor) into two shards plus an index, as transformers does.
  const Reference ref = reference("tiny-llama3-f32");
  const test::Safetensors st = test::read_safetensors(ref.dir + "/model.safetensors");
  test::TempDir tmp;
  fs::copy_file(ref.dir + "/config.json", tmp.file("config.json"));
  fs::copy_file(ref.dir + "/generation_config.json", tmp.file("generation_config.json"));
  test::Safetensors shard[2];
  json weight_map = json::object();
  int i = 0;
  for (const auto& [name, e] : st.header.items()) {
    if (name == "__metadata__") continue;
    test::Safetensors& s = shard[i++ % 2];
    const uint64_t b = e["data_offsets"][0], end = e["data_offsets"][1];
    json entry = e;
    entry["data_offsets"] = {s.data.size(), s.data.size() + (end - b)};
    s.header[name] = entry;
    s.data += st.data.substr(b, end - b);
    weight_map[name] = fmt::format("model-0000{}-of-00002.safetensors", &s - shard + 1);
  }
  test::write_safetensors(tmp.file("model-00001-of-00002.safetensors"), shard[0]);
  test::write_safetensors(tmp.file("model-00002-of-00002.safetensors"), shard[1]);
  test::write_file(tmp.file("model.safetensors.index.json"),
                   json{{"metadata", {{"total_size", st.data.size()}}}, {"weight_map", weight_map}}.dump());

  Model sharded = load_model(tmp.path.string());
  EXPECT_EQ(sharded.data->files.size(), 2u);
  const std::vector<float> a = prompt_logits(sharded, ref.prompt);
  const std::vector<float> b = prompt_logits(load_model(ref.dir), ref.prompt);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(max_diff(a.data(), b.data(), a.size()), 0.0f);
  EXPECT_LE(max_diff(a.data(), ref.logits.data(), a.size()), kTolF32);

  // The same with unpadded headers: the tensors start at odd addresses and are copied aligned, same logits.
  test::write_safetensors(tmp.file("model-00001-of-00002.safetensors"), shard[0], /*pad=*/false);
  test::write_safetensors(tmp.file("model-00002-of-00002.safetensors"), shard[1], /*pad=*/false);
  Model unaligned = load_model(tmp.path.string());
  EXPECT_FALSE(unaligned.data->aligned_copies.empty());
  const std::vector<float> c = prompt_logits(unaligned, ref.prompt);
  EXPECT_EQ(max_diff(a.data(), c.data(), a.size()), 0.0f);

  // An index naming a tensor no shard holds is an error naming it.
  json bad = json::parse(test::read_file(tmp.file("model.safetensors.index.json")));
  bad["weight_map"]["model.extra.weight"] = "model-00001-of-00002.safetensors";
  test::write_file(tmp.file("model.safetensors.index.json"), bad.dump());
  EXPECT_THROW(load_model(tmp.path.string()), Error);
}

TEST(HfDtypes, F16WeightsComputeLikeTheirF32Values) {
  // tiny-qwen2-f32 rounded to f16, stored once as F16 and once as the same values in F32: every path (batched
  // prefill, decode steps) must give the same logits from both.
  const std::string src = test::data_path("hf/tiny-qwen2-f32");
  const test::Safetensors st = test::read_safetensors(src + "/model.safetensors");
  test::TempDir f16_dir, f32_dir;
  test::Safetensors as_f16 = st, as_f32 = st;
  as_f16.data.clear();
  as_f32.data.clear();
  for (auto& [name, e] : st.header.items()) {
    if (name == "__metadata__") continue;
    const uint64_t b = e["data_offsets"][0], end = e["data_offsets"][1];
    std::string h16, h32;
    for (uint64_t o = b; o < end; o += 4) {
      float x;
      std::memcpy(&x, st.data.data() + o, 4);
      const _Float16 half = static_cast<_Float16>(x);
      const float back = static_cast<float>(half);
      h16.append(reinterpret_cast<const char*>(&half), 2);
      h32.append(reinterpret_cast<const char*>(&back), 4);
    }
    as_f16.header[name]["dtype"] = "F16";
    as_f16.header[name]["data_offsets"] = {as_f16.data.size(), as_f16.data.size() + h16.size()};
    as_f16.data += h16;
    as_f32.header[name]["data_offsets"] = {as_f32.data.size(), as_f32.data.size() + h32.size()};
    as_f32.data += h32;
  }
  for (const test::TempDir* d : {&f16_dir, &f32_dir}) fs::copy_file(src + "/config.json", d->file("config.json"));
  test::write_safetensors(f16_dir.file("model.safetensors"), as_f16);
  test::write_safetensors(f32_dir.file("model.safetensors"), as_f32);
  Model m16 = load_model(f16_dir.path.string()), m32 = load_model(f32_dir.path.string());
  EXPECT_EQ(m16.data->weights.layers[0].w_up.dtype, DType::F16);
  const Reference ref = reference("tiny-qwen2-f32");
  const std::vector<float> a = prompt_logits(m16, ref.prompt), b = prompt_logits(m32, ref.prompt);
  EXPECT_LE(max_diff(a.data(), b.data(), a.size()), 1e-5f);
  RunState s16 = make_run_state(m16.data->config, 16), s32 = make_run_state(m32.data->config, 16);
  for (int pos = 0; pos < 16; ++pos) {
    const float* x = forward_token(*m16.data, s16, ref.prompt[pos], pos);
    const float* y = forward_token(*m32.data, s32, ref.prompt[pos], pos);
    ASSERT_LE(max_diff(x, y, 1024), 1e-5f) << "position " << pos;
  }
  // And f16 rounding moves the logits only a little from the f32 model's.
  EXPECT_LE(max_diff(a.data(), ref.logits.data(), a.size()), 0.05f);
}

TEST(HfForward, YarnAttentionFactorScalesTheRotatedQueriesAndKeys) {
  // The forward pass multiplies cos and sin by the attention factor: the rotated key of a token at position 0
  // (angle 0) is its unrotated key times the factor. A one-token forward with and without it: keys differ by that
  // factor exactly, values not at all.
  const Model model = load_model(test::data_path("hf/tiny-qwen2-f32"));
  const ModelData& m = model_data(model);
  ModelConfig yarn = m.config;
  yarn.rope.type = "yarn";
  yarn.rope.factor = 4.0f;
  yarn.rope.original_max_positions = 64;
  yarn.rope.attention_factor = 1.25f;
  ModelData ym;
  ym.config = yarn;
  ym.weights = m.weights;
  RunState plain = make_run_state(m.config, 4), scaled = make_run_state(yarn, 4);
  forward_token(m, plain, 3, 0);
  forward_token(ym, scaled, 3, 0);
  const int hd = m.config.head_dim;
  const float* k0 = static_cast<const float*>(plain.kv.keys(0, 0));
  const float* k1 = static_cast<const float*>(scaled.kv.keys(0, 0));
  const float* v0 = static_cast<const float*>(plain.kv.values(0, 0));
  const float* v1 = static_cast<const float*>(scaled.kv.values(0, 0));
  for (int d = 0; d < hd; ++d) {
    EXPECT_NEAR(k1[d], 1.25f * k0[d], 1e-6f * (1 + std::fabs(k0[d]))) << d;
    EXPECT_EQ(v1[d], v0[d]) << d;
  }
}

}  // namespace
}  // namespace resa
