// GGUF models: files written at test time from the tiny Hugging Face checkpoints (tests/gguf_writer.hpp, as llama.cpp's
// converter writes them) give the safetensors path's logits (F32: to f32 rounding; Q8_0: the same blocks as
// --weights q8_0 gives); damaged files give one clear error each.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "expect_error.hpp"
#include "forward.hpp"
#include "gguf_writer.hpp"
#include "model/model.hpp"
#include "resa/resa.hpp"
#include "test_helpers.hpp"
#include "tokenizer/tokenizer.hpp"

namespace resa {
namespace {

const std::vector<int> kTokens = {1, 17, 200, 33, 4, 99, 250, 7, 61, 300, 12, 45, 18, 2, 77, 140};

// Every position's logits: a prefill chunk of all tokens, then the same tokens one decode step at a time.
std::vector<float> logits_of(const Model& model) {
  const ModelData& m = *model.data;
  const int n = static_cast<int>(kTokens.size()), vocab = m.config.vocab_size;
  RunState s = make_run_state(m.config, n, DType::F32);
  std::vector<float> all(static_cast<size_t>(n) * vocab);
  forward(m, s, kTokens.data(), n, 0, all.data());
  RunState d = make_run_state(m.config, n, DType::F32);
  for (int pos = 0; pos < n; ++pos) {
    const float* l = forward_token(m, d, kTokens[pos], pos);
    all.insert(all.end(), l, l + vocab);
  }
  return all;
}

float max_abs(const std::vector<float>& v) {
  float m = 0.0f;
  for (float f : v) m = std::max(m, std::fabs(f));
  return m;
}

// A matrix's rows as f32 values (its blocks dequantized), sorted when the order of its rows is not the point.
std::vector<std::vector<float>> rows_of(const Mat& m, bool sorted = false) {
  std::vector<std::vector<float>> rows(static_cast<size_t>(m.rows), std::vector<float>(static_cast<size_t>(m.cols)));
  for (int64_t r = 0; r < m.rows; ++r) row_to_f32(rows[static_cast<size_t>(r)].data(), m, r);
  if (sorted) std::sort(rows.begin(), rows.end());
  return rows;
}

float max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float m = 0.0f;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

class GgufModel : public ::testing::TestWithParam<std::string> {};

TEST_P(GgufModel, F32FileGivesTheSafetensorsLogits) {
  test::TempDir tmp;
  const std::string hf = test::data_path("hf/" + GetParam()), path = tmp.file("model-f32.gguf");
  test::write_file(path, test::gguf_from_hf(hf, 0));
  const std::vector<float> want = logits_of(load_model(hf));
  for (WeightLoad load : {WeightLoad::Copy, WeightLoad::Mmap}) {
    const Model g = load_model(path, "", {load, 2});
    const ModelInfo info = model_info(g);
    EXPECT_EQ(info.architecture, model_info(load_model(hf)).architecture);
    EXPECT_EQ(info.weight_dtypes, "f32");
    // A Llama file's Q and K rows are permuted for adjacent-pair RoPE: the same products, summed in another order.
    EXPECT_LE(max_diff(logits_of(g), want), 1e-4f * std::max(1.0f, max_abs(want)))
        << GetParam() << " " << weight_load_name(load);
  }
}

TEST_P(GgufModel, Q8_0FileMatchesQuantizingAtLoad) {
  test::TempDir tmp;
  const std::string hf = test::data_path("hf/" + GetParam()), path = tmp.file("model-q8_0.gguf");
  test::write_file(path, test::gguf_from_hf(hf, 8));
  const Model g = load_model(path, "", {WeightLoad::Copy, 2});
  EXPECT_EQ(g.data->weights.layers[0].wq.dtype, DType::Q8_0_R8);  // the file's blocks regrouped
  EXPECT_EQ(model_info(g).weight_dtypes,
            model_info(load_model(hf, "", {WeightLoad::Copy, 2, WeightType::Q8_0})).weight_dtypes);
  const Model q = load_model(hf, "", {WeightLoad::Copy, 2, WeightType::Q8_0});
  // The same quantizer on the same values: the same blocks; a Llama file's Q and K rows in another order.
  const bool llama = GetParam().find("llama") != std::string::npos;
  const Weights &a = g.data->weights, &b = q.data->weights;
  EXPECT_EQ(rows_of(a.lm_head), rows_of(b.lm_head));
  for (size_t l = 0; l < a.layers.size(); ++l) {
    const LayerWeights &x = a.layers[l], &y = b.layers[l];
    EXPECT_EQ(rows_of(x.wq, llama), rows_of(y.wq, llama)) << l;
    EXPECT_EQ(rows_of(x.wk, llama), rows_of(y.wk, llama)) << l;
    for (auto m : {&LayerWeights::wv, &LayerWeights::wo, &LayerWeights::w_gate, &LayerWeights::w_up,
                   &LayerWeights::w_down})
      EXPECT_EQ(rows_of(x.*m), rows_of(y.*m)) << l;
  }
  // Qwen2's logits are bit for bit those of --weights q8_0. Llama's Q and K products are summed in another order,
  // and a last-bit difference can move an activation across an int8 rounding boundary downstream (measured: one
  // such step moves this model's logits by 0.7 % of the largest).
  const std::vector<float> want = logits_of(q), got = logits_of(g);
  const float scale = std::max(1.0f, max_abs(want));
  EXPECT_LE(max_diff(got, want), (llama ? 3e-2f : 0.0f) * scale);
  // Computed from the mapping (the blocks row by row): the same products, by other kernels.
  EXPECT_LE(max_diff(logits_of(load_model(path, "", {WeightLoad::Mmap})), got), 3e-2f * scale);
}

INSTANTIATE_TEST_SUITE_P(Checkpoints, GgufModel,
                         ::testing::Values("tiny-qwen2-f32", "tiny-qwen2-bf16", "tiny-llama3-f32"),
                         [](const ::testing::TestParamInfo<std::string>& i) {
                           std::string n = i.param;
                           for (char& ch : n)
                             if (ch == '-') ch = '_';
                           return n;
                         });

// A tiny model written by hand: 2 layers, dim 64, 2 heads of 32, MLP 96, vocab 128.
// context_f64: the context length written as a float64 of that value instead (0: as u32 256).
test::GgufWriter tiny(const std::string& arch = "qwen2", uint32_t matrix_type = 0, double context_f64 = 0) {
  test::GgufWriter g;
  g.str("general.architecture", arch);
  const std::string a = arch;
  if (context_f64 != 0)
    g.f64(a + ".context_length", context_f64);
  else
    g.u32(a + ".context_length", 256);
  g.u32(a + ".embedding_length", 64);
  g.u32(a + ".block_count", 1);
  g.u32(a + ".feed_forward_length", 96);
  g.u32(a + ".attention.head_count", 2);
  g.f32(a + ".attention.layer_norm_rms_epsilon", 1e-6f);
  auto m = [&](const std::string& name, int64_t rows, int64_t cols) {
    g.matrix(name, std::vector<float>(static_cast<size_t>(rows * cols), 0.01f), rows, cols, matrix_type);
  };
  auto v = [&](const std::string& name, int64_t n) { g.vector(name, std::vector<float>(n, 1.0f)); };
  m("token_embd.weight", 128, 64);
  v("blk.0.attn_norm.weight", 64);
  m("blk.0.attn_q.weight", 64, 64);
  m("blk.0.attn_k.weight", 64, 64);
  m("blk.0.attn_v.weight", 64, 64);
  m("blk.0.attn_output.weight", 64, 64);
  v("blk.0.ffn_norm.weight", 64);
  m("blk.0.ffn_gate.weight", 96, 64);
  m("blk.0.ffn_up.weight", 96, 64);
  m("blk.0.ffn_down.weight", 64, 96);
  v("output_norm.weight", 64);
  return g;
}

struct Damaged : ::testing::Test {
  test::TempDir tmp;
  void expect(const std::string& bytes, const std::string& needle) {
    const std::string path = tmp.file("damaged.gguf");
    test::write_file(path, bytes);
    test::expect_error([&] { load_model(path, "", {WeightLoad::Copy, 2}); }, needle);
    test::expect_error([&] { load_model(path, "", {WeightLoad::Mmap}); }, needle);
  }
  template <class T>
  static void patch(std::string& s, size_t at, T v) {
    std::memcpy(&s[at], &v, sizeof(T));
  }
};

TEST_F(Damaged, TheHandWrittenModelLoads) {  // what the damaged cases start from is itself valid
  const std::string path = tmp.file("ok.gguf");
  test::write_file(path, tiny().bytes());
  const Model m = load_model(path, "", {WeightLoad::Copy, 2});
  EXPECT_EQ(m.data->config.dim, 64);
  EXPECT_EQ(m.data->config.n_kv_heads, 2);  // head_count_kv defaults to head_count
  EXPECT_EQ(m.data->config.head_dim, 32);
  EXPECT_EQ(m.data->config.vocab_size, 128);
  EXPECT_TRUE(m.data->config.tied_embeddings);
  EXPECT_FALSE(m.data->config.qkv_bias);
  EXPECT_FALSE(m.data->tokenizer.has_value());
}

TEST_F(Damaged, TruncatedFiles) {
  const std::string ok = tiny().bytes();
  expect(ok.substr(0, 3), "does not start with \"GGUF\"");
  expect(ok.substr(0, 20), "runs past the end of the file");       // inside the counts
  expect(ok.substr(0, 200), "11 tensors cannot fit in the file");  // too short for its own directory
  expect(ok.substr(0, 600), "runs past the end of the file");      // inside the directory
  expect(ok.substr(0, ok.size() - 100), "runs past the end of the file");  // the last tensor's data cut short
}

TEST_F(Damaged, BadMagicAndVersion) {
  std::string s = tiny().bytes();
  s[3] = 'X';
  expect(s, "does not start with \"GGUF\"");
  for (uint32_t v : {1u, 4u}) {
    test::GgufWriter g = tiny();
    g.version = v;
    expect(g.bytes(), "version " + std::to_string(v));
  }
}

TEST_F(Damaged, CountsTheFileCannotHold) {
  std::string s = tiny().bytes();
  patch<uint64_t>(s, 8, uint64_t{1} << 40);  // tensors
  expect(s, "tensors cannot fit in the file");
  s = tiny().bytes();
  patch<uint64_t>(s, 16, uint64_t{1} << 40);  // metadata entries
  expect(s, "metadata entries cannot fit in the file");
  s = tiny().bytes();
  patch<uint64_t>(s, 24, uint64_t{1} << 60);  // the first key's length
  expect(s, "runs past the end of the file");

  test::GgufWriter g = tiny();
  g.key("general.huge", 9);  // an array of u32 claiming 2^40 elements
  test::GgufWriter::put<uint32_t>(g.kv, 4);
  test::GgufWriter::put<uint64_t>(g.kv, uint64_t{1} << 40);
  expect(g.bytes(), "claims 1099511627776 elements");
}

TEST_F(Damaged, TensorsPastTheEndOrOfUnknownTypes) {
  test::GgufWriter g = tiny();
  g.tensors.back().dims = {640};  // 10x the data it has: runs past the end
  expect(g.bytes(), "tensor 'output_norm.weight' (2560 bytes at offset");
  g = tiny();
  g.tensors[1].type = 99;
  expect(g.bytes(), "tensor 'blk.0.attn_norm.weight' has unknown type 99");
  g = tiny();
  g.tensors[1].dims = {64, 0};
  expect(g.bytes(), "has a dimension of 0");
  g = tiny();
  g.tensors[0].dims = {60, 128};  // F32 rows are fine at any length, but not the model's shape
  expect(g.bytes(), "tensor 'token_embd.weight' has dims [60, 128], the metadata implies [64, 128]");
  g = tiny();
  g.tensors[0].type = 12;  // Q4_K, 144 bytes per 256 weights: the 128 x 64 matrix would need whole blocks of 256
  expect(g.bytes(), "not whole blocks of 256");
}

TEST_F(Damaged, WhatTheModelNeeds) {
  test::GgufWriter g = tiny();
  g.tensors.erase(g.tensors.begin() + 7);  // blk.0.ffn_gate.weight
  expect(g.bytes(), "tensor 'blk.0.ffn_gate.weight' is missing from the GGUF file");
  expect(tiny("gpt2").bytes(), "unsupported GGUF architecture 'gpt2'");
  g = tiny();
  g.u32("qwen2.feed_forward_length", 128);  // a second time
  expect(g.bytes(), "a metadata key appears twice");
  g = tiny();
  g.str("qwen2.rope.scaling.type", "longrope");
  expect(g.bytes(), "RoPE scaling 'longrope' is not supported");
  // fuzz/fuzz_gguf.cpp's finding: a float beyond int64 read as a count was undefined behaviour (UBSan).
  expect(tiny("qwen2", 0, -2.32721e197).bytes(), "context_length");
  expect(tiny("qwen2", 0, 1e300).bytes(), "context_length");
}

}  // namespace
}  // namespace resa

namespace resa {
namespace {

TEST(GgufTokenizer, MetadataGivesBosEosSpecialsAndTheChatTemplate) {
  test::TempDir tmp;
  const std::string json = test::read_file(test::data_path("tokenizers/qwen2/tokenizer.json"));
  const std::string tmpl = "{% for message in messages %}<|im_start|>{{ message.content }}<|im_end|>{% endfor %}";
  const std::string path = tmp.file("tok.gguf");
  test::write_file(path, test::gguf_tokenizer_from_json(json, "qwen2", 151643, 151645, tmpl));
  const TextTokenizer t = open_tokenizer(path);
  EXPECT_EQ(t.impl->kind, TokenizerKind::ByteLevelBpe);
  EXPECT_EQ(t.impl->bos_id, 151643);
  EXPECT_FALSE(t.impl->add_bos);  // tokenizer.ggml.add_bos_token absent: false, as Qwen2 has it
  EXPECT_EQ(t.impl->eos_ids, std::vector<int>{151645});
  EXPECT_EQ(t.impl->chat_template, tmpl);
  EXPECT_EQ(tokenize(t, "<|im_start|>user", false), tokenize(open_tokenizer(
      test::data_path("tokenizers/qwen2/tokenizer.json")), "<|im_start|>user", false));
  EXPECT_EQ(tokenize(t, "<|im_start|>", false), std::vector<int>{151644});
}

// A chat from a GGUF file alone: a small random Qwen2 at Qwen2.5's vocabulary (Q8_0) carrying Qwen2.5's tokenizer,
// EOS and chat template as metadata, against the same file with the tokenizer.json / tokenizer_config.json
// directory given: the same rendered conversation, the same prompt tokens per turn, the same replies.
TEST(GgufChat, TwoTurnsFromTheMetadataAsFromTokenizerJson) {
  const std::string tok = test::data_path("tokenizers/qwen2");
  const nlohmann::json config = nlohmann::json::parse(test::read_file(tok + "/tokenizer_config.json"));
  const int64_t dim = 64, hidden = 128, vocab = 151936, kv = 32;
  test::GgufWriter g;
  g.str("general.architecture", "qwen2");
  g.u32("qwen2.context_length", 256);
  g.u32("qwen2.embedding_length", dim);
  g.u32("qwen2.block_count", 1);
  g.u32("qwen2.feed_forward_length", hidden);
  g.u32("qwen2.attention.head_count", 4);
  g.u32("qwen2.attention.head_count_kv", 2);
  g.f32("qwen2.attention.layer_norm_rms_epsilon", 1e-6f);
  test::add_tokenizer_from_json(g, test::read_file(tok + "/tokenizer.json"), "qwen2", 151643, 151645,
                                config["chat_template"].get<std::string>());
  uint32_t seed = 5;
  auto mat = [&](const std::string& name, int64_t rows, int64_t cols) {
    std::vector<float> v(static_cast<size_t>(rows * cols));
    for (float& f : v) {
      seed = seed * 1664525u + 1013904223u;
      f = (static_cast<float>(seed >> 8) / 16777216.0f - 0.5f) * 0.2f;
    }
    g.matrix(name, v, rows, cols, 8);
  };
  mat("token_embd.weight", vocab, dim);
  g.vector("blk.0.attn_norm.weight", std::vector<float>(dim, 1.0f));
  mat("blk.0.attn_q.weight", dim, dim);
  mat("blk.0.attn_k.weight", kv, dim);
  mat("blk.0.attn_v.weight", kv, dim);
  for (const char* b : {"blk.0.attn_q.bias", "blk.0.attn_k.bias", "blk.0.attn_v.bias"})
    g.vector(b, std::vector<float>(std::string(b).find("_q.") != std::string::npos ? dim : kv, 0.01f));
  mat("blk.0.attn_output.weight", dim, dim);
  g.vector("blk.0.ffn_norm.weight", std::vector<float>(dim, 1.0f));
  mat("blk.0.ffn_gate.weight", hidden, dim);
  mat("blk.0.ffn_up.weight", hidden, dim);
  mat("blk.0.ffn_down.weight", dim, hidden);
  g.vector("output_norm.weight", std::vector<float>(dim, 1.0f));
  test::TempDir tmp;
  test::write_file(tmp.file("chat.gguf"), g.bytes());

  const Model from_gguf = load_model(tmp.file("chat.gguf"));
  const Model with_json = load_model(tmp.file("chat.gguf"), tok);
  EXPECT_NE(model_info(from_gguf).tokenizer, model_info(with_json).tokenizer);  // the two paths, not one
  EXPECT_EQ(model_info(from_gguf).chat_format, "chatml");
  EXPECT_EQ(model_info(with_json).chat_format, "chatml");
  const std::vector<ChatMessage> conversation = {{"system", "You are terse."}, {"user", "What is 2+2?"}};
  EXPECT_EQ(apply_chat_template(from_gguf, conversation), apply_chat_template(with_json, conversation));
  GenerateOptions opt;
  opt.sampling.temperature = 0;
  opt.n_predict = 6;
  opt.ignore_eos = true;
  opt.threads = 1;
  ChatOptions chat_opt;
  chat_opt.system = "You are terse.";
  std::vector<std::string> replies[2];
  std::vector<int> prompts[2];
  for (int i = 0; i < 2; ++i) {
    Chat c = start_chat(i == 0 ? from_gguf : with_json, opt, chat_opt);
    for (const char* turn : {"What is 2+2?", "And 3+3?"}) {
      std::string reply;
      prompts[i].push_back(chat(c, turn, [&](std::string_view t) { reply += t; }).prompt_tokens);
      replies[i].push_back(reply);
    }
  }
  // chat_case.json: the opening (system, user, the assistant prompt) is 24 tokens of Qwen2.5's tokenizer.
  EXPECT_EQ(prompts[0][0], 24);
  EXPECT_EQ(prompts[0], prompts[1]);
  EXPECT_EQ(replies[0], replies[1]);
  EXPECT_FALSE(replies[0][0].empty());
}

TEST(GgufTokenizer, UnsupportedTokenizersAreNamed) {
  test::TempDir tmp;
  test::GgufWriter g;
  g.str("tokenizer.ggml.model", "bert");
  test::write_file(tmp.file("wpm.gguf"), g.bytes());
  test::expect_error([&] { open_tokenizer(tmp.file("wpm.gguf")); }, "its tokenizer ('bert') is not one resa reads");
  test::GgufWriter spm;
  spm.str("tokenizer.ggml.model", "llama");
  test::write_file(tmp.file("spm.gguf"), spm.bytes());
  test::expect_error([&] { open_tokenizer(tmp.file("spm.gguf")); }, "tokenizer.ggml.tokens is missing");
  const std::string json = test::read_file(test::data_path("tokenizers/qwen2/tokenizer.json"));
  test::write_file(tmp.file("pre.gguf"), test::gguf_tokenizer_from_json(json, "falcon", -1, -1, ""));
  test::expect_error([&] { open_tokenizer(tmp.file("pre.gguf")); }, "pre-tokenizer 'falcon' is not one resa knows");
}

}  // namespace
}  // namespace resa

namespace resa {
namespace {

// Random k-quant blocks (any bytes are a valid block once its scales are set to finite values), and the same weights
// as f32 through the reference dequantization (tested on hand-made blocks in test_quant.cpp).
std::string kquant_bytes(uint32_t type, int64_t n, uint32_t seed, std::vector<float>& values) {
  const size_t block = type == 12 ? 144 : 210;
  std::string d(static_cast<size_t>(n / 256) * block, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (char& c : d) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    c = static_cast<char>(x >> 24);
  }
  values.resize(static_cast<size_t>(n));
  for (int64_t b = 0; b < n / 256; ++b) {
    char* blk = d.data() + b * block;
    if (type == 12) {
      auto* q = reinterpret_cast<simd::BlockQ4_K*>(blk);
      q->d = simd::f32_to_f16(0.0001f);  // weights within ~0.1: a well-conditioned model
      q->dmin = simd::f32_to_f16(0.0005f);
    } else {
      reinterpret_cast<simd::BlockQ6_K*>(blk)->d = simd::f32_to_f16(0.00002f);
    }
  }
  if (type == 12)
    simd::dequantize_q4_k(values.data(), reinterpret_cast<const simd::BlockQ4_K*>(d.data()), n);
  else
    simd::dequantize_q6_k(values.data(), reinterpret_cast<const simd::BlockQ6_K*>(d.data()), n);
  return d;
}

TEST(GgufKQuants, MixedQ4_KAndQ6_KFileComputesItsValues) {
  // 1 layer, dim 256, 4 heads of 64, 2 KV heads, MLP 512, vocab 512: every row whole 256-blocks. V and down in Q6_K
  // beside Q4_K, as a Q4_K_M file mixes them.
  const int64_t dim = 256, hidden = 512, vocab = 512, kv = 128;
  test::GgufWriter kq, f32;
  for (test::GgufWriter* g : {&kq, &f32}) {
    g->str("general.architecture", "llama");
    g->u32("llama.context_length", 128);
    g->u32("llama.embedding_length", dim);
    g->u32("llama.block_count", 1);
    g->u32("llama.feed_forward_length", hidden);
    g->u32("llama.attention.head_count", 4);
    g->u32("llama.attention.head_count_kv", 2);
    g->f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  }
  uint32_t seed = 1;
  auto mat = [&](const std::string& name, int64_t rows, int64_t cols, uint32_t type) {
    std::vector<float> v;
    kq.tensor(name, {static_cast<uint64_t>(cols), static_cast<uint64_t>(rows)}, type,
              kquant_bytes(type, rows * cols, seed++, v));
    f32.matrix(name, v, rows, cols, 0);
  };
  auto vec = [&](const std::string& name, int64_t n) {
    kq.vector(name, std::vector<float>(n, 1.0f));
    f32.vector(name, std::vector<float>(n, 1.0f));
  };
  mat("token_embd.weight", vocab, dim, 14);
  vec("blk.0.attn_norm.weight", dim);
  mat("blk.0.attn_q.weight", dim, dim, 12);
  mat("blk.0.attn_k.weight", kv, dim, 12);
  mat("blk.0.attn_v.weight", kv, dim, 14);
  mat("blk.0.attn_output.weight", dim, dim, 12);
  vec("blk.0.ffn_norm.weight", dim);
  mat("blk.0.ffn_gate.weight", hidden, dim, 12);
  mat("blk.0.ffn_up.weight", hidden, dim, 12);
  mat("blk.0.ffn_down.weight", dim, hidden, 14);
  vec("output_norm.weight", dim);
  test::TempDir tmp;
  test::write_file(tmp.file("kq.gguf"), kq.bytes());
  test::write_file(tmp.file("f32.gguf"), f32.bytes());

  const std::vector<float> want = logits_of(load_model(tmp.file("f32.gguf"), "", {WeightLoad::Mmap}));
  const Model mapped = load_model(tmp.file("kq.gguf"), "", {WeightLoad::Mmap});
  EXPECT_EQ(mapped.data->weights.layers[0].wv.dtype, DType::Q6_K);
  EXPECT_EQ(model_info(mapped).weight_dtypes, "q4_k x5, q6_k x3");
  const float scale = std::max(1.0f, max_abs(want));
  // Decode computes the f32 values themselves (through f32 rows); prefill widens them to bf16 (2^-9 each).
  const std::vector<float> got = logits_of(mapped);
  const size_t half = got.size() / 2;
  float prefill = 0, decode = 0;
  for (size_t i = 0; i < half; ++i) prefill = std::max(prefill, std::fabs(got[i] - want[i]));
  for (size_t i = half; i < got.size(); ++i) decode = std::max(decode, std::fabs(got[i] - want[i]));
  EXPECT_LE(decode, 1e-4f * scale);
  EXPECT_LE(prefill, 1e-2f * scale);
  const Model copied = load_model(tmp.file("kq.gguf"), "", {WeightLoad::Copy, 2});
  EXPECT_EQ(copied.data->weights.layers[0].wv.dtype, DType::Q6_K_R8);  // both regrouped
  EXPECT_EQ(copied.data->weights.layers[0].wq.dtype, DType::Q4_K_R8);
  EXPECT_EQ(model_info(copied).weight_dtypes, "q4_k x5, q6_k x3");
  // q6_K's values as they are, q4_K's to f16 rounding of its scales; x as int8 blocks.
  EXPECT_EQ(rows_of(copied.data->weights.layers[0].wv), rows_of(mapped.data->weights.layers[0].wv));
  EXPECT_EQ(rows_of(copied.data->weights.lm_head), rows_of(mapped.data->weights.lm_head));
  EXPECT_LE(max_diff(logits_of(copied), want), 5e-2f * scale);
}

}  // namespace
}  // namespace resa
