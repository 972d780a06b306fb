// resa — CPU-first inference for long-context LLM generation. The public API.
//
//   resa::Model model = resa::load_model("models/stories260K/stories260K.bin");   // or a Hugging Face directory
//   resa::GenerateOptions opt;  opt.n_predict = 64;
//   resa::generate(model, "Once upon a time", opt, [](std::string_view s) { std::cout << s; });
//
// Every failure (missing or malformed file, bad option, prompt longer than the context) throws resa::Error with a
// message that names the file, tensor or option at fault.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace resa {

// The one error type of the library.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class KvType { F32, BF16 };

// Rows of a prompt per forward chunk by default (llama.cpp's ubatch, whose default is also 512). Qwen2.5-1.5B shape,
// bf16 GEMM, 2 threads on Zen 5, pp1024 tokens/s over 2-4 runs each (resa bench -u): 128 rows 168-169, 256 rows
// 136-165 (median 156), 512 rows 154-175 (median 168), 1024 rows 170-179; the run-to-run noise is ~10 %.
inline constexpr int kDefaultUbatch = 512;

// The sampling chain, in Hugging Face's order: repetition penalty, temperature, top-k, top-p, min-p, then a draw.
// Defaults follow llama.cpp's.
struct SamplingOptions {
  float temperature = 0.8f;     // 0 = greedy (argmax after the repetition penalty)
  int top_k = 40;               // keep the k most probable tokens; 0 = off
  float top_p = 0.95f;          // keep the smallest set whose probability reaches top_p; 1 = off
  float min_p = 0.05f;          // keep tokens at least min_p times as probable as the most probable; 0 = off
  float repeat_penalty = 1.0f;  // > 1 discourages tokens among the last repeat_last_n (CTRL rule); 1 = off
  int repeat_last_n = 64;       // the penalty's window in tokens (prompt included); -1 = the whole context
  int64_t seed = -1;            // < 0: from the clock; any other value makes the output reproducible
};

// How decoding attends to the KV cache (SPEC §2). How the prompt fills it: Prefill below.
//   Dense:  every cached token.
//   Sparse: per layer and KV head, the top blocks of block_size tokens by an upper bound of q·k (ReSA's block-sparse
//           decoding); the error of each sparsely encoded token stays in the cache.
//   Resa:   Sparse plus the rectifier: every rectify_every generated tokens the last rectify_every tokens are re-run
//           densely and their K/V overwritten (Rectified Sparse Attention).
enum class Attention { Dense, Sparse, Resa };

// "dense", "sparse", "resa": a policy's name in flags, tables and rows; parse_attention is its inverse (resa::Error
// for any other name).
const char* attention_name(Attention a);
Attention parse_attention(std::string_view name);

// How a prompt enters the KV cache (SPEC §3).
//   Dense: every token, in chunks of up to the ubatch, attending causally to everything before it.
//   LagKv: LagKV / Lag-Relative Sparse Attention's chunked prefill: chunks of lag_size tokens (the first
//          lag_sink + 2 lag_size), each attending to what the cache holds; after each chunk, every full partition of
//          lag_size tokens but the last is compressed to its top int(lag_ratio * lag_size) tokens per KV head, scored
//          against the partition after it. Decoding continues the schedule token by token. The cache holds
//          S + int(r L)(n - 1) + L + (T - S) mod L entries per head after T >= S + L tokens (n = (T - S) / L).
enum class Prefill { Dense, LagKv };

// "dense", "lagkv".
const char* prefill_name(Prefill p);

// The knobs of SPEC §2.3, named as the CLI flags. Blocks kept per step: n = max(ceil(M * sparse_ratio),
// min(M, min_blocks)) of the M = ceil(cache_len / block_size) blocks, the last local_blocks and the first sink_blocks
// always among them. Rules: sparse_ratio > 0, block_size >= 1, min_blocks >= 1, local_blocks >= 0, sink_blocks >= 0,
// local_blocks + sink_blocks <= min_blocks, rectify_every >= 0 (0: never, which makes Resa behave as Sparse).
// LagKV's (SPEC §3.2-3.3): lag_size >= 1, lag_sink >= 0, 0 < lag_ratio <= 1 (1 keeps every token: dense, chunked),
// and under Resa rectify_every <= lag_size (rectification must never rewrite a token LagKV has evicted).
struct AttentionOptions {
  Attention attn = Attention::Resa;
  double sparse_ratio = 0.1;  // the fraction of blocks kept (the paper's p = 0.9)
  int block_size = 16;
  int min_blocks = 16;
  int local_blocks = 1;
  int sink_blocks = 0;
  int rectify_every = 32;  // f: used by Attention::Resa only
  Prefill prefill = Prefill::Dense;
  int lag_sink = 16;        // S: first tokens never compressed
  int lag_size = 128;       // L: tokens per partition
  double lag_ratio = 0.2;   // r: share of a compressed partition kept (int(r * L) tokens per KV head)
};

struct GenerateOptions {
  int n_predict = 256;            // tokens to generate (fewer if the model ends the text or the context fills up)
  int context = 0;                // positions to keep (prompt + generated); 0 = the model's maximum, at most 4096
  int threads = 0;                // 0 = every core
  KvType kv_type = KvType::BF16;  // the KV cache's element type, and the mode of a chunk's weight products: with
                                  // bf16 activations are rounded to bf16 for them (see prefill_products)
  bool ignore_eos = false;        // true: generate exactly n_predict tokens (context permitting)
  SamplingOptions sampling;
  AttentionOptions attention;
};

struct GenerateStats {
  int prompt_tokens = 0;     // including BOS
  int generated_tokens = 0;  // sampled tokens, an end-of-text token that stopped generation not counted
  double prompt_seconds = 0;
  double generate_seconds = 0;
  // Sparse and Resa decoding: blocks selected per layer and KV head, averaged over the decode steps; the K/V bytes
  // those steps read (selected tokens' keys and values plus the block summaries scored) as a share of what dense
  // attention would have read; rectification passes run.
  double mean_blocks_selected = 0;
  double kv_read_share = 1;
  int rectify_passes = 0;
  int rectify_skipped = 0;  // passes due but skipped: their window was decoded in the dense regime (all blocks)
  int reused_tokens = 0;    // set_prompt(): tokens of the prompt already in the session's cache
  int cache_positions = 0;  // positions the KV cache holds afterwards (a chat's whole conversation so far)
  int kv_tokens = 0;        // entries each KV head holds afterwards (cache_positions unless LagKV evicted some)
  int64_t kv_bytes = 0;     // bytes the KV cache holds: keys and values of kv_tokens entries in every layer and head
  double prompt_tokens_per_second() const { return prompt_seconds > 0 ? prompt_tokens / prompt_seconds : 0.0; }
  double tokens_per_second() const {
    return generate_seconds > 0 ? generated_tokens / generate_seconds : 0.0;
  }
};

struct ModelInfo {
  std::string path;
  std::string architecture;  // "llama2.c", "LlamaForCausalLM", "Qwen2ForCausalLM"
  int dim = 0, hidden_dim = 0, n_layers = 0, n_heads = 0, n_kv_heads = 0, head_dim = 0;
  int vocab_size = 0, max_seq_len = 0;
  int default_context = 0;       // what -c 0 gives: the model's maximum, at most 4096
  std::string rope;              // e.g. "rotate_half, theta 1000000, default"
  std::string weight_dtypes;     // of the matrices, with their counts when mixed: "bf16", "q8_0 x196, f32 x1"
  bool tied_embeddings = false;
  bool qkv_bias = false;
  int bos_id = -1;
  std::vector<int> eos_ids;
  bool has_tokenizer = false;
  std::string tokenizer;      // e.g. "byte-level BPE, tokenizer.json, 151665 tokens"; "" without one
  std::string chat_format;    // the chat template recognised: chatml, deepseek-r1, llama2, llama3; "" = none
  int64_t parameters = 0;     // counted once when the embedding and LM head are tied
  int64_t weight_bytes = 0;   // as stored
  int64_t kv_bytes_per_token_f32 = 0, kv_bytes_per_token_bf16 = 0;
};

struct ModelData;  // the engine's model: config, mapped weights, tokenizer (lib/model/model.hpp)

// A loaded model: shared and immutable, cheap to copy. Each generate() call keeps its own state (KV cache, scratch).
struct Model {
  std::shared_ptr<const ModelData> data;
};

// Where the weight matrices live once loaded.
// Copy (the default): copied out of the file mapping into memory of 2 MiB pages, each row by the thread that reads
//   it in a decode step: the fastest decode (measured on a 2-core VM, Qwen2.5-1.5B shape: the weight products of a
//   step 1.3-1.6x faster than from the mapping), at the price of the copy at load (0.7-3 s per 3 GB from the page
//   cache) and the weights held in the process's own memory (not shared with other processes through the page cache).
// Mmap: computed from the file mapping in place: instant load, shared pages, 4 KiB pages placed wherever the file was
//   first read.
enum class WeightLoad { Copy, Mmap };
const char* weight_load_name(WeightLoad w);  // "copy", "mmap"

// The type the weight matrices are computed in. AsStored: the checkpoint's own (f32, bf16 or f16). The others
// convert at load (so they need WeightLoad::Copy): BF16 rounds f32/f16 weights to bf16; Q8_0 and Q4_0 quantize every
// matrix, the embedding and the LM head included, to GGUF's q8_0 (8 bits per weight and an f16 scale per 32: 8.5
// bits) or q4_0 (4.5 bits per weight); norms and biases stay f32. A matrix whose rows do not hold whole blocks of 32
// stays as stored. Decode multiplies quantized weights in int8 (the activations quantized per block of 32, once per
// product); a chunk's products widen them to bf16 tile by tile.
enum class WeightType { AsStored, BF16, Q8_0, Q4_0 };
const char* weight_type_name(WeightType t);  // "stored", "bf16", "q8_0", "q4_0"

struct LoadOptions {
  WeightLoad weights = WeightLoad::Copy;
  int threads = 0;  // the threads decode will run on (Copy places rows for them); 0 = OpenMP's default
  WeightType type = WeightType::AsStored;
};

// Loads a model: a Hugging Face directory (config.json + model.safetensors or a sharded index; path may also name
// the config.json or a .safetensors file in it) or a llama2.c checkpoint file. A llama2.c checkpoint's tokenizer
// is tokenizer_path, else tok<vocab_size>.bin or tokenizer.bin beside it; a Hugging Face directory's is its
// tokenizer.json / tokenizer.model (without one, use the *_ids functions).
Model load_model(const std::string& model_path, const std::string& tokenizer_path = "",
                 const LoadOptions& options = {});

ModelInfo model_info(const Model& model);

// The CPU kernels in use: isa is "avx512", "avx2" or "scalar" (the widest this CPU and its OS support, or the one the
// environment variable RESA_ISA names); supported lists what this CPU can run. Throws Error when RESA_ISA names an
// unknown ISA or one this CPU cannot run (load_model and generation throw the same).
struct KernelInfo {
  std::string isa;
  std::string supported;
  std::string blas;          // the BLAS f32 weights go through and its kernels: "OpenBLAS 0.3.21 ... (core Haswell)"
  std::string blas_warning;  // empty, or why that BLAS runs below this CPU and the remedy (an environment variable)
};
KernelInfo kernel_info();

// What a chunk's weight products (prefill, the rectify pass) run on for this model's weights and a KV type's mode:
// KvType::BF16 is the fast one (activations rounded to bf16, AVX512_BF16 dot products where the CPU has them),
// KvType::F32 the exact one (f32 activations, bf16/f16 weights widened). E.g. "bf16 x bf16 (AVX512_BF16 vdpbf16ps),
// activations rounded to bf16".
std::string prefill_products(const Model& model, KvType kv_type);
// What a decode step's weight products run on, e.g. "q8_0 in 8-row groups x int8 activations (AVX512_VNNI vpdpbusd)".
std::string decode_products(const Model& model);

// Text -> token ids (with BOS first when bos is true), and one token id -> the text it prints after prev_token.
// Both throw when the model has no tokenizer.
std::vector<int> tokenize(const Model& model, std::string_view text, bool bos = true);
std::string detokenize(const Model& model, int prev_token, int token);

// A tokenizer on its own, no weights needed: a tokenizer.json (byte-level BPE), a tokenizer.model (SentencePiece, or
// Llama 3's tiktoken file), a llama2.c tokenizer.bin, or a directory holding one (with its tokenizer_config.json).
struct Tokenizer;  // lib/tokenizer/tokenizer.hpp
struct TextTokenizer {
  std::shared_ptr<const Tokenizer> impl;
};

TextTokenizer open_tokenizer(const std::string& path);

// BOS first when bos is true and the tokenizer's reference adds one (Llama 2/3, DeepSeek; not Qwen2). Special tokens
// written in the text ("<|im_start|>") become their ids. Invalid UTF-8 is an error naming the byte offset.
std::vector<int> tokenize(const TextTokenizer& tok, std::string_view text, bool bos = true);

// The text of ids (special tokens written out, SentencePiece's control tokens and dummy-prefix space dropped); a
// character left incomplete at the end becomes U+FFFD.
std::string detokenize(const TextTokenizer& tok, const std::vector<int>& ids);

// Runs the prompt, then samples up to opt.n_predict tokens. on_text receives the prompt's text, then each new
// piece of text as soon as it is generated. Stops early when the model emits an end-of-text token.
GenerateStats generate(const Model& model, std::string_view prompt, const GenerateOptions& opt,
                       const std::function<void(std::string_view)>& on_text);

// The same from token ids (used as given: add BOS yourself if the model wants it). on_token receives each generated
// id and its text (empty when the model has no tokenizer).
GenerateStats generate_ids(const Model& model, const std::vector<int>& prompt, const GenerateOptions& opt,
                           const std::function<void(int, std::string_view)>& on_token);

// The logits [ids.size(), vocab] of every prompt position (row i predicts token i + 1), from one batched prefill
// with f32 activations and a KV cache of kv_type (f32 unless asked).
std::vector<float> prompt_logits(const Model& model, const std::vector<int>& ids, KvType kv_type = KvType::F32,
                                 int threads = 0);

// Fidelity of a policy (SPEC §4), teacher-forced: the first tokens are prefilled as opt.attention.prefill says (dense,
// or LagKV), the last sparse_last are fed one at a time under opt.attention (rectifying on its schedule, counted from
// the first token fed this way; LagKV compressing on), and each step is compared with the dense logits of the same
// position.
struct PerplexityOptions {
  int context = 0;              // tokens of the text used (its first ones); 0 = the model's default context
  int sparse_last = 256;        // tokens fed one at a time at the end (at most context - 1)
  int threads = 0;              // 0 = every core
  KvType kv_type = KvType::F32;
  AttentionOptions attention;   // the policy under test
};

struct PerplexityResult {
  int tokens = 0;                  // tokens evaluated in all
  int fed = 0;                     // of which fed one at a time
  double perplexity = 0;           // exp(mean NLL) of the fed tokens' next-token predictions (fed - 1 of them)
  double dense_perplexity = 0;     // the same predictions from dense logits
  double mean_kl = 0;              // mean KL(dense || policy) of the next-token distributions, over the fed tokens
  double top1_agreement = 0;       // share of fed positions where the policy's argmax equals dense's
  double top3_accuracy = 0;        // of the last 32 predictions: share whose true next token is in the policy's top 3
  double dense_top3_accuracy = 0;  // the same for dense
  // K/V misalignment: ||cache - dense encoding|| / ||dense encoding|| (Frobenius, keys and values of every layer and
  // KV head) over the last f tokens fed, at each point where the rectifier's schedule is due (f = rectify_every,
  // also for --attn sparse and dense, which only measure there): averaged over those points, before the pass and
  // after it (Resa only; NaN otherwise or when no point was reached). kv_error_end: over all fed tokens at the end.
  double kv_error_before = 0, kv_error_after = 0, kv_error_end = 0;
  int rectify_passes = 0;
  int rectify_skipped = 0;  // due but skipped: the window was decoded in the dense regime (all blocks at every step)
  double mean_blocks_selected = 0;  // per layer and KV head, over the fed tokens (sparse and resa)
};

PerplexityResult perplexity(const Model& model, const std::vector<int>& ids, const PerplexityOptions& opt);

// Chat. The model's chat format comes from its tokenizer_config.json (or is named: "chatml" for Qwen2/Qwen2.5,
// "deepseek-r1", "llama2", "llama3").
struct ChatMessage {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
};

// The conversation as the chat template renders it (the text transformers' apply_chat_template() gives), ending
// with the prompt for the assistant's reply when add_generation_prompt.
std::string apply_chat_template(const Model& model, const std::vector<ChatMessage>& messages,
                                bool add_generation_prompt = true, const std::string& template_name = "");

struct ChatOptions {
  std::string system;         // the system message; "" = the template's default (if it has one)
  std::string template_name;  // "" = from the model's tokenizer_config.json
};

// ---- Sessions: the caller's own state over a shared model ------------------------------------------------------------
//
//   resa::Session s = resa::open_session(model, {});
//   resa::feed(s, resa::tokenize(model, "Once upon a time"));
//   resa::generate(s, 64, [](int id, std::string_view text) { std::cout << text; return true; });   // false: stop
//   resa::save_session(s, "story.session");            // later, in this process or another: load_session
//
// A session holds one sequence: its tokens, their KV cache, the scratch of a forward pass and the sampler. The model
// is shared and never written, so any number of sessions over one model may run at once on different threads; one
// session is used by one thread at a time. Copies of a Session share its state.

// The threads one call runs on, given per call: sessions on different threads of an application each run on what
// they are given (nothing changes OpenMP's process-wide default).
struct RunContext {
  int threads = 0;  // 0 = OpenMP's default for the calling thread (OMP_NUM_THREADS, else every core)
};

// The threads a call given RunContext{0} runs on, from this thread.
int default_threads();

struct SessionOptions {
  int context = 0;                // positions the session can hold; 0 = the model's maximum, at most 4096
  KvType kv_type = KvType::BF16;  // as GenerateOptions::kv_type
  bool ignore_eos = false;        // true: generate() goes on past end-of-text tokens
  SamplingOptions sampling;
  AttentionOptions attention;
};

// A GenerateOptions' session settings (its context, KV type, ignore_eos, sampling and attention).
SessionOptions session_options(const GenerateOptions& opt);

struct SessionState;  // lib/session.hpp
struct Session {
  std::shared_ptr<SessionState> state;
};

// Allocates the session's KV cache and scratch for opt.context positions.
Session open_session(const Model& model, const SessionOptions& opt = {}, const RunContext& ctx = {});

// Appends tokens to the sequence and runs them through the model in one prefill (under Attention::Resa, first
// rectifying what earlier decode steps left sparse). Throws when they do not fit in the context or an id is outside
// the vocabulary (the session is then unchanged). The result counts the tokens fed and their time (prompt_*).
GenerateStats feed(Session& session, const std::vector<int>& tokens, const RunContext& ctx = {});

// Makes the sequence `tokens`: keeps the longest prefix the session already holds (rewinding what follows it, so a
// conversation's next request reuses its cache) and feeds the rest; when the whole of `tokens` is held, the logits
// are its last position's. stats.reused_tokens counts the tokens kept, prompt_tokens those fed. A prefix LagKV has
// compressed into cannot be cut: then it starts over.
GenerateStats set_prompt(Session& session, const std::vector<int>& tokens, const RunContext& ctx = {});

// Changes the sampling from the next token on (a new seed: the same options and seed give the same draws again).
void set_sampling(Session& session, const SamplingOptions& sampling);

// Changes how the session decodes from its next step: o's policy and decode knobs (attn, sparse_ratio, min_blocks,
// local_blocks, sink_blocks, rectify_every). Its block_size and prefill knobs must be the session's (they shape the
// cache): resa::Error otherwise.
void set_attention(Session& session, const AttentionOptions& o);

// Samples the next token from the logits of the sequence's last position and appends it; returns it. The token enters
// the KV cache lazily, at the next call that needs it (step, feed, logits, rewind), so the last token of a
// generation costs no forward pass unless the session goes on. Throws on an empty session or a full context.
int step(Session& session, const RunContext& ctx = {});

// The logits [vocab] that predict the token after the sequence (valid until the session's next call).
const std::vector<float>& logits(Session& session, const RunContext& ctx = {});

// Up to n_predict step()s, calling on_token(id, text) after each (text: the bytes it completes, "" without a
// tokenizer); stops early when on_token returns false, at an end-of-text token (kept as the sequence's last token,
// unless SessionOptions::ignore_eos) or when the context is full. The result counts the generated tokens (an
// end-of-text token that stopped generation not counted) and the cache afterwards.
GenerateStats generate(Session& session, int n_predict,
                       const std::function<bool(int id, std::string_view text)>& on_token, const RunContext& ctx = {});

// The sequence: every token fed or sampled, in order.
std::vector<int> session_tokens(const Session& session);

// Empties the sequence (the memory stays, the sampler's seed and draws go on).
void reset(Session& session);

// Drops the last n tokens of the sequence; the logits become the new last position's (one decode step recomputes
// them). Throws when n exceeds the sequence or when LagKV has compressed a position it would drop.
void rewind(Session& session, int n, const RunContext& ctx = {});

// The session's state in a file: the tokens, the KV cache, the policy's state (block summaries, what is left to
// rectify, LagKV's compressed entries), the sampler and the last logits, tagged with a fingerprint of the model.
// load_session() restores it into a session of the same model, KV type, block size and prefill policy whose context
// holds it, and refuses any other (resa::Error naming what differs); a file of another format version, or truncated,
// is refused too. The decode policy (dense, sparse, resa) stays the session's own.
void save_session(Session& session, const std::string& path);
void load_session(Session& session, const std::string& path);

struct ChatSession;  // the conversation's state (lib/chat.cpp)

// A multi-turn conversation that keeps its KV cache: each turn prefills only its new tokens.
struct Chat {
  std::shared_ptr<ChatSession> session;
};

Chat start_chat(const Model& model, const GenerateOptions& opt, const ChatOptions& chat_opt = {});

// One turn: the user's message in, the reply streamed to on_text (up to opt.n_predict tokens, ending at the model's
// end-of-turn token). stats.prompt_tokens counts the tokens prefilled for this turn only.
GenerateStats chat(Chat& chat, std::string_view user_message, const std::function<void(std::string_view)>& on_text);

}  // namespace resa
