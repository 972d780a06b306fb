// Block-sparse decode attention (SPEC §2.4): per layer and KV head, the blocks select_blocks() picks; every query head
// of the group attends exactly (softmax, scale 1/sqrt(head_dim)) over those blocks' tokens only, through
// flash_decode() (lib/attention/flash_decode.hpp), as the dense step does over all blocks.
#pragma once

#include "forward.hpp"

namespace resa {

// Selection: per KV head (in parallel), the blocks select_blocks() picks for the group's queries in state.q among
// the blocks of the first n entries, into state.selected; the same budget for every head, returned.
int sparse_select(const ModelConfig& c, RunState& s, int layer, int n);

// The query of the token at position pos (state.q) over the first n entries of every KV head (its own the last);
// outputs into state.xb; counts into state.counters; marks the position sparsely encoded when blocks were left out.
void sparse_decode(const ModelConfig& c, RunState& s, int layer, int n, int pos);

}  // namespace resa
