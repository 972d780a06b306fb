#include "attention/flash_decode.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <omp.h>

#include "kv_cache.hpp"
#include "simd/kernels.hpp"

namespace resa {

DecodeScratch make_decode_scratch(const ModelConfig& c, const KvCache& kv, const AttentionOptions& o) {
  DecodeScratch sc;
  const size_t H = c.n_kv_heads, nb = kv.n_blocks, g = c.n_heads / c.n_kv_heads, hd = c.head_dim;
  sc.all_blocks.resize(nb);
  std::iota(sc.all_blocks.begin(), sc.all_blocks.end(), 0);
  sc.split_blocks = std::max(1, kSplitTokens / kv.block_size);
  sc.max_splits = std::min(kMaxSplits, (kv.n_blocks + sc.split_blocks - 1) / sc.split_blocks);
  sc.part_acc.assign(H * sc.max_splits * g * hd, 0.0f);
  sc.part_m.assign(H * sc.max_splits * g, 0.0f);
  sc.part_l.assign(H * sc.max_splits * g, 0.0f);
  sc.progress = std::make_unique<DecodeScratch::HeadProgress[]>(H);
  if (o.attn != Attention::Dense) {
    sc.selected.assign(H * nb, 0);
    sc.qbar.assign(H * hd, 0.0f);
    sc.scores.assign(H * nb, 0.0f);
    sc.select_work.assign(H * nb, 0);
  }
  return sc;
}

void flash_decode(const ModelConfig& c, const LayerCache& cache, AttentionRows io, const int* blocks,
                  size_t head_stride, int n_sel, DecodeScratch& s, int max_threads, HeadPrologue before) {
  const simd::Kernels& k = simd::kernels();
  const KvCache& kv = *cache.kv;
  const int hd = c.head_dim, g = c.n_heads / c.n_kv_heads, bs = kv.block_size, H = c.n_kv_heads;
  const int len = cache.n;
  const bool bf16 = kv.dtype == DType::BF16;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const int threads = static_cast<int64_t>(n_sel) * bs >= 1024 ? max_threads : 1;

  // The splits of every head: at least split_blocks blocks each, and at most kMaxSplits of them per head (each split
  // starts cold and is merged at the end: long contexts take longer splits).
  const int per = std::max(s.split_blocks, (n_sel + kMaxSplits - 1) / kMaxSplits);
  const int n_splits = (n_sel + per - 1) / per;
  const size_t part = static_cast<size_t>(g) * hd;  // one split's outputs
  auto split = [&](int h, int sp) {
    const int first = sp * per, count = std::min(per, n_sel - first);
    const size_t slot = static_cast<size_t>(h) * s.max_splits + sp;
    const int* list = blocks + h * head_stride + first;
    const float* q = io.q + static_cast<size_t>(h) * g * hd;
    float* acc = s.part_acc.data() + slot * part;
    float* m = s.part_m.data() + slot * g;
    float* l = s.part_l.data() + slot * g;
    if (bf16)
      k.sparse_attn_bf16(acc, m, l, q, g, static_cast<const uint16_t*>(cache.keys(h)),
                         static_cast<const uint16_t*>(cache.values(h)), list, count, bs, len, hd, scale);
    else
      k.sparse_attn_f32(acc, m, l, q, g, static_cast<const float*>(cache.keys(h)),
                        static_cast<const float*>(cache.values(h)), list, count, bs, len, hd, scale);
  };
  // Each query head of KV head h: its splits merged by log-sum-exp, in split order.
  auto merge = [&](int h) {
    for (int j = 0; j < g; ++j) {
      const size_t first = static_cast<size_t>(h) * s.max_splits;
      float mx = -std::numeric_limits<float>::infinity();
      for (int sp = 0; sp < n_splits; ++sp) mx = std::max(mx, s.part_m[(first + sp) * g + j]);
      float* out = io.out + (static_cast<size_t>(h) * g + j) * hd;
      std::fill(out, out + hd, 0.0f);
      float sum = 0.0f;
      for (int sp = 0; sp < n_splits; ++sp) {
        const size_t slot = first + sp;
        const float w = std::exp(s.part_m[slot * g + j] - mx);
        sum += s.part_l[slot * g + j] * w;
        k.axpy_f32(out, w, s.part_acc.data() + slot * part + static_cast<size_t>(j) * hd, hd);
      }
      const float inv = 1.0f / sum;
      for (int d = 0; d < hd; ++d) out[d] *= inv;
    }
  };
  auto whole_head = [&](int h) {
    if (before.run) before.run(before.context, h);
    for (int sp = 0; sp < n_splits; ++sp) split(h, sp);
    merge(h);
  };

  if (threads <= 1) {
    for (int h = 0; h < H; ++h) whole_head(h);
    return;
  }
  // Every thread runs the prologues of the heads make_kv_cache had it place (decode_thread), then claims splits: of
  // its own heads first, then of the others' (the two cores of this machine often run ~15 % apart for a while, and
  // the faster one would otherwise wait at the end of every layer). The thread finishing a head's last split merges
  // it. Which thread runs a split changes nothing in its result.
  DecodeScratch::HeadProgress* progress = s.progress.get();
  for (int h = 0; h < H; ++h) {
    progress[h].next.store(0, std::memory_order_relaxed);
    progress[h].done.store(0, std::memory_order_relaxed);
    progress[h].ready.store(before.run == nullptr, std::memory_order_relaxed);
  }
#pragma omp parallel num_threads(threads)
  {
    const int me = omp_get_thread_num(), T = omp_get_num_threads();
    int first_own = -1;
    for (int h = 0; h < H; ++h)
      if (decode_thread(h, H, T) == me) {
        if (first_own < 0) first_own = h;
        if (before.run) {
          before.run(before.context, h);
          progress[h].ready.store(true, std::memory_order_release);
        }
      }
    // From its first head on, round all of them (a thread with no head starts where its place would be).
    const int start = first_own >= 0 ? first_own : static_cast<int>(static_cast<int64_t>(me) * H / T);
    for (int i = 0; i < H; ++i) {
      const int h = (start + i) % H;
      DecodeScratch::HeadProgress& p = progress[h];
      if (p.next.load(std::memory_order_relaxed) >= n_splits) continue;
      while (!p.ready.load(std::memory_order_acquire)) __builtin_ia32_pause();
      for (int sp; (sp = p.next.fetch_add(1, std::memory_order_relaxed)) < n_splits;) {
        split(h, sp);
        if (p.done.fetch_add(1, std::memory_order_acq_rel) + 1 == n_splits) merge(h);
      }
    }
  }
}

}  // namespace resa
