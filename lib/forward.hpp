// The transformer forward pass (lib/forward.cpp reads top to bottom): a chunk of tokens at consecutive positions
// through every layer, their keys and values into the KV cache, logits out. A chunk of one token is a decode step,
// attending densely or block-sparsely (lib/attention/); longer chunks are prefill, with their products through
// lib/gemm.cpp. forward_rectify() is the rectifier's dense re-run of tokens already in the cache (SPEC §2.5).
#pragma once

#include <vector>

#include "attention/attention.hpp"
#include "attention/lagkv.hpp"
#include "attention/policy.hpp"
#include "gemm.hpp"
#include "kv_cache.hpp"
#include "linear.hpp"
#include "model/model.hpp"
#include "resa/resa.hpp"
#include "timing.hpp"

namespace resa {

// What sparse decoding did, summed over the decode steps of a run (for GenerateStats).
struct AttentionCounters {
  int64_t selections = 0;       // (decode step, layer, KV head) triples that attended sparsely
  int64_t blocks_selected = 0;  // blocks those selections kept
  double bytes_read = 0;        // K/V and summary bytes those steps read
  double bytes_dense = 0;       // K/V bytes dense attention would have read in the same steps
  int rectify_passes = 0;        // passes run
  int rectify_skipped = 0;       // passes due but skipped: every token of the window was encoded attending to all
                                 // blocks (see rectifier.hpp)
};

// Where a run's time and memory traffic go (`resa bench`): bytes are always counted (a few additions per layer), the
// phase timers run only when `timed` is set (two clock reads per phase and layer). The phases are exclusive: total_s
// (the time inside forward() and forward_rectify()) less the others is the rest (embedding, norms, RoPE, K/V
// stores, residual adds).
struct Profile {
  bool timed = false;
  double total_s = 0;
  double matmul_s = 0;     // weight matrix products: projections, MLP, LM head
  double attention_s = 0;  // attention over the cache (decode, prefill, rectify), block selection not included
  double select_s = 0;     // sparse steps' block selection (summary scores, top-n)
  double rectify_s = 0;    // whole rectify passes (lib/attention/rectifier.cpp); their phases are counted only here
  double weight_bytes = 0; // weight matrices read: every matrix a chunk multiplies, once per chunk (and the
                           // embedding rows looked up)
  double kv_bytes = 0;     // keys, values and block summaries attention reads
};

inline AttentionOptions dense_attention() {
  AttentionOptions o;
  o.attn = Attention::Dense;
  return o;
}

// Everything a forward pass writes: activations for up to max_rows tokens, scratch and the KV cache. Allocated
// once per generation; a decode step allocates nothing.
struct RunState {
  int context = 0;   // positions: the longest prompt + generation (the cache holds policy.capacity(context) entries)
  int max_rows = 0;  // tokens per forward chunk
  int threads = 1;   // the threads every parallel loop of a call runs on (set_threads); prefill scratch is per thread
  std::vector<float> inv_freq;            // [head_dim / 2] RoPE inverse frequencies, scaling applied
  std::vector<float> x;                   // [max_rows, dim] the residual stream
  std::vector<float> xb;                  // [max_rows, max(dim, q_dim)] normalised input / attention output
  std::vector<float> xb2;                 // [max_rows, dim] projection output
  std::vector<float> q;                   // [max_rows, q_dim]
  std::vector<float> k, v;                // [max_rows, kv_dim]
  std::vector<float> hb, hb2;             // [max_rows, hidden_dim] gate, up
  std::vector<float> rope_cos, rope_sin;  // [max_rows, head_dim / 2]
  GemmInput gemm_input = GemmInput::Bf16; // a chunk's products: activations rounded to bf16, or f32 (exact mode)
  std::vector<uint16_t> xbf;              // [max_rows, max(dim, hidden_dim, q_dim)] a chunk's input rounded to bf16
  CausalScratch causal;                   // causal attention (prefill, rectify): per-thread output rows
  std::vector<float> logits;              // [vocab] the last position's logits
  KvCache kv;

  // The policy (lib/attention/policy.hpp): decode attention, how far a chunk fills a layer, compression; its knobs.
  AttentionOptions attn;
  AttentionPolicy policy;
  LagKvScratch lag_scratch;               // LagKV: compressing one layer
  DecodeScratch decode;                   // decode attention (SPEC §2): flash-decoding splits, sparse selection
  // [context] 1 where the position's keys and values come from a decode step that attended to fewer than all blocks
  // of some layer (a sparse step outside the dense regime); 0 where they were computed densely (prefill, dense or
  // all-block steps, the rectify pass). What the rectifier has to repair.
  std::vector<uint8_t> sparse_encoded;
  AttentionCounters counters;
  Profile profile;
};

// kv_type: DType::F32 or DType::BF16; F32 is also the exact mode of a chunk's products (f32 activations against
// bf16 weights, GemmInput::F32), BF16 the fast one (activations rounded to bf16 where the CPU has bf16 dot products).
// max_rows 0 picks the default (kDefaultUbatch, at most the context). attn: the policy and its knobs (validated here;
// the cache's block size is attn.block_size; its prefill decides how many entries the cache holds for `context`
// positions).
// threads: what every call runs on until set_threads changes it (0: OpenMP's default, resolve_threads).
RunState make_run_state(const ModelConfig& config, int context, DType kv_type = DType::F32, int max_rows = 0,
                        const AttentionOptions& attn = dense_attention(), int threads = 0);

// The threads the state's next calls run on (resolve_threads(threads)); grows the per-thread scratch when needed.
void set_threads(RunState& state, const ModelConfig& config, int threads);

// Switches the decode half of the state's policy (dense, sparse, resa) keeping its cache and its prefill half
// (`resa bench` measures every policy over one filled cache). The state must have been made with a sparse policy
// (its scratch) unless a is Dense.
void set_decode_attention(RunState& state, Attention a);

// Switches the decode policy and its knobs (o.attn, sparse_ratio, min_blocks, local/sink blocks, rectify_every),
// allocating the sparse policies' scratch when the state has none; o's block size and prefill must be the state's.
void set_decode_policy(RunState& state, const ModelConfig& config, const AttentionOptions& o);

// Runs tokens[0, n) at positions pos, pos+1, ... (pos + n <= context) through the model, in chunks of at most
// max_rows (each layer's attention in the steps the policy allows), and writes their keys and values into the cache:
// appended when pos is the cache's next position, else over the entries of positions pos.. and everything after them
// dropped (never into what LagKV compressed). After each step the policy acts on the layer's cache (LagKV
// compresses). Returns the logits of the last token (a view into state.logits, or into all_logits). With all_logits
// (room for [n, vocab]) every position's logits are written. One token is a decode step (the policy's attention)
// unless as_prompt: then it is a prompt's chunk of one row (dense causal attention), as every longer chunk is.
const float* forward(const ModelData& model, RunState& state, const int* tokens, int n, int pos,
                     float* all_logits = nullptr, bool as_prompt = false);

// The rectify pass: re-runs tokens[0, n), already in the cache at positions pos .. pos+n-1 (the last n entries of
// every head), through every layer with dense causal attention over the cache, overwriting their keys and values and
// the touched block summaries. Computes no logits: the last layer stops once its keys and values are stored.
void forward_rectify(const ModelData& model, RunState& state, const int* tokens, int n, int pos);

inline const float* forward_token(const ModelData& model, RunState& state, int token, int pos) {
  return forward(model, state, &token, 1, pos);
}

}  // namespace resa
