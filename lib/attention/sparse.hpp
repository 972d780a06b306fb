// Block-sparse decode attention (SPEC §2.4): per layer and KV head, the blocks select_blocks() picks; every query head
// of the group attends exactly (softmax, scale 1/sqrt(head_dim)) over those blocks' tokens only, flash-decoding
// style: the selected blocks are cut into splits of a fixed number of blocks, the splits of all KV heads are spread
// over the threads, and each head's splits are merged by log-sum-exp in order. The splits do not depend on the thread
// count, so 1 and 2 threads give the same bits.
#pragma once

#include "forward.hpp"

namespace resa {

// Tokens per split (rounded to whole blocks).
constexpr int kSplitTokens = 256;

// The query at position pos (state.q) over the cache [0, pos]; outputs into state.xb; counts into state.counters.
void sparse_decode(const ModelConfig& c, RunState& s, int layer, int pos);

}  // namespace resa
