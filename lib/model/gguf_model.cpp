// GGUF models (lib/model/gguf_model.hpp). The names and keys are llama.cpp's (convert_hf_to_gguf.py): a matrix's
// dims are {in_features, out_features}, rows of in_features as PyTorch stores them. llama.cpp's converter permutes
// a Llama model's Q and K rows so that RoPE rotates adjacent pairs (its "normal" RoPE); a Qwen2 model keeps
// Hugging Face's rotate_half pairing ("neox"): resa runs each the way its file was written.
#include "model/gguf_model.hpp"

#include <fmt/format.h>

#include "model/bind.hpp"
#include "resa/resa.hpp"

namespace resa {

namespace {

std::string dims_str(const std::vector<int64_t>& d) { return fmt::format("[{}]", fmt::join(d, ", ")); }

struct Binder {
  GgufCheckpoint& ck;
  const std::string& path;

  const GgufTensor* find(const std::string& name) const {
    auto it = ck.gguf.tensors.find(name);
    return it == ck.gguf.tensors.end() ? nullptr : &it->second;
  }
  const GgufTensor& get(const std::string& name, const std::vector<int64_t>& dims) const {
    const GgufTensor* t = find(name);
    if (!t) throw Error(fmt::format("'{}': tensor '{}' is missing from the GGUF file", path, name));
    if (t->dims != dims)
      throw Error(fmt::format("'{}': tensor '{}' has dims {}, the metadata implies {}", path, name, dims_str(t->dims),
                              dims_str(dims)));
    DType d;
    if (!ggml_to_dtype(t->ggml_type, d))
      throw Error(fmt::format("'{}': tensor '{}' is {}, a type resa does not read (it reads F32, F16, BF16, Q8_0, "
                              "Q4_0, Q4_K and Q6_K)",
                              path, name, ggml_type_name(t->ggml_type)));
    return *t;
  }
  Mat mat(const std::string& name, int64_t rows, int64_t cols) const {
    const GgufTensor& t = get(name, {cols, rows});
    return Mat{t.data, t.dtype, rows, cols};
  }
  const float* vec(const std::string& name, int64_t n) const {
    const GgufTensor& t = get(name, {n});
    if (is_quantized(t.dtype))
      throw Error(fmt::format("'{}': tensor '{}' is {}: resa reads norms and biases as F32, F16 or BF16", path, name,
                              ggml_type_name(t.ggml_type)));
    std::vector<float>& v = ck.weights.owned.emplace_back(n);  // small: always an aligned f32 copy
    to_f32(v.data(), t.data, t.dtype, static_cast<size_t>(n));
    return v.data();
  }
};

int positive(const GgufFile& g, const std::string& key, int64_t value) {
  if (value <= 0 || value > (int64_t{1} << 30))
    throw Error(fmt::format("'{}': GGUF metadata '{}' is {}, not a usable size", g.file.path, key, value));
  return static_cast<int>(value);
}

ModelConfig gguf_config(const GgufFile& g) {
  const std::string& path = g.file.path;
  const std::string arch = g.string("general.architecture", "");
  ModelConfig c;
  if (arch == "qwen2") {
    c.architecture = "Qwen2ForCausalLM";
    c.rope.layout = RopeLayout::RotateHalf;
  } else if (arch == "llama") {
    c.architecture = "LlamaForCausalLM";
    c.rope.layout = RopeLayout::Interleaved;
  } else {
    throw Error(fmt::format("'{}': unsupported GGUF architecture '{}' (resa runs qwen2 and llama)", path,
                            arch.empty() ? "(none given)" : arch));
  }
  auto key = [&](const char* k) { return arch + "." + k; };
  c.dim = positive(g, key("embedding_length"), g.integer(key("embedding_length")));
  c.n_layers = positive(g, key("block_count"), g.integer(key("block_count")));
  c.hidden_dim = positive(g, key("feed_forward_length"), g.integer(key("feed_forward_length")));
  c.n_heads = positive(g, key("attention.head_count"), g.integer(key("attention.head_count")));
  c.n_kv_heads = positive(g, key("attention.head_count_kv"), g.integer(key("attention.head_count_kv"), c.n_heads));
  c.head_dim = positive(g, key("attention.key_length"), g.integer(key("attention.key_length"), c.dim / c.n_heads));
  if (c.n_heads % c.n_kv_heads != 0)
    throw Error(fmt::format("'{}': {} query heads do not split into groups of {} key/value heads", path, c.n_heads,
                            c.n_kv_heads));
  if (g.integer(key("attention.value_length"), c.head_dim) != c.head_dim || c.head_dim % 2 != 0)
    throw Error(fmt::format("'{}': key and value heads of different or odd sizes are not supported", path));
  if (g.integer(key("rope.dimension_count"), c.head_dim) != c.head_dim)
    throw Error(fmt::format("'{}': RoPE over part of a head ({} of {}) is not supported", path,
                            g.integer(key("rope.dimension_count")), c.head_dim));
  c.max_seq_len = positive(g, key("context_length"), g.integer(key("context_length")));
  c.norm_eps = static_cast<float>(g.number(key("attention.layer_norm_rms_epsilon"), 1e-5));
  c.rope.theta = static_cast<float>(g.number(key("rope.freq_base"), 10000.0));
  const std::string scaling = g.string(key("rope.scaling.type"), "none");
  if (scaling == "linear" || scaling == "yarn") {
    c.rope.type = scaling;
    c.rope.factor = static_cast<float>(g.number(key("rope.scaling.factor"), 1.0));
    c.rope.original_max_positions =
        static_cast<int>(g.integer(key("rope.scaling.original_context_length"), c.max_seq_len));
    if (scaling == "yarn") c.rope.attention_factor = 0.1f * std::log(c.rope.factor) + 1.0f;
  } else if (scaling != "none") {
    throw Error(fmt::format("'{}': RoPE scaling '{}' is not supported (resa reads none, linear and yarn)", path,
                            scaling));
  }
  if (c.rope.factor <= 0) throw Error(fmt::format("'{}': RoPE scaling factor {} is not positive", path, c.rope.factor));
  c.bos_id = static_cast<int>(g.integer("tokenizer.ggml.bos_token_id", -1));
  c.eos_ids.clear();
  for (const char* k : {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id"})
    if (const int64_t id = g.integer(k, -1); id >= 0 && !c.is_eos(static_cast<int>(id)))
      c.eos_ids.push_back(static_cast<int>(id));
  return c;
}

}  // namespace

GgufCheckpoint load_gguf_checkpoint(const std::string& path) {
  GgufCheckpoint ck;
  ck.gguf = read_gguf(path);
  ck.config = gguf_config(ck.gguf);
  ModelConfig& c = ck.config;
  const Binder b{ck, path};
  const GgufTensor* embd = b.find("token_embd.weight");
  if (!embd || embd->dims.size() != 2)
    throw Error(fmt::format("'{}': tensor 'token_embd.weight' is missing from the GGUF file or not a matrix", path));
  c.vocab_size = positive(ck.gguf, "token_embd.weight's rows", embd->dims[1]);
  c.tied_embeddings = b.find("output.weight") == nullptr;
  c.qkv_bias = b.find("blk.0.attn_q.bias") != nullptr;
  if (b.find("rope_freqs.weight")) {  // Llama 3's scaling, as llama.cpp's converter writes it
    const float* f = b.vec("rope_freqs.weight", c.head_dim / 2);
    c.rope.freq_factors.assign(f, f + c.head_dim / 2);
    for (float x : c.rope.freq_factors)
      if (!(x > 0.0f)) throw Error(fmt::format("'{}': rope_freqs.weight holds a factor of {}", path, x));
    c.rope.type = "freq_factors";
  }
  for (int id : c.eos_ids)
    if (id >= c.vocab_size) throw Error(fmt::format("'{}': end-of-text id {} is outside the vocabulary", path, id));

  bind_weights(b, c, kGgufNames, ck.weights);
  return ck;
}

}  // namespace resa
