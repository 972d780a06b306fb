// Block-sparse decode attention (SPEC §2.4): per layer and KV head, the blocks select_blocks() picks; every query head
// of the group attends exactly (softmax, scale 1/sqrt(head_dim)) over those blocks' tokens only, through
// flash_decode() (lib/attention/flash_decode.hpp), as the dense step does over all blocks.
#pragma once

#include "forward.hpp"

namespace resa {

// Selection: per KV head (in parallel), the blocks select_blocks() picks for the group's queries in state.q, into
// state.selected; the same budget for every head, returned.
int sparse_select(const ModelConfig& c, RunState& s, int layer, int pos);

// The query at position pos (state.q) over the cache [0, pos]; outputs into state.xb; counts into state.counters.
void sparse_decode(const ModelConfig& c, RunState& s, int layer, int pos);

}  // namespace resa
