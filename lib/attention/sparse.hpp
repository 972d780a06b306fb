// Block-sparse decode attention (SPEC §2.4): per layer and KV head, the blocks select_blocks() picks; every query head
// of the group attends exactly (softmax, scale 1/sqrt(head_dim)) over those blocks' tokens only, through
// flash_decode() (lib/attention/flash_decode.hpp), as the dense step does over all blocks.
#pragma once

#include "attention/attention.hpp"
#include "model/config.hpp"
#include "resa/resa.hpp"

namespace resa {

// Selection: per KV head (in parallel), the blocks select_blocks() picks for the group's queries (q, one row) among
// the blocks of the cache view's entries, into sc.selected; the same budget for every head, returned.
int sparse_select(const ModelConfig& c, const LayerCache& cache, const float* q, const AttentionOptions& o,
                  DecodeScratch& sc, int threads);

// The query (one row) over the selected blocks of the cache view (the token's own entry the last); outputs into
// io.out. The policy's decode for Attention::Sparse and Attention::Resa.
DecodeStep sparse_decode(const ModelConfig& c, const LayerCache& cache, AttentionRows io, const AttentionOptions& o,
                         DecodeScratch& sc, int threads, bool timed);

}  // namespace resa
