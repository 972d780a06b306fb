// The public API (include/resa/resa.hpp): loading a model, describing it, and the generation loop shared by the
// CLI and applications.
#include <chrono>
#include <filesystem>

#include <cblas.h>
#include <fmt/format.h>
#include <omp.h>

#include "forward.hpp"
#include "model/hf_checkpoint.hpp"
#include "model/llama2c.hpp"
#include "model/model.hpp"
#include "resa/resa.hpp"
#include "sampler.hpp"
#include "tokenizer/utf8.hpp"

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

const ModelData& data_of(const Model& model) {
  if (!model.data) throw Error("the model is not loaded");
  return *model.data;
}

const Llama2cTokenizer& tokenizer_of(const ModelData& m) {
  if (!m.tokenizer)
    throw Error(fmt::format("'{}' has no tokenizer resa can read yet: give token ids with --prompt-ids "
                            "(generate_ids() in the API)",
                            m.path));
  return *m.tokenizer;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void use_threads(int threads) {
  if (threads < 0) throw Error(fmt::format("the number of threads must be >= 0, got {}", threads));
  if (threads == 0) return;  // OpenMP's and OpenBLAS's default: every core
  omp_set_num_threads(threads);
  openblas_set_num_threads(threads);
}

DType kv_dtype(KvType t) { return t == KvType::F32 ? DType::F32 : DType::BF16; }

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

void check_prompt(const ModelConfig& c, const std::vector<int>& ids, int context) {
  if (ids.empty()) throw Error("the prompt is empty: give at least one token");
  for (int id : ids)
    if (id < 0 || id >= c.vocab_size)
      throw Error(fmt::format("prompt token id {} is outside the vocabulary [0, {})", id, c.vocab_size));
  if (static_cast<int>(ids.size()) > context)
    throw Error(fmt::format("the prompt is {} tokens, longer than the context of {} tokens", ids.size(), context));
}

int context_of(const ModelConfig& c, const GenerateOptions& opt) {
  if (opt.n_predict < 0)
    throw Error(fmt::format("the number of tokens to generate must be >= 0, got {}", opt.n_predict));
  if (opt.context < 0 || opt.context > c.max_seq_len)
    throw Error(fmt::format("the context must be between 1 and the model's maximum of {} positions, got {}",
                            c.max_seq_len, opt.context));
  return opt.context > 0 ? opt.context : std::min(c.max_seq_len, kDefaultMaxContext);
}

// The loop behind generate() and generate_ids(): prefill the prompt in one batch, then sample, report and feed back
// each new token until n_predict tokens, an end-of-text token (unless ignored) or the end of the context.
GenerateStats run_generation(const ModelData& m, const std::vector<int>& ids, const GenerateOptions& opt,
                             const std::function<void(int prev, int next)>& on_next) {
  const ModelConfig& c = m.config;
  const int context = context_of(c, opt);
  check_prompt(c, ids, context);
  use_threads(opt.threads);
  const uint64_t seed =
      opt.sampling.seed >= 0 ? static_cast<uint64_t>(opt.sampling.seed)
                             : static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  Sampler sampler = make_sampler(c.vocab_size, opt.sampling, seed, context);
  for (int id : ids) accept(sampler, id);
  RunState state = make_run_state(c, context, kv_dtype(opt.kv_type));

  GenerateStats stats;
  stats.prompt_tokens = static_cast<int>(ids.size());
  auto t0 = std::chrono::steady_clock::now();
  const float* logits = forward(m, state, ids.data(), static_cast<int>(ids.size()), 0);
  stats.prompt_seconds = seconds_since(t0);

  t0 = std::chrono::steady_clock::now();
  int token = ids.back();
  int pos = static_cast<int>(ids.size()) - 1;  // the position whose logits we hold
  while (stats.generated_tokens < opt.n_predict) {
    const int next = sample(sampler, logits);
    if (!opt.ignore_eos && c.is_eos(next)) break;
    ++stats.generated_tokens;
    accept(sampler, next);
    if (on_next) on_next(token, next);
    token = next;
    if (stats.generated_tokens == opt.n_predict || pos + 1 >= context) break;
    logits = forward_token(m, state, token, ++pos);
  }
  stats.generate_seconds = seconds_since(t0);
  return stats;
}

int64_t vec_params(const ModelConfig& c) {
  // Norm weights and biases.
  const int64_t per_layer = 2 * c.dim + (c.qkv_bias ? c.q_dim() + 2 * c.kv_dim() : 0);
  return c.n_layers * per_layer + c.dim;
}

}  // namespace

Model load_model(const std::string& model_path, const std::string& tokenizer_path) {
  auto data = std::make_shared<ModelData>();
  data->path = model_path;
  if (const std::string dir = hf_dir_of(model_path); !dir.empty()) {
    HfCheckpoint ck = load_hf_checkpoint(dir);
    data->config = std::move(ck.config);
    data->files = std::move(ck.tensors.files);
    data->aligned_copies = std::move(ck.tensors.aligned_copies);
    data->weights = std::move(ck.weights);
    if (!tokenizer_path.empty())
      throw Error(fmt::format("--tokenizer: '{}' is a Hugging Face model; resa does not read its tokenizers yet, "
                              "give token ids with --prompt-ids",
                              model_path));
    return Model{std::move(data)};
  }
  Llama2cCheckpoint ck = load_llama2c_checkpoint(model_path);
  data->config = ck.config;
  data->files.push_back(std::move(ck.file));
  data->weights = std::move(ck.weights);
  const std::string tok_path =
      tokenizer_path.empty() ? find_tokenizer_beside(model_path, data->config.vocab_size) : tokenizer_path;
  data->tokenizer = load_llama2c_tokenizer(tok_path, data->config.vocab_size);
  data->tokenizer->bos_id = data->config.bos_id;
  return Model{std::move(data)};
}

ModelInfo model_info(const Model& model) {
  const ModelData& m = data_of(model);
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
  info.default_context = std::min(c.max_seq_len, kDefaultMaxContext);
  info.rope = fmt::format("{}, theta {}, {}", c.rope.layout == RopeLayout::Interleaved ? "interleaved" : "rotate_half",
                          c.rope.theta, c.rope.type);
  if (c.rope.type == "linear") info.rope += fmt::format(" x{}", c.rope.factor);
  if (c.rope.type == "llama3")
    info.rope += fmt::format(" (factor {}, low {}, high {}, original {})", c.rope.factor, c.rope.low_freq_factor,
                             c.rope.high_freq_factor, c.rope.original_max_positions);
  info.tied_embeddings = w.lm_head.data == w.token_embedding.data;
  info.qkv_bias = c.qkv_bias;
  info.bos_id = c.bos_id;
  info.eos_ids = c.eos_ids;
  info.has_tokenizer = m.tokenizer.has_value();

  std::vector<const Mat*> mats = {&w.token_embedding};
  if (!info.tied_embeddings) mats.push_back(&w.lm_head);
  for (const LayerWeights& lw : w.layers)
    for (const Mat* mat : {&lw.wq, &lw.wk, &lw.wv, &lw.wo, &lw.w_gate, &lw.w_up, &lw.w_down}) mats.push_back(mat);
  bool f32 = false, bf16 = false, f16 = false;
  for (const Mat* mat : mats) {
    info.parameters += mat->rows * mat->cols;
    info.weight_bytes += static_cast<int64_t>(mat->bytes());
    (mat->dtype == DType::F32 ? f32 : mat->dtype == DType::BF16 ? bf16 : f16) = true;
  }
  const int64_t vec = vec_params(c);
  info.parameters += vec;
  info.weight_bytes += vec * static_cast<int64_t>(dtype_size(mats[0]->dtype));  // vectors are stored like the rest
  info.weight_dtypes = f32 + bf16 + f16 > 1 ? "mixed" : f32 ? "f32" : bf16 ? "bf16" : "f16";
  info.kv_bytes_per_token_f32 = static_cast<int64_t>(kv_bytes_per_token(c, DType::F32));
  info.kv_bytes_per_token_bf16 = static_cast<int64_t>(kv_bytes_per_token(c, DType::BF16));
  return info;
}

std::vector<int> tokenize(const Model& model, std::string_view text, bool bos) {
  const Llama2cTokenizer& tok = tokenizer_of(data_of(model));
  require_utf8(text, "the text");
  return encode(tok, text, bos);
}

std::string detokenize(const Model& model, int prev_token, int token) {
  const ModelData& m = data_of(model);
  const Llama2cTokenizer& tok = tokenizer_of(m);
  if (token < 0 || token >= m.config.vocab_size)
    throw Error(fmt::format("token id {} is outside the vocabulary [0, {})", token, m.config.vocab_size));
  return std::string(decode_piece(tok, prev_token, token));
}

GenerateStats generate(const Model& model, std::string_view prompt, const GenerateOptions& opt,
                       const std::function<void(std::string_view)>& on_text) {
  const ModelData& m = data_of(model);
  const Llama2cTokenizer& tok = tokenizer_of(m);
  require_utf8(prompt, "the prompt");
  const std::vector<int> ids = encode(tok, prompt, /*bos=*/true);
  context_of(m.config, opt);                         // option errors before any output
  check_prompt(m.config, ids, context_of(m.config, opt));

  Utf8Stream text;
  auto emit = [&](int prev, int token) {
    std::string_view piece = decode_piece(tok, prev, token);
    if (!is_printable_piece(piece)) return;
    std::string complete = text.push(piece);
    if (!complete.empty() && on_text) on_text(complete);
  };
  for (size_t i = 1; i < ids.size(); ++i) emit(ids[i - 1], ids[i]);  // echo the prompt, as run.c does
  GenerateStats stats = run_generation(m, ids, opt, emit);
  if (std::string rest = text.finish(); !rest.empty() && on_text) on_text(rest);
  return stats;
}

GenerateStats generate_ids(const Model& model, const std::vector<int>& prompt, const GenerateOptions& opt,
                           const std::function<void(int, std::string_view)>& on_token) {
  const ModelData& m = data_of(model);
  Utf8Stream text;
  GenerateStats stats = run_generation(m, prompt, opt, [&](int prev, int next) {
    std::string piece;
    if (m.tokenizer) {
      std::string_view p = decode_piece(*m.tokenizer, prev, next);
      if (is_printable_piece(p)) piece = text.push(p);
    }
    if (on_token) on_token(next, piece);
  });
  return stats;
}

std::vector<float> prompt_logits(const Model& model, const std::vector<int>& ids, KvType kv_type, int threads) {
  const ModelData& m = data_of(model);
  const int n = static_cast<int>(ids.size());
  if (n > m.config.max_seq_len)
    throw Error(fmt::format("the prompt is {} tokens, longer than the model's maximum of {} positions", n,
                            m.config.max_seq_len));
  check_prompt(m.config, ids, n);
  use_threads(threads);
  RunState state = make_run_state(m.config, n, kv_dtype(kv_type));
  std::vector<float> logits(static_cast<size_t>(n) * m.config.vocab_size);
  forward(m, state, ids.data(), n, 0, logits.data());
  return logits;
}

}  // namespace resa
