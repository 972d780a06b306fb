// The Hugging Face loader: config.json in both spellings, safetensors validation, sharded checkpoints, llama3 RoPE.
#include <cstring>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "model/config.hpp"
#include "model/hf_checkpoint.hpp"
#include "model/safetensors.hpp"
#include "resa/resa.hpp"
#include "safetensors_helpers.hpp"
#include "expect_error.hpp"
#include "test_helpers.hpp"

namespace resa {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using test::data_path;

std::string hf_dir(const std::string& name) { return data_path("hf/" + name); }

using test::expect_error;

TEST(HfConfig, Qwen2Transformers5Spelling) {
  HfCheckpoint ck = load_hf_checkpoint(hf_dir("tiny-qwen2-f32"));
  const ModelConfig& c = ck.config;
  EXPECT_EQ(c.architecture, "Qwen2ForCausalLM");
  EXPECT_EQ(c.dim, 128);
  EXPECT_EQ(c.hidden_dim, 352);
  EXPECT_EQ(c.n_layers, 3);
  EXPECT_EQ(c.n_heads, 8);
  EXPECT_EQ(c.n_kv_heads, 2);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_EQ(c.vocab_size, 1024);
  EXPECT_EQ(c.max_seq_len, 8192);
  EXPECT_FLOAT_EQ(c.norm_eps, 1e-6f);
  EXPECT_FLOAT_EQ(c.rope.theta, 1e6f);
  EXPECT_EQ(c.rope.type, "default");
  EXPECT_EQ(c.rope.layout, RopeLayout::RotateHalf);
  EXPECT_TRUE(c.qkv_bias);
  EXPECT_TRUE(c.tied_embeddings);
  EXPECT_EQ(c.eos_ids, std::vector<int>{2});
  EXPECT_EQ(ck.weights.lm_head.data, ck.weights.token_embedding.data);
  EXPECT_EQ(ck.weights.layers[0].wq.dtype, DType::F32);
  ASSERT_NE(ck.weights.layers[2].bk, nullptr);
}

TEST(HfConfig, LlamaWithLlama3RopeAndUntiedHead) {
  HfCheckpoint ck = load_hf_checkpoint(hf_dir("tiny-llama3-f32"));
  const ModelConfig& c = ck.config;
  EXPECT_EQ(c.architecture, "LlamaForCausalLM");
  EXPECT_EQ(c.n_kv_heads, 8);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_FALSE(c.qkv_bias);
  EXPECT_FALSE(c.tied_embeddings);
  EXPECT_EQ(c.rope.type, "llama3");
  EXPECT_FLOAT_EQ(c.rope.factor, 8.0f);
  EXPECT_EQ(c.rope.original_max_positions, 256);
  EXPECT_NE(ck.weights.lm_head.data, ck.weights.token_embedding.data);
  EXPECT_EQ(ck.weights.layers[0].bq, nullptr);
}

TEST(HfConfig, Bf16WeightsAreViewsIntoTheMapping) {
  HfCheckpoint ck = load_hf_checkpoint(hf_dir("tiny-qwen2-bf16"));
  const Mat& wq = ck.weights.layers[1].wq;
  EXPECT_EQ(wq.dtype, DType::BF16);
  ASSERT_EQ(ck.tensors.files.size(), 1u);
  const MappedFile& f = ck.tensors.files[0];
  const auto* p = static_cast<const uint8_t*>(wq.data);
  EXPECT_GE(p, f.data);
  EXPECT_LE(p + wq.bytes(), f.data + f.size);
}

TEST(HfConfig, Transformers4SpellingAndGenerationConfigEos) {
  // transformers 4.x: rope_theta and rope_scaling at top level ("type" instead of "rope_type"), no head_dim.
  const std::string cfg = R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "intermediate_size": 100,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 50,
    "max_position_embeddings": 512, "rms_norm_eps": 1e-5, "rope_theta": 250000.0,
    "rope_scaling": {"type": "linear", "factor": 4.0}, "eos_token_id": 7, "tie_word_embeddings": true})";
  ModelConfig c = parse_hf_config(cfg, "config.json", R"({"eos_token_id": [7, 9]})");
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_FLOAT_EQ(c.rope.theta, 250000.0f);
  EXPECT_EQ(c.rope.type, "linear");
  EXPECT_FLOAT_EQ(c.rope.factor, 4.0f);
  EXPECT_EQ(c.eos_ids, (std::vector<int>{7, 9}));
  EXPECT_TRUE(c.tied_embeddings);
  // Linear scaling divides every inverse frequency by the factor: 1 / 250000^(2i/16) / 4.
  std::vector<float> f = rope_inv_freq(c);
  ASSERT_EQ(f.size(), 8u);
  EXPECT_FLOAT_EQ(f[0], 0.25f);
  EXPECT_NEAR(f[1], 0.25 / std::pow(250000.0, 2.0 / 16), 1e-8);
}

TEST(HfConfig, Llama3RopeScalingMatchesIndependentValues) {
  // theta 500000, head_dim 16, factor 8, low 1, high 4, original 256: worked out in Python (double precision)
  // from the formula of transformers' _compute_llama3_parameters. Wavelengths 6.3 and 32.4 are below
  // 256/4 = 64 (unchanged); 167 is between 64 and 256 (smoothed); the rest are above 256 (divided by 8).
  HfCheckpoint ck = load_hf_checkpoint(hf_dir("tiny-llama3-f32"));
  const double expected[8] = {1.0, 0.19392274474868576, 0.010538232746455323, 0.0009115830921521386,
                              0.00017677669529663688, 3.428102195952591e-05, 6.647869871181236e-06,
                              1.2891731721515574e-06};
  std::vector<float> f = rope_inv_freq(ck.config);
  ASSERT_EQ(f.size(), 8u);
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(f[i], expected[i], 1e-6 * expected[i]) << i;
}

TEST(HfConfig, RejectsUnsupportedArchitecturesAndScaling) {
  expect_error([] { parse_hf_config(R"({"architectures": ["MistralForCausalLM"]})", "c.json"); },
               "unsupported architecture 'MistralForCausalLM'");
  expect_error([] { parse_hf_config("{not json", "c.json"); }, "not valid JSON");
  const std::string yarn = R"({"architectures": ["Qwen2ForCausalLM"], "hidden_size": 64, "intermediate_size": 100,
    "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 50, "max_position_embeddings": 512,
    "rope_scaling": {"type": "dynamic", "factor": 4.0}})";
  expect_error([&] { parse_hf_config(yarn, "c.json"); }, "RoPE scaling 'dynamic' is not supported");
}

namespace {

std::string yarn_config(const std::string& rope) {
  return R"({"architectures": ["Qwen2ForCausalLM"], "hidden_size": 64, "intermediate_size": 100,
    "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 50, "max_position_embeddings": 256, )" +
         rope + "}";
}

}  // namespace

TEST(HfConfig, YarnRopeMatchesIndependentValues) {
  // head_dim 16, theta 10000, factor 4, original 256, beta 32 / 1: worked out in Python (double precision) from
  // the formulas of transformers' _compute_yarn_parameters. The correction range is [0.21, 3.22], truncated to
  // [0, 4]: dimension pair i gets the ramp i / 4 (i < 4 blends, i >= 4 is divided by the factor); untruncated
  // the ramp is (i - 0.2098) / 3.0103. Attention factor 0.1 ln 4 + 1.
  const double truncated[8] = {1.0, 0.2569350598886808, 0.0625, 0.01383496476323666,
                               0.0025, 0.0007905694150420947, 0.00025, 7.905694150420948e-05};
  const double untruncated[8] = {1.0, 0.25397231355700634, 0.05539863663460478, 0.00963994285097862,
                                 0.0025, 0.0007905694150420947, 0.00025, 7.905694150420948e-05};
  // Both spellings: transformers 4.x (rope_scaling, "type") and 5.x (rope_parameters with rope_theta inside).
  for (const std::string& rope :
       {std::string(R"("rope_theta": 10000.0, "rope_scaling": {"type": "yarn", "factor": 4.0,
          "original_max_position_embeddings": 256})"),
        std::string(R"("rope_parameters": {"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0,
          "beta_fast": 32.0, "beta_slow": 1.0, "original_max_position_embeddings": 256})")}) {
    const ModelConfig c = parse_hf_config(yarn_config(rope), "c.json");
    EXPECT_EQ(c.rope.type, "yarn");
    EXPECT_NEAR(c.rope.attention_factor, 1.138629436111989, 1e-6);
    EXPECT_EQ(c.max_seq_len, 1024) << "the context YaRN stretches to: factor x original";
    const std::vector<float> f = rope_inv_freq(c);
    ASSERT_EQ(f.size(), 8u);
    for (int i = 0; i < 8; ++i) EXPECT_NEAR(f[i], truncated[i], 2e-6 * truncated[i]) << i;
  }
  const ModelConfig u = parse_hf_config(
      yarn_config(R"("rope_scaling": {"rope_type": "yarn", "factor": 4.0, "truncate": false})"), "c.json");
  EXPECT_EQ(u.rope.original_max_positions, 256) << "max_position_embeddings when the original is not given";
  const std::vector<float> f = rope_inv_freq(u);
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(f[i], untruncated[i], 2e-6 * untruncated[i]) << i;
  // An explicit attention factor wins; mscale / mscale_all_dim (DeepSeek-V3's) give a ratio of two mscales.
  EXPECT_FLOAT_EQ(parse_hf_config(yarn_config(R"("rope_scaling": {"type": "yarn", "factor": 4.0,
                                    "attention_factor": 1.5})"), "c.json").rope.attention_factor, 1.5f);
  EXPECT_NEAR(parse_hf_config(yarn_config(R"("rope_scaling": {"type": "yarn", "factor": 4.0, "mscale": 2.0,
                                "mscale_all_dim": 1.0})"), "c.json").rope.attention_factor,
              (0.2 * std::log(4.0) + 1) / (0.1 * std::log(4.0) + 1), 1e-6);
  expect_error([] { parse_hf_config(yarn_config(R"("rope_scaling": {"type": "yarn", "factor": 0.5})"), "c.json"); },
               "yarn RoPE needs factor >= 1");
}


// ---- safetensors validation on damaged copies of a real checkpoint ----

using test::Safetensors;
using test::read_safetensors;
using test::write_safetensors;

// A copy of tiny-qwen2-f32 whose safetensors `edit` may change.
template <class Edit>
std::string damaged_copy(const test::TempDir& tmp, Edit&& edit) {
  const std::string src = hf_dir("tiny-qwen2-f32");
  fs::copy_file(src + "/config.json", tmp.file("config.json"));
  Safetensors st = read_safetensors(src + "/model.safetensors");
  edit(st);
  write_safetensors(tmp.file("model.safetensors"), st);
  return tmp.path.string();
}

TEST(Safetensors, MissingPathAndMissingConfig) {
  expect_error([] { load_hf_checkpoint("/nonexistent/model"); }, "has no config.json");
  test::TempDir tmp;
  expect_error([&] { load_hf_checkpoint(tmp.path.string()); }, "has no config.json");
  fs::copy_file(hf_dir("tiny-qwen2-f32") + "/config.json", tmp.file("config.json"));
  expect_error([&] { load_hf_checkpoint(tmp.path.string()); }, "has neither model.safetensors");
}

TEST(Safetensors, TruncatedFile) {
  test::TempDir tmp;
  const std::string dir = damaged_copy(tmp, [](Safetensors& st) { st.data.resize(st.data.size() / 2); });
  expect_error([&] { load_hf_checkpoint(dir); }, "run past the end of the data");
}

TEST(Safetensors, HeaderLengthBeyondTheFile) {
  test::TempDir tmp;
  fs::copy_file(hf_dir("tiny-qwen2-f32") + "/config.json", tmp.file("config.json"));
  const uint64_t n = 1ull << 40;
  test::write_file(tmp.file("model.safetensors"), std::string(reinterpret_cast<const char*>(&n), 8) + "{}");
  expect_error([&] { load_hf_checkpoint(tmp.path.string()); }, "header length 1099511627776 runs past the end");
  test::write_file(tmp.file("model.safetensors"), "abc");
  expect_error([&] { load_hf_checkpoint(tmp.path.string()); }, "is truncated");
}

TEST(Safetensors, TensorOffsetPastTheEnd) {
  test::TempDir tmp;
  const std::string dir = damaged_copy(tmp, [](Safetensors& st) {
    auto& o = st.header["model.norm.weight"]["data_offsets"];
    const uint64_t len = o[1].get<uint64_t>() - o[0].get<uint64_t>();
    o = {st.data.size(), st.data.size() + len};
  });
  expect_error([&] { load_hf_checkpoint(dir); }, "tensor 'model.norm.weight': data_offsets");
}

TEST(Safetensors, OverlappingTensors) {
  test::TempDir tmp;
  const std::string dir = damaged_copy(tmp, [](Safetensors& st) {
    st.header["model.norm.weight"]["data_offsets"] = st.header["model.layers.0.input_layernorm.weight"]["data_offsets"];
  });
  expect_error([&] { load_hf_checkpoint(dir); }, "overlap");
}

TEST(Safetensors, WrongShape) {
  test::TempDir tmp;
  const std::string dir = damaged_copy(tmp, [](Safetensors& st) {
    st.header["model.layers.1.mlp.up_proj.weight"]["shape"] = {128, 352};  // transposed; same byte size
  });
  expect_error([&] { load_hf_checkpoint(dir); },
               "tensor 'model.layers.1.mlp.up_proj.weight' has shape [128, 352], the config implies [352, 128]");
}

TEST(Safetensors, MissingTensor) {
  test::TempDir tmp;
  const std::string dir = damaged_copy(tmp, [](Safetensors& st) { st.header.erase("model.layers.2.self_attn.k_proj.bias"); });
  expect_error([&] { load_hf_checkpoint(dir); }, "tensor 'model.layers.2.self_attn.k_proj.bias' is missing");
}

TEST(Safetensors, UnsupportedDtype) {
  test::TempDir tmp;
  const std::string dir = damaged_copy(tmp, [](Safetensors& st) { st.header["model.norm.weight"]["dtype"] = "I32"; });
  expect_error([&] { load_hf_checkpoint(dir); }, "unsupported dtype I32");
}

TEST(Safetensors, UnsupportedArchitecture) {
  test::TempDir tmp;
  fs::copy_file(hf_dir("tiny-qwen2-f32") + "/model.safetensors", tmp.file("model.safetensors"));
  json cfg = json::parse(test::read_file(hf_dir("tiny-qwen2-f32") + "/config.json"));
  cfg["architectures"] = {"GPT2LMHeadModel"};
  test::write_file(tmp.file("config.json"), cfg.dump());
  expect_error([&] { load_hf_checkpoint(tmp.path.string()); }, "unsupported architecture 'GPT2LMHeadModel'");
}

}  // namespace
}  // namespace resa
