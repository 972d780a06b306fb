#include "attention/sparse.hpp"

#include <omp.h>

#include "attention/flash_decode.hpp"
#include "attention/sparse_select.hpp"
#include "parallel.hpp"
#include "timing.hpp"

namespace resa {

int sparse_select(const ModelConfig& c, const LayerCache& cache, const float* q, const AttentionOptions& o,
                  DecodeScratch& sc, int threads) {
  const int hd = c.head_dim, g = c.n_heads / c.n_kv_heads, nb = cache.kv->n_blocks;
  const int n_blocks = cache.blocks();
  parallel_for_static(c.n_kv_heads, cache.n >= 1024 ? threads : 1, [&](int h) {  // the heads placed (decode_thread)
    select_blocks(sc.selected.data() + static_cast<size_t>(h) * nb, q + static_cast<size_t>(h) * g * hd, g,
                  cache.summaries(h), cache.kv->dtype, n_blocks, hd, o, sc.qbar.data() + static_cast<size_t>(h) * hd,
                  sc.scores.data() + static_cast<size_t>(h) * nb, sc.select_work.data() + static_cast<size_t>(h) * nb);
  });
  return sparse_budget(n_blocks, o);
}

DecodeStep sparse_decode(const ModelConfig& c, const LayerCache& cache, AttentionRows io, const AttentionOptions& o,
                         DecodeScratch& sc, int threads, bool timed) {
  const int hd = c.head_dim, nb = cache.kv->n_blocks, bs = cache.kv->block_size;
  const int len = cache.n, n_blocks = cache.blocks();
  DecodeStep st;
  st.sparse = true;
  int n_sel = 0;
  ::resa::timed(timed, st.select_s, [&] { n_sel = sparse_select(c, cache, io.q, o, sc, threads); });
  flash_decode(c, cache, io, sc.selected.data(), static_cast<size_t>(nb), n_sel, sc, threads);
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
