// Which blocks a sparse decode step reads (SPEC §2.2-2.3): the budget, the group's mean query q̄, the block scores
// against the key summaries, and the top-n with the local (and optional sink) blocks forced in.
#pragma once

#include "model/dtype.hpp"
#include "resa/resa.hpp"

namespace resa {

// Throws resa::Error naming the first knob that breaks SPEC §2.3's rules (see AttentionOptions).
void check_attention_options(const AttentionOptions& o);

// n = max(ceil(M * sparse_ratio), min(M, min_blocks)), at most M. The ceiling is taken on the decimal value (in
// double, less 1e-9), so 50 blocks at ratio 0.3 keep 15, not the 16 a float product would give.
int sparse_budget(int n_blocks, const AttentionOptions& o);

// For one layer and KV head with M = n_blocks blocks (the last one holding the current token): writes the n selected
// block indices to out in ascending order and returns n = sparse_budget(M). With n == M every block, unscored.
// Otherwise qbar = mean of the g query rows q[g][head_dim] (after RoPE) times 1/sqrt(head_dim), scores[b] the bound of
// qbar·k over block b (summaries in the cache's dtype), and the last local_blocks and first sink_blocks blocks are
// kept whatever their score; ties go to the lower index. qbar, scores and work (M ints) are scratch.
int select_blocks(int* out, const float* q, int g, const void* summaries, DType dtype, int n_blocks, int head_dim,
                  const AttentionOptions& o, float* qbar, float* scores, int* work);

}  // namespace resa
