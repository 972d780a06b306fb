#include "attention/sparse_select.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <fmt/format.h>

#include "simd/kernels.hpp"

namespace resa {

const char* attention_name(Attention a) {
  return a == Attention::Dense ? "dense" : a == Attention::Sparse ? "sparse" : "resa";
}

Attention parse_attention(std::string_view name) {
  for (Attention a : {Attention::Dense, Attention::Sparse, Attention::Resa})
    if (name == attention_name(a)) return a;
  throw Error(fmt::format("attention '{}' is not one of dense, sparse, resa", name));
}

void check_attention_options(const AttentionOptions& o) {
  if (!(o.sparse_ratio > 0) || !std::isfinite(o.sparse_ratio))
    throw Error(fmt::format("--sparse-ratio must be a number > 0 (the fraction of blocks kept), got {}", o.sparse_ratio));
  if (o.block_size < 1) throw Error(fmt::format("--block-size must be at least 1, got {}", o.block_size));
  if (o.min_blocks < 1) throw Error(fmt::format("--min-blocks must be at least 1, got {}", o.min_blocks));
  if (o.local_blocks < 0) throw Error(fmt::format("--local-blocks must be >= 0, got {}", o.local_blocks));
  if (o.sink_blocks < 0) throw Error(fmt::format("--sink-blocks must be >= 0, got {}", o.sink_blocks));
  if (o.local_blocks + o.sink_blocks > o.min_blocks)
    throw Error(fmt::format("--local-blocks + --sink-blocks ({} + {}) must not exceed --min-blocks ({})",
                            o.local_blocks, o.sink_blocks, o.min_blocks));
  if (o.rectify_every < 0) throw Error(fmt::format("--rectify-every must be >= 0, got {}", o.rectify_every));
  if (o.prefill == Prefill::LagKv) {
    if (o.lag_size < 1) throw Error(fmt::format("--lag-size must be at least 1, got {}", o.lag_size));
    if (o.lag_sink < 0) throw Error(fmt::format("--lag-sink must be >= 0, got {}", o.lag_sink));
    if (!(o.lag_ratio > 0 && o.lag_ratio <= 1))
      throw Error(fmt::format("--lag-ratio must be in (0, 1] (the share of a partition kept), got {}", o.lag_ratio));
    if (o.attn == Attention::Resa && o.rectify_every > o.lag_size)
      throw Error(fmt::format("--rectify-every {} exceeds --lag-size {}: with --prefill lagkv the rectifier would "
                              "rewrite tokens LagKV may have evicted (SPEC 2.5, 3.3); use --rectify-every <= {}",
                              o.rectify_every, o.lag_size, o.lag_size));
  }
}

const char* prefill_name(Prefill p) { return p == Prefill::Dense ? "dense" : "lagkv"; }

int sparse_budget(int n_blocks, const AttentionOptions& o) {
  const double by_ratio = std::ceil(static_cast<double>(n_blocks) * o.sparse_ratio - 1e-9);
  const int n = by_ratio >= n_blocks ? n_blocks : static_cast<int>(by_ratio);
  return std::max(n, std::min(n_blocks, o.min_blocks));
}

int select_blocks(int* out, const float* q, int g, const void* summaries, DType dtype, int n_blocks, int head_dim,
                  const AttentionOptions& o, float* qbar, float* scores, int* work) {
  const int n = sparse_budget(n_blocks, o);
  if (n >= n_blocks) {
    std::iota(out, out + n_blocks, 0);
    return n_blocks;
  }
  const simd::Kernels& k = simd::kernels();
  const float inv_g = 1.0f / static_cast<float>(g), scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  for (int d = 0; d < head_dim; ++d) {
    float sum = 0.0f;
    for (int j = 0; j < g; ++j) sum += q[j * head_dim + d];
    qbar[d] = sum * inv_g * scale;
  }
  if (dtype == DType::F32)
    k.block_scores_f32(scores, qbar, static_cast<const float*>(summaries), n_blocks, head_dim);
  else
    k.block_scores_bf16(scores, qbar, static_cast<const uint16_t*>(summaries), n_blocks, head_dim);
  // n < M implies M > min_blocks >= local + sink: the forced blocks are distinct and fit the budget.
  constexpr float kForced = std::numeric_limits<float>::infinity();
  for (int b = n_blocks - o.local_blocks; b < n_blocks; ++b) scores[b] = kForced;
  for (int b = 0; b < o.sink_blocks; ++b) scores[b] = kForced;
  k.top_n(out, scores, n_blocks, n, work);
  return n;
}

}  // namespace resa
