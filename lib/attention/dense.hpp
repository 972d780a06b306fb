// Dense attention over the KV cache (grouped-query: the g = n_heads / n_kv_heads query heads of a group read one KV
// head). Queries come from state.q, outputs go to state.xb ([rows][n_heads * head_dim]).
#pragma once

#include "forward.hpp"

namespace resa {

// Query rows per work item of a causal pass (prefill, rectify).
constexpr int kCausalRows = 32;

// Decode: the query of the token at position pos over the first n entries of every KV head (its own the last):
// flash_decode() over every block, each K/V block read once for the g query heads of its group (online softmax, not
// run.c's two passes; the greedy goldens of llama2.c's run.c still hold, tested).
void dense_decode(const ModelConfig& c, RunState& s, int layer, int n, int pos);

// A chunk's causal attention (prefill and the rectify pass): n query rows whose entries are first .. first+n-1, row i
// over entries [0, first + i] of its KV head, on the kernel table's causal_attn, which reads each K/V tile once for
// the g x 32 query rows of a work item (SPEC §5: GEMM-shaped); work items are (KV head, 32-row chunk) pairs.
void dense_causal(const ModelConfig& c, RunState& s, int layer, int first, int n);

}  // namespace resa
