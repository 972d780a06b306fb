// The public API's model side (include/resa/resa.hpp): load_model() picks the loader from what the path names,
// model_info() describes the result.
#include "model/load.hpp"

#include <omp.h>

#include <filesystem>

#include <fmt/format.h>

#include "chat_template.hpp"
#include "kv_cache.hpp"
#include "model/gguf_model.hpp"
#include "model/hf_checkpoint.hpp"
#include "model/llama2c.hpp"
#include "model/model.hpp"
#include "model/placement.hpp"
#include "resa/resa.hpp"
#include "tokenizer/tokenizer.hpp"

namespace resa {

namespace fs = std::filesystem;

namespace {

constexpr int kDefaultMaxContext = 4096;

std::string find_tokenizer_beside(const std::string& model_path, int vocab_size) {
  const fs::path dir = fs::path(model_path).parent_path();
  const std::string candidates[] = {fmt::format("tok{}.bin", vocab_size), "tokenizer.bin"};
  for (const std::string& name : candidates) {
    std::error_code ec;
    if (fs::is_regular_file(dir / name, ec)) return (dir / name).string();
  }
  throw Error(fmt::format("no tokenizer found beside '{}' (looked for {} and {} in '{}'); give its path explicitly",
                          model_path, candidates[0], candidates[1], dir.empty() ? "." : dir.string()));
}

// The directory of a Hugging Face model named by `path` (any directory, its config.json, a .safetensors file or the
// index in it), or "" when path names a file that is none of these (a llama2.c checkpoint).
std::string hf_dir_of(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return path;
  const fs::path p(path);
  const std::string name = p.filename().string();
  if (name == "config.json" || p.extension() == ".safetensors" || name == "model.safetensors.index.json") {
    const fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
    if (fs::is_regular_file(dir / "config.json", ec)) return dir.string();
  }
  return "";
}

// The tokenizer must fit the embedding table; its end-of-turn tokens (e.g. <|im_end|>, <|eot_id|>) join the
// model's end-of-text ids, so generation stops at either.
void attach_tokenizer(ModelData& m, Tokenizer tok) {
  if (tok.vocab_size() > m.config.vocab_size)
    throw Error(fmt::format("tokenizer '{}' has {} tokens, more than the model's vocabulary of {}: it belongs to "
                            "another model",
                            tok.path, tok.vocab_size(), m.config.vocab_size));
  for (int id : tok.eos_ids)
    if (!m.config.is_eos(id)) m.config.eos_ids.push_back(id);
  m.tokenizer = std::move(tok);
}

int64_t vec_params(const ModelConfig& c) {
  // Norm weights and biases.
  const int64_t per_layer = 2 * c.dim + (c.qkv_bias ? c.q_dim() + 2 * c.kv_dim() : 0);
  return c.n_layers * per_layer + c.dim;
}

}  // namespace

int default_context(const ModelConfig& c) { return std::min(c.max_seq_len, kDefaultMaxContext); }

const char* weight_load_name(WeightLoad w) { return w == WeightLoad::Copy ? "copy" : "mmap"; }

const char* weight_type_name(WeightType t) {
  switch (t) {
    case WeightType::AsStored: return "stored";
    case WeightType::BF16: return "bf16";
    case WeightType::Q8_0: return "q8_0";
    case WeightType::Q4_0: return "q4_0";
  }
  return "?";
}

DType dtype_of(WeightType t) {
  switch (t) {
    case WeightType::BF16: return DType::BF16;
    case WeightType::Q8_0: return DType::Q8_0;
    case WeightType::Q4_0: return DType::Q4_0;
    case WeightType::AsStored: break;
  }
  throw Error("dtype_of: the stored type is the checkpoint's");
}

namespace {

Model placed(std::shared_ptr<ModelData> data, const LoadOptions& o) {
  if (o.weights == WeightLoad::Copy) {
    const DType want = o.type == WeightType::AsStored ? DType::F32 : dtype_of(o.type);
    copy_weights(*data, o.threads > 0 ? o.threads : omp_get_max_threads(),
                 o.type == WeightType::AsStored ? nullptr : &want);
  }
  return Model{std::move(data)};
}

}  // namespace

Model load_model(const std::string& model_path, const std::string& tokenizer_path, const LoadOptions& options) {
  kernel_info();  // a bad RESA_ISA is an error before the weights are mapped
  if (options.type != WeightType::AsStored && options.weights == WeightLoad::Mmap)
    throw Error(fmt::format("--weights {} converts the weights at load into memory of their own: it cannot compute "
                            "from the file mapping (--load mmap)",
                            weight_type_name(options.type)));
  auto data = std::make_shared<ModelData>();
  data->path = model_path;
  if (is_gguf_file(model_path) || fs::path(model_path).extension() == ".gguf") {
    GgufCheckpoint ck = load_gguf_checkpoint(model_path);
    data->config = std::move(ck.config);
    data->weights = std::move(ck.weights);
    if (!tokenizer_path.empty())
      attach_tokenizer(*data, load_tokenizer(tokenizer_path));
    else if (ck.gguf.find("tokenizer.ggml.model"))
      attach_tokenizer(*data, tokenizer_from_gguf(ck.gguf));
    data->files.push_back(std::move(ck.gguf.file));
    return placed(std::move(data), options);
  }
  if (const std::string dir = hf_dir_of(model_path); !dir.empty()) {
    HfCheckpoint ck = load_hf_checkpoint(dir);
    data->config = std::move(ck.config);
    data->files = std::move(ck.tensors.files);
    data->aligned_copies = std::move(ck.tensors.aligned_copies);
    data->weights = std::move(ck.weights);
    const std::string tok_path = tokenizer_path.empty() ? find_tokenizer_file(dir) : tokenizer_path;
    if (!tok_path.empty()) attach_tokenizer(*data, load_tokenizer(tok_path));
    return placed(std::move(data), options);
  }
  Llama2cCheckpoint ck = load_llama2c_checkpoint(model_path);
  data->config = ck.config;
  data->files.push_back(std::move(ck.file));
  data->weights = std::move(ck.weights);
  const std::string tok_path =
      tokenizer_path.empty() ? find_tokenizer_beside(model_path, data->config.vocab_size) : tokenizer_path;
  Tokenizer tok = load_tokenizer(tok_path, data->config.vocab_size);
  if (tok.kind == TokenizerKind::Llama2c) tok.llama2c->bos_id = tok.bos_id = data->config.bos_id;
  attach_tokenizer(*data, std::move(tok));
  return placed(std::move(data), options);
}

const ModelData& model_data(const Model& model) {
  if (!model.data) throw Error("the model is not loaded");
  return *model.data;
}

ModelInfo model_info(const Model& model) {
  const ModelData& m = model_data(model);
  const ModelConfig& c = m.config;
  const Weights& w = m.weights;
  ModelInfo info;
  info.path = m.path;
  info.architecture = c.architecture;
  info.dim = c.dim;
  info.hidden_dim = c.hidden_dim;
  info.n_layers = c.n_layers;
  info.n_heads = c.n_heads;
  info.n_kv_heads = c.n_kv_heads;
  info.head_dim = c.head_dim;
  info.vocab_size = c.vocab_size;
  info.max_seq_len = c.max_seq_len;
  info.default_context = default_context(c);
  info.rope = fmt::format("{}, theta {}, {}", c.rope.layout == RopeLayout::Interleaved ? "interleaved" : "rotate_half",
                          c.rope.theta, c.rope.type);
  if (c.rope.type == "linear") info.rope += fmt::format(" x{}", c.rope.factor);
  if (c.rope.type == "freq_factors") info.rope += " (per-frequency factors from rope_freqs.weight)";
  if (c.rope.type == "llama3")
    info.rope += fmt::format(" (factor {}, low {}, high {}, original {})", c.rope.factor, c.rope.low_freq_factor,
                             c.rope.high_freq_factor, c.rope.original_max_positions);
  if (c.rope.type == "yarn")
    info.rope += fmt::format(" (factor {}, original {}, beta {}/{}, attention factor {:.4f})", c.rope.factor,
                             c.rope.original_max_positions, c.rope.beta_fast, c.rope.beta_slow,
                             c.rope.attention_factor);
  info.tied_embeddings = w.lm_head.data == w.token_embedding.data;
  info.qkv_bias = c.qkv_bias;
  info.bos_id = c.bos_id;
  info.eos_ids = c.eos_ids;
  info.has_tokenizer = m.tokenizer.has_value();
  if (m.tokenizer) {
    const Tokenizer& t = *m.tokenizer;
    info.tokenizer = fmt::format("{}, {}, {} tokens", kind_name(t.kind), fs::path(t.path).filename().string(),
                                 t.vocab_size());
    try {
      info.chat_format = chat_format_name(chat_template_for(t, "").format);
    } catch (const Error&) {
      info.chat_format.clear();  // no template resa recognises: chat needs --chat-template
    }
  }

  std::vector<const Mat*> mats = {&w.token_embedding};
  if (!info.tied_embeddings) mats.push_back(&w.lm_head);
  for (const LayerWeights& lw : w.layers)
    for (const Mat* mat : {&lw.wq, &lw.wk, &lw.wv, &lw.wo, &lw.w_gate, &lw.w_up, &lw.w_down}) mats.push_back(mat);
  int count[kDTypes] = {};
  for (const Mat* mat : mats) {
    info.parameters += mat->rows * mat->cols;
    info.weight_bytes += static_cast<int64_t>(mat->bytes());
    ++count[static_cast<int>(dtype_info(mat->dtype).holds)];  // a row-group form as the type it holds
  }
  const int64_t vec = vec_params(c);
  info.parameters += vec;
  info.weight_bytes += vec * 4;  // norms and biases, held as f32
  int kinds = 0;
  for (int t = 0; t < kDTypes; ++t) kinds += count[t] > 0;
  for (int listed = 0; listed < kinds; ++listed) {  // the most common type first
    int t = 0;
    for (int u = 1; u < kDTypes; ++u)
      if (count[u] > count[t]) t = u;
    if (!info.weight_dtypes.empty()) info.weight_dtypes += ", ";
    info.weight_dtypes += dtype_name(static_cast<DType>(t));
    if (kinds > 1) info.weight_dtypes += fmt::format(" x{}", count[t]);
    count[t] = 0;
  }
  info.kv_bytes_per_token_f32 = static_cast<int64_t>(kv_bytes_per_token(c, DType::F32));
  info.kv_bytes_per_token_bf16 = static_cast<int64_t>(kv_bytes_per_token(c, DType::BF16));
  return info;
}

}  // namespace resa
