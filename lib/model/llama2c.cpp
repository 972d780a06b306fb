#include "model/llama2c.hpp"

#include <cstdint>
#include <cstring>

#include <fmt/format.h>

#include "resa/resa.hpp"

namespace resa {

namespace {

constexpr int kHeaderInts = 7;

void check_positive(const std::string& path, const char* name, int64_t v, int64_t max) {
  if (v <= 0 || v > max)
    throw Error(fmt::format("'{}' is not a llama2.c checkpoint: header field {} = {} (expected 1..{})", path, name,
                            v, max));
}

}  // namespace

Llama2cCheckpoint load_llama2c_checkpoint(const std::string& path) {
  Llama2cCheckpoint ck;
  ck.file = MappedFile(path);
  const MappedFile& f = ck.file;
  if (f.size < kHeaderInts * sizeof(int32_t))
    throw Error(fmt::format("'{}' is truncated: {} bytes, shorter than the {}-byte llama2.c header", path, f.size,
                            kHeaderInts * sizeof(int32_t)));

  int32_t h[kHeaderInts];
  std::memcpy(h, f.data, sizeof(h));
  const bool shared_classifier = h[5] > 0;
  const int64_t vocab = h[5] < 0 ? -static_cast<int64_t>(h[5]) : h[5];
  check_positive(path, "dim", h[0], 1 << 16);
  check_positive(path, "hidden_dim", h[1], 1 << 18);
  check_positive(path, "n_layers", h[2], 1 << 10);
  check_positive(path, "n_heads", h[3], 1 << 10);
  check_positive(path, "n_kv_heads", h[4], h[3]);
  check_positive(path, "vocab_size", vocab, 1 << 22);
  check_positive(path, "seq_len", h[6], 1 << 24);
  if (h[0] % h[3] != 0 || (h[0] / h[3]) % 2 != 0)
    throw Error(fmt::format("'{}': dim {} is not n_heads {} times an even head size", path, h[0], h[3]));
  if (h[3] % h[4] != 0)
    throw Error(fmt::format("'{}': n_heads {} is not a multiple of n_kv_heads {}", path, h[3], h[4]));

  ModelConfig& c = ck.config;
  c.architecture = "llama2.c";
  c.dim = h[0];
  c.hidden_dim = h[1];
  c.n_layers = h[2];
  c.n_heads = h[3];
  c.n_kv_heads = h[4];
  c.head_dim = c.dim / c.n_heads;
  if (c.head_dim > 4096) throw Error(fmt::format("'{}': head size {} is beyond resa's limit of 4096", path, c.head_dim));
  c.vocab_size = static_cast<int>(vocab);
  c.max_seq_len = h[6];
  c.rope.layout = RopeLayout::Interleaved;  // llama2.c rotates adjacent pairs
  c.rope.theta = 10000.0f;
  c.norm_eps = 1e-5f;
  c.bos_id = 1;
  c.eos_ids = {1};  // run.c stops when the model emits BOS

  // The layout of run.c's memory_map_weights(), in floats. 64-bit arithmetic: the header is untrusted.
  const int64_t dim = c.dim, hidden = c.hidden_dim, L = c.n_layers, V = c.vocab_size;
  const int64_t q_dim = c.q_dim(), kv_dim = c.kv_dim(), seq = c.max_seq_len, hd = c.head_dim;
  const int64_t n_floats = V * dim                          // token embedding
                           + L * dim                        // attention RMSNorm
                           + L * dim * q_dim                // wq
                           + 2 * L * dim * kv_dim           // wk, wv
                           + L * q_dim * dim                // wo
                           + L * dim                        // FFN RMSNorm
                           + 3 * L * dim * hidden           // w1, w2, w3
                           + dim                            // final RMSNorm
                           + seq * hd                       // unused RoPE tables (real + imaginary halves)
                           + (shared_classifier ? 0 : V * dim);
  const uint64_t expected = kHeaderInts * sizeof(int32_t) + static_cast<uint64_t>(n_floats) * sizeof(float);
  if (f.size < expected)
    throw Error(fmt::format("'{}' is truncated: the header implies {} bytes, the file has {}", path, expected,
                            f.size));
  if (f.size > expected)
    throw Error(fmt::format("'{}' does not match its header: it implies {} bytes, the file has {}", path, expected,
                            f.size));

  const float* p = reinterpret_cast<const float*>(f.data + kHeaderInts * sizeof(int32_t));
  auto take = [&p](int64_t n) {
    const float* t = p;
    p += n;
    return t;
  };
  Weights& w = ck.weights;
  auto mat = [](const float* data, int64_t rows, int64_t cols) { return Mat{data, DType::F32, rows, cols}; };
  w.token_embedding = mat(take(V * dim), V, dim);
  const float* attn_norm = take(L * dim);
  const float* wq = take(L * dim * q_dim);
  const float* wk = take(L * dim * kv_dim);
  const float* wv = take(L * dim * kv_dim);
  const float* wo = take(L * q_dim * dim);
  const float* ffn_norm = take(L * dim);
  const float* w1 = take(L * dim * hidden);
  const float* w2 = take(L * hidden * dim);
  const float* w3 = take(L * dim * hidden);
  w.final_norm = take(dim);
  take(seq * hd);  // freq_cis_real and freq_cis_imag, unused: RoPE is computed
  w.lm_head = shared_classifier ? w.token_embedding : mat(take(V * dim), V, dim);

  w.layers.resize(c.n_layers);
  for (int64_t l = 0; l < L; ++l) {
    LayerWeights& lw = w.layers[l];
    lw.attn_norm = attn_norm + l * dim;
    lw.wq = mat(wq + l * dim * q_dim, q_dim, dim);
    lw.wk = mat(wk + l * dim * kv_dim, kv_dim, dim);
    lw.wv = mat(wv + l * dim * kv_dim, kv_dim, dim);
    lw.wo = mat(wo + l * q_dim * dim, dim, q_dim);
    lw.ffn_norm = ffn_norm + l * dim;
    lw.w_gate = mat(w1 + l * dim * hidden, hidden, dim);
    lw.w_down = mat(w2 + l * hidden * dim, dim, hidden);
    lw.w_up = mat(w3 + l * dim * hidden, hidden, dim);
  }
  return ck;
}

}  // namespace resa
