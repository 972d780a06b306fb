// Flash-decoding (SPEC §2.4, §5), the one decode attention loop of dense and sparse steps alike: for each KV head,
// the g query heads of its group attend over a list of blocks of the cache, each K/V block read once for all g heads
// (the kernel table's sparse_attn). The blocks are cut into at most kMaxSplits splits of at least kSplitTokens
// tokens, the splits of all KV heads are shared out among the threads as they come free, and each head's splits are
// merged by log-sum-exp in order. The splits depend on the blocks only, never on the thread count, so any number of
// threads gives the same bits.
#pragma once

#include "attention/attention.hpp"
#include "model/config.hpp"
#include "resa/resa.hpp"

namespace resa {

// Tokens per split at least (rounded to whole blocks), and splits per KV head at most.
constexpr int kSplitTokens = 256;
constexpr int kMaxSplits = 8;

// Sized for a cache of kv.n_blocks blocks per head; the sparse selection's part only when o.attn is not Dense.
DecodeScratch make_decode_scratch(const ModelConfig& c, const KvCache& kv, const AttentionOptions& o);

// run(context, h): work for KV head h that must precede the reading of its blocks (the sparse step's selection, which
// writes its list), run on the thread that then reads them. Nothing when run is null.
struct HeadPrologue {
  void (*run)(void* context, int h) = nullptr;
  void* context = nullptr;
};

// The query (io.q, one row) over the first n_sel blocks listed for each KV head h at blocks[h * head_stride ..]
// (ascending; a stride of 0 gives every head the same list) of the cache's first cache.n entries; outputs into
// io.out. On up to `threads` threads (one when the blocks hold fewer than 1024 tokens), in one parallel region: each
// thread runs before.run for the heads it placed, then claims splits, its own heads' first, then the others'.
void flash_decode(const ModelConfig& c, const LayerCache& cache, AttentionRows io, const int* blocks,
                  size_t head_stride, int n_sel, DecodeScratch& sc, int threads, HeadPrologue before = {});

}  // namespace resa
