#include "attention/sparse.hpp"

#include <omp.h>

#include "attention/flash_decode.hpp"
#include "attention/sparse_select.hpp"
#include "parallel.hpp"

namespace resa {

int sparse_select(const ModelConfig& c, RunState& s, int layer, int n) {
  const int hd = c.head_dim, g = c.n_heads / c.n_kv_heads, nb = s.kv.n_blocks, bs = s.kv.block_size;
  const int len = n, n_blocks = (len + bs - 1) / bs;
  const int threads = len >= 1024 ? omp_get_max_threads() : 1;
  parallel_for(c.n_kv_heads, threads, [&](int h) {
    select_blocks(s.selected.data() + static_cast<size_t>(h) * nb, s.q.data() + static_cast<size_t>(h) * g * hd, g,
                  s.kv.summaries(layer, h), s.kv.dtype, n_blocks, hd, s.attn,
                  s.qbar.data() + static_cast<size_t>(h) * hd, s.scores.data() + static_cast<size_t>(h) * nb,
                  s.select_work.data() + static_cast<size_t>(h) * nb);
  });
  return sparse_budget(n_blocks, s.attn);
}

void sparse_decode(const ModelConfig& c, RunState& s, int layer, int n, int pos) {
  const int hd = c.head_dim, nb = s.kv.n_blocks, bs = s.kv.block_size;
  const int len = n, n_blocks = (len + bs - 1) / bs;
  int n_sel = 0;
  timed(s.profile.timed, s.profile.select_s, [&] { n_sel = sparse_select(c, s, layer, n); });
  flash_decode(c, s, layer, n, s.selected.data(), static_cast<size_t>(nb), n_sel);
  // Fewer than all blocks: this position's K/V in the next layers depend on what was left out (the rectifier's
  // business). With all blocks selected, in ascending order, the step computed exactly what a dense step computes.
  if (n_sel < n_blocks) s.sparse_encoded[pos] = 1;

  // Counters: the tokens the selected blocks hold (the last block may be partial), and the summaries scored.
  const int last = n_blocks - 1;
  const double row = 2.0 * hd * s.kv.element_size();  // one token's key and value
  for (int h = 0; h < c.n_kv_heads; ++h) {
    const int* sel = s.selected.data() + static_cast<size_t>(h) * nb;
    int64_t tokens = static_cast<int64_t>(n_sel) * bs;
    if (n_sel > 0 && sel[n_sel - 1] == last) tokens -= static_cast<int64_t>(n_blocks) * bs - len;
    const double bytes = tokens * row + (n_sel < n_blocks ? n_blocks * row : 0.0);
    s.counters.bytes_read += bytes;
    s.profile.kv_bytes += bytes;
  }
  s.counters.bytes_dense += static_cast<double>(c.n_kv_heads) * len * row;
  s.counters.selections += c.n_kv_heads;
  s.counters.blocks_selected += static_cast<int64_t>(n_sel) * c.n_kv_heads;
}

}  // namespace resa
