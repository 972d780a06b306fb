// Attention options shared by the tests that need sparse decoding to bite on small models.
#pragma once

#include "resa/resa.hpp"

namespace resa::test {

// Sparsity that bites on the shipped model (512 positions) and the tiny checkpoints: blocks of 8, 4 at least, a
// quarter of them after that (sparse from 32 positions on), rectify every 16.
inline AttentionOptions biting_attention(Attention attn) {
  AttentionOptions o;
  o.attn = attn;
  o.block_size = 8;
  o.min_blocks = 4;
  o.sparse_ratio = 0.25;
  o.rectify_every = 16;
  return o;
}

}  // namespace resa::test
