#include "attention/sparse.hpp"

#include <omp.h>

#include "attention/flash_decode.hpp"
#include "attention/sparse_select.hpp"
#include "parallel.hpp"
#include "timing.hpp"

namespace resa {

namespace {

// Head h's selection into sc.selected.
void select_head(const ModelConfig& c, const LayerCache& cache, const float* q, const AttentionOptions& o,
                 DecodeScratch& sc, int h) {
  const int hd = c.head_dim, g = c.n_heads / c.n_kv_heads, nb = cache.kv->n_blocks;
  const size_t at = static_cast<size_t>(h) * nb;
  select_blocks(sc.selected.data() + at, q + static_cast<size_t>(h) * g * hd, g, cache.summaries(h), cache.kv->dtype,
                cache.blocks(), hd, o, sc.qbar.data() + static_cast<size_t>(h) * hd, sc.scores.data() + at,
                sc.select_work.data() + at);
}

}  // namespace

int sparse_select(const ModelConfig& c, const LayerCache& cache, const float* q, const AttentionOptions& o,
                  DecodeScratch& sc, int threads) {
  parallel_for_static(c.n_kv_heads, cache.n >= 1024 ? threads : 1,  // the heads placed (decode_thread)
                      [&](int h) { select_head(c, cache, q, o, sc, h); });
  return sparse_budget(cache.blocks(), o);
}

DecodeStep sparse_decode(const ModelConfig& c, const LayerCache& cache, AttentionRows io, const AttentionOptions& o,
                         DecodeScratch& sc, int threads, bool timed) {
  const int hd = c.head_dim, nb = cache.kv->n_blocks, bs = cache.kv->block_size;
  const int len = cache.n, n_blocks = cache.blocks();
  DecodeStep st;
  st.sparse = true;
  // Each head's selection runs on the thread that then attends to its blocks, in the same parallel region
  // (flash_decode's prologue). select_s: the selections' time on the calling thread (thread 0); the other threads
  // select their heads in the same span.
  const int n_sel = sparse_budget(n_blocks, o);
  struct Select {
    const ModelConfig& c;
    const LayerCache& cache;
    const float* q;
    const AttentionOptions& o;
    DecodeScratch& sc;
    bool timed;
    double seconds;
  } select{c, cache, io.q, o, sc, timed, 0.0};
  const HeadPrologue prologue{[](void* p, int h) {
                                auto& s = *static_cast<Select*>(p);
                                ::resa::timed(s.timed && omp_get_thread_num() == 0, s.seconds,
                                              [&] { select_head(s.c, s.cache, s.q, s.o, s.sc, h); });
                              },
                              &select};
  flash_decode(c, cache, io, sc.selected.data(), static_cast<size_t>(nb), n_sel, sc, threads, prologue);
  st.select_s = select.seconds;
  // Fewer than all blocks: this token's K/V in the next layers depend on what was left out (the rectifier's
  // business). With all blocks selected, in ascending order, the step computed exactly what a dense step computes.
  st.left_out = n_sel < n_blocks;
  st.blocks_selected = n_sel;

  // Bytes: the tokens the selected blocks hold (the last block may be partial), and the summaries scored.
  const int last = n_blocks - 1;
  const double row = 2.0 * hd * cache.kv->element_size();  // one token's key and value
  for (int h = 0; h < c.n_kv_heads; ++h) {
    const int* sel = sc.selected.data() + static_cast<size_t>(h) * nb;
    int64_t tokens = static_cast<int64_t>(n_sel) * bs;
    if (n_sel > 0 && sel[n_sel - 1] == last) tokens -= static_cast<int64_t>(n_blocks) * bs - len;
    st.kv_bytes += tokens * row + (n_sel < n_blocks ? n_blocks * row : 0.0);
  }
  st.bytes_dense = static_cast<double>(c.n_kv_heads) * len * row;
  return st;
}

}  // namespace resa
