// The transformer, top to bottom, for a chunk of n tokens at positions pos .. pos+n-1:
//
//   x = embedding[tokens]
//   for each layer:
//     x += Wo · attention(RoPE(Wq · rmsnorm(x) + bq), RoPE(Wk · rmsnorm(x) + bk), Wv · rmsnorm(x) + bv)
//                                                      (grouped-query, causal over the cache and the chunk)
//     x += Wdown · (silu(Wgate · rmsnorm(x)) * (Wup · rmsnorm(x)))                       (SwiGLU)
//   logits = LMhead · rmsnorm(x)
//
// One token (a decode step) runs on the kernels of simd/ (matrix-vector products over the weights as stored);
// a longer chunk (prefill, the rectify pass) runs its products through lib/gemm.cpp (the kernel table's bf16 GEMM:
// activations rounded to bf16 and vdpbf16ps where the CPU has AVX512_BF16, unless the run is in the exact f32 mode),
// the residual adds of Wo and Wdown accumulated into x by the product itself. Biases exist for Qwen2's q/k/v only.
//
// Attention (lib/attention/) depends on the pass: a prefill chunk attends causally over the cache and itself (the
// kernel table's causal pass); a decode step as the policy says (state.policy: dense or block-sparse, SPEC §2.4); the
// rectify pass (SPEC §2.5) re-runs tokens already in the cache with dense causal attention and stops in the last
// layer once that layer's K/V are stored. In each layer a chunk is stored and attended in the steps the policy allows,
// the policy acting on that layer's cache after each step (LagKV's compression, SPEC §3.3; store_and_attend). Keys
// and values go into the cache as entries that carry their positions; attention reads a head's first n entries.
//
// For one token the arithmetic follows llama2.c's run.c operation for operation (same summation order, division by
// sqrt(head_dim), powf/cosf/sinf for RoPE), so greedy decoding of a llama2.c checkpoint with an f32 KV cache
// reproduces run.c byte for byte.
#include "forward.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <fmt/format.h>
#include <omp.h>

#include "attention/dense.hpp"
#include "attention/flash_decode.hpp"
#include "gemm.hpp"
#include "linear.hpp"
#include "parallel.hpp"
#include "ops.hpp"
#include "resa/resa.hpp"
#include "simd/kernels.hpp"

namespace resa {

KernelInfo kernel_info() {
  try {
    return {simd::kernels().isa, simd::supported_isas(), fmt::format("{} (core {})", blas_config(), blas_core()),
            blas_warning()};
  } catch (const std::runtime_error& e) {  // RESA_ISA names a table this CPU cannot run
    throw Error(e.what());
  }
}

RunState make_run_state(const ModelConfig& c, int context, DType kv_type, int max_rows, const AttentionOptions& attn,
                        int threads) {
  kernel_info();  // a bad RESA_ISA is an error before any work
  if (context <= 0) throw Error(fmt::format("the context must be at least 1 position, got {}", context));
  single_threaded_openblas();
  RunState s;
  s.context = context;
  s.threads = resolve_threads(threads);
  s.max_rows = max_rows > 0 ? max_rows : std::min(kDefaultUbatch, context);
  const size_t R = s.max_rows;
  s.inv_freq = rope_inv_freq(c);
  s.x.assign(R * c.dim, 0.0f);
  s.xb.assign(R * std::max(c.dim, c.q_dim()), 0.0f);
  s.xb2.assign(R * c.dim, 0.0f);
  s.q.assign(R * c.q_dim(), 0.0f);
  s.k.assign(R * c.kv_dim(), 0.0f);
  s.v.assign(R * c.kv_dim(), 0.0f);
  s.hb.assign(R * c.hidden_dim, 0.0f);
  s.hb2.assign(R * c.hidden_dim, 0.0f);
  s.rope_cos.assign(R * c.head_dim / 2, 0.0f);
  s.rope_sin.assign(R * c.head_dim / 2, 0.0f);
  s.attn = attn;
  s.policy = make_policy(attn);
  s.kv = make_kv_cache(c, s.policy.capacity(context, attn), kv_type, attn.block_size, s.threads);
  if (attn.prefill == Prefill::LagKv) s.lag_scratch = make_lagkv_scratch(c.n_kv_heads, c.head_dim, attn);
  s.sparse_encoded.assign(context, 0);
  s.causal = make_causal_scratch(c, s.threads);
  s.gemm_input = kv_type == DType::F32 ? GemmInput::F32 : GemmInput::Bf16;
  if (R > 1 && s.gemm_input == GemmInput::Bf16)
    s.xbf.assign(R * std::max({c.dim, c.hidden_dim, c.q_dim()}), 0);
  s.logits.assign(c.vocab_size, 0.0f);

  s.decode = make_decode_scratch(c, s.kv, attn);
  return s;
}

void set_threads(RunState& s, const ModelConfig& c, int threads) {
  const int before = s.threads;
  s.threads = resolve_threads(threads);
  if (s.threads > before) s.causal = make_causal_scratch(c, s.threads);
}

void set_decode_attention(RunState& s, Attention a) {
  s.attn.attn = a;
  s.policy = make_policy(s.attn);
}

void set_decode_policy(RunState& s, const ModelConfig& c, const AttentionOptions& o) {
  const AttentionOptions& a = s.attn;
  if (o.block_size != a.block_size)
    throw Error(fmt::format("--block-size {} differs from the session's {} (it shapes the cache)", o.block_size,
                            a.block_size));
  if (o.prefill != a.prefill ||
      (o.prefill == Prefill::LagKv &&
       (o.lag_sink != a.lag_sink || o.lag_size != a.lag_size || o.lag_ratio != a.lag_ratio)))
    throw Error("the prefill policy and its knobs differ from the session's (they shape the cache)");
  AttentionPolicy policy = make_policy(o);  // validates o
  if (o.attn != Attention::Dense && s.decode.selected.empty()) s.decode = make_decode_scratch(c, s.kv, o);
  s.attn = o;
  s.policy = policy;
}

namespace {

GemmScratch gemm_scratch(RunState& s) { return {s.xbf.empty() ? nullptr : s.xbf.data(), s.threads}; }

// Y[n][ldy] (+)= X[n, W.cols] · W^T: one row is a matvec, more a chunk's GEMM (lib/gemm.cpp).
void matmul_untimed(RunState& s, float* Y, int ldy, const float* X, int n, const Mat& W, bool accumulate) {
  if (n > 1) return gemm(Y, ldy, X, n, W, accumulate, s.gemm_input, gemm_scratch(s));
  if (!accumulate) return matvec(Y, W, X, s.threads);
  float* out = s.xb2.data();  // a decode step's residual add (xb2 is [max_rows, dim], W.rows <= dim here)
  matvec(out, W, X, s.threads);
  for (int64_t i = 0; i < W.rows; ++i) Y[i] += out[i];
}

// f(), a weight product reading `bytes` of weights, counted in state.profile.
template <class F>
void weight_product(RunState& s, size_t bytes, F&& f) {
  s.profile.weight_bytes += static_cast<double>(bytes);
  timed(s.profile.timed, s.profile.matmul_s, f);
}

void matmul(RunState& s, float* Y, const float* X, int n, const Mat& W) {
  weight_product(s, W.bytes(), [&] { matmul_untimed(s, Y, static_cast<int>(W.rows), X, n, W, false); });
}

// x += X · W^T (the residual add of an attention or MLP block's output projection).
void matmul_add(RunState& s, float* x, const float* X, int n, const Mat& W) {
  weight_product(s, W.bytes(), [&] { matmul_untimed(s, x, static_cast<int>(W.rows), X, n, W, true); });
}

enum class Pass { Prefill, Decode, Rectify };

// Attention in one layer for the chunk's rows r0 .. r0+n-1, whose entries are first .. first+n-1 (a decode step's
// token at position pos). Prefill and the rectify pass attend causally over the cache; a decode step as the policy
// says, its counts and the rectifier's mark recorded here.
void attend(const ModelConfig& c, RunState& s, Pass pass, int layer, int first, int n, int pos, int r0) {
  const LayerCache cache{&s.kv, layer, first + n};
  const size_t at = static_cast<size_t>(r0) * c.q_dim();
  const AttentionRows io{s.q.data() + at, s.xb.data() + at, c.q_dim()};
  if (pass != Pass::Decode) {
    s.profile.kv_bytes += dense_causal(c, cache, io, first, n, s.causal, s.threads);
    return;
  }
  const DecodeStep st = s.policy.decode(c, cache, io, s.attn, s.decode, s.threads, s.profile.timed);
  s.profile.kv_bytes += st.kv_bytes;
  s.profile.select_s += st.select_s;
  if (st.left_out) s.sparse_encoded[pos] = 1;
  if (st.sparse) {
    AttentionCounters& count = s.counters;
    count.bytes_read += st.kv_bytes;
    count.bytes_dense += st.bytes_dense;
    count.selections += c.n_kv_heads;
    count.blocks_selected += static_cast<int64_t>(st.blocks_selected) * c.n_kv_heads;
  }
}

// attend(), its time in state.profile.attention_s less what block selection took (select_s).
void attention(const ModelConfig& c, RunState& s, Pass pass, int layer, int first, int n, int pos, int r0) {
  Profile& p = s.profile;
  const double select_before = p.select_s;
  double t = 0;
  timed(p.timed, t, [&] { attend(c, s, pass, layer, first, n, pos, r0); });
  p.attention_s += t - (p.select_s - select_before);
}

// The chunk's keys and values into layer l's cache and its attention there, in steps of at most the policy's room,
// the policy acting on the layer's cache after each (LagKV: up to where the tail holds two partitions, then
// compression). Each step so attends to the cache exactly as SPEC §3.3's chunk-by-chunk schedule has it, while the
// chunk's weight products run whole: a layer's keys and values depend only on the layers below, and its compression
// only on its own keys and values. A rectify pass rewrites entries in place: one step, nothing after.
void store_and_attend(const ModelConfig& c, RunState& s, Pass pass, int layer, int first, int n, int pos) {
  const size_t kv_dim = c.kv_dim();
  for (int done = 0, entry = first; done < n;) {
    const int rows = pass == Pass::Rectify ? n : std::min(n - done, s.policy.room(s.kv, layer, s.attn));
    s.kv.store(layer, entry, rows, s.k.data() + done * kv_dim, s.v.data() + done * kv_dim, pos + done);
    attention(c, s, pass, layer, entry, rows, pos + done, done);
    if (pass != Pass::Rectify) s.policy.after_append(s.kv, layer, s.attn, s.lag_scratch);
    done += rows;
    entry = s.kv.length(layer);
  }
}

// One chunk of n <= max_rows tokens at positions pos.., stored as entries first... A rectify pass stops in the last
// layer once its keys and values are stored.
void forward_chunk(const ModelData& m, RunState& s, Pass pass, const int* tokens, int n, int pos, int first,
                   float* all_logits) {
  const ModelConfig& c = m.config;
  const Weights& w = m.weights;
  const int dim = c.dim, q_dim = c.q_dim(), kv_dim = c.kv_dim(), hidden = c.hidden_dim, half = c.head_dim / 2;
  const float mscale = c.rope.attention_factor;  // YaRN's; 1 otherwise (exact)
  float* x = s.x.data();

  s.profile.weight_bytes += static_cast<double>(n) * w.token_embedding.row_bytes();
  for (int i = 0; i < n; ++i) {
    if (tokens[i] < 0 || tokens[i] >= c.vocab_size)
      throw Error(fmt::format("token id {} is outside the vocabulary [0, {})", tokens[i], c.vocab_size));
    row_to_f32(x + static_cast<size_t>(i) * dim, w.token_embedding, tokens[i]);
    for (int j = 0; j < half; ++j) {
      const float angle = static_cast<float>(pos + i) * s.inv_freq[j];
      s.rope_cos[static_cast<size_t>(i) * half + j] = std::cos(angle) * mscale;
      s.rope_sin[static_cast<size_t>(i) * half + j] = std::sin(angle) * mscale;
    }
  }

  for (int l = 0; l < c.n_layers; ++l) {
    const LayerWeights& lw = w.layers[l];

    // Attention block: project to q, k, v; rotate q and k; store k, v at their positions; attend; project back.
    const bool kv_only = pass == Pass::Rectify && l == c.n_layers - 1;
    rmsnorm_rows(s.xb.data(), x, lw.attn_norm, n, dim, c.norm_eps, s.threads);
    if (n == 1) {  // a decode step: Q, K and V (and their biases) in one pass over the threads
      // Rows K, V, Q end to end, split by thread_share: the order lib/model/placement.cpp places them in.
      const MatvecJob qkv[3] = {{s.k.data(), &lw.wk, lw.bk}, {s.v.data(), &lw.wv, lw.bv}, {s.q.data(), &lw.wq, lw.bq}};
      weight_product(s, lw.wq.bytes() + lw.wk.bytes() + lw.wv.bytes(), [&] { matvec_fused(qkv, 3, s.xb.data(), s.threads); });
    } else {  // a chunk: Q, K and V (biases added) in one pass, X rounded once (Q not needed in a pass's last layer)
      const GemmJob qkv[3] = {{s.k.data(), kv_dim, &lw.wk, lw.bk},
                              {s.v.data(), kv_dim, &lw.wv, lw.bv},
                              {s.q.data(), q_dim, &lw.wq, lw.bq}};
      weight_product(s, lw.wk.bytes() + lw.wv.bytes() + (kv_only ? 0 : lw.wq.bytes()),
                     [&] { gemm(qkv, kv_only ? 2 : 3, s.xb.data(), n, s.gemm_input, gemm_scratch(s)); });
    }
    for (int i = 0; i < n; ++i) {
      const float* cs = s.rope_cos.data() + static_cast<size_t>(i) * half;
      const float* sn = s.rope_sin.data() + static_cast<size_t>(i) * half;
      if (!kv_only) rope(s.q.data() + static_cast<size_t>(i) * q_dim, c.n_heads, c.head_dim, cs, sn, c.rope.layout);
      rope(s.k.data() + static_cast<size_t>(i) * kv_dim, c.n_kv_heads, c.head_dim, cs, sn, c.rope.layout);
    }
    if (kv_only) {  // the rectifier needs this layer's keys and values, nothing after them
      s.kv.store(l, first, n, s.k.data(), s.v.data(), pos);
      return;
    }
    store_and_attend(c, s, pass, l, first, n, pos);
    matmul_add(s, x, s.xb.data(), n, lw.wo);

    // MLP block: SwiGLU.
    rmsnorm_rows(s.xb.data(), x, lw.ffn_norm, n, dim, c.norm_eps, s.threads);
    if (n == 1) {  // a decode step: gate and up row by row range, SwiGLU on each range as it is done
      weight_product(s, lw.w_gate.bytes() + lw.w_up.bytes(),
                     [&] { matvec_swiglu(s.hb.data(), s.hb2.data(), lw.w_gate, lw.w_up, s.xb.data(), s.threads); });
    } else {  // a chunk: gate and up in one pass, then SwiGLU
      const GemmJob gate_up[2] = {{s.hb.data(), hidden, &lw.w_gate}, {s.hb2.data(), hidden, &lw.w_up}};
      weight_product(s, lw.w_gate.bytes() + lw.w_up.bytes(),
                     [&] { gemm(gate_up, 2, s.xb.data(), n, s.gemm_input, gemm_scratch(s), JobSplit::Alike); });
      swiglu(s.hb.data(), s.hb2.data(), static_cast<size_t>(n) * hidden, s.threads);
    }
    matmul_add(s, x, s.hb.data(), n, lw.w_down);
  }

  if (all_logits) {
    rmsnorm_rows(s.xb.data(), x, w.final_norm, n, dim, c.norm_eps, s.threads);
    matmul(s, all_logits, s.xb.data(), n, w.lm_head);
  } else {
    float* last = x + static_cast<size_t>(n - 1) * dim;
    rmsnorm(last, last, w.final_norm, dim, c.norm_eps);
    matmul(s, s.logits.data(), last, 1, w.lm_head);
  }
}

}  // namespace

namespace {

void check_positions(const RunState& s, int n, int pos) {
  if (n <= 0) throw Error("forward: no tokens");
  if (pos < 0 || pos + n > s.context)
    throw Error(fmt::format("positions {}..{} do not fit the context of {} tokens", pos, pos + n - 1, s.context));
}

// The entry that position pos takes: the next one when pos is the cache's next position; the entry holding pos
// when it is rewritten (every head's tail holds the same consecutive positions).
int entry_of(const KvCache& kv, int pos) {
  const int next = kv.next_position(), entry = kv.length(0) - (next - pos);
  if (pos > next)
    throw Error(fmt::format("position {} would leave a gap: the cache holds positions up to {}", pos, next - 1));
  if (entry < kv.frozen_entries(0))
    throw Error(fmt::format("position {} was compressed by LagKV and cannot be rewritten (the cache's uncompressed "
                            "tail starts at position {})",
                            pos, next - (kv.length(0) - kv.frozen_entries(0))));
  return entry;
}

}  // namespace

const float* forward(const ModelData& m, RunState& s, const int* tokens, int n, int pos, float* all_logits,
                     bool as_prompt) {
  check_positions(s, n, pos);
  int first = entry_of(s.kv, pos);
  std::fill_n(s.sparse_encoded.begin() + pos, n, 0);  // a sparse step marks its position again (sparse.cpp)
  const int vocab = m.config.vocab_size;
  timed(s.profile.timed, s.profile.total_s, [&] {
    for (int done = 0; done < n;) {
      const int rows = std::min(s.max_rows, n - done);
      forward_chunk(m, s, n == 1 && !as_prompt ? Pass::Decode : Pass::Prefill, tokens + done, rows, pos + done, first,
                    all_logits ? all_logits + static_cast<size_t>(done) * vocab : nullptr);
      done += rows;
      first = s.kv.length(0);
    }
  });
  return all_logits ? all_logits + static_cast<size_t>(n - 1) * vocab : s.logits.data();
}

void forward_rectify(const ModelData& m, RunState& s, const int* tokens, int n, int pos) {
  check_positions(s, n, pos);
  const int first = entry_of(s.kv, pos);
  std::fill_n(s.sparse_encoded.begin() + pos, n, 0);
  timed(s.profile.timed, s.profile.total_s, [&] {
    for (int done = 0; done < n; done += s.max_rows)
      forward_chunk(m, s, Pass::Rectify, tokens + done, std::min(s.max_rows, n - done), pos + done, first + done,
                    nullptr);
  });
}

}  // namespace resa
