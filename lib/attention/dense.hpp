// Dense attention over the KV cache (grouped-query: the g = n_heads / n_kv_heads query heads of a group read one KV
// head). Queries come from state.q, outputs go to state.xb ([rows][n_heads * head_dim]).
#pragma once

#include "forward.hpp"

namespace resa {

// Query rows per work item of a causal pass (prefill, rectify).
constexpr int kCausalRows = 32;

// Decode: the query at position pos over cache positions [0, pos]: flash_decode() over every block, each K/V block
// read once for the g query heads of its group (online softmax, not run.c's two passes; the greedy goldens of
// llama2.c's run.c still hold, tested).
void dense_decode(const ModelConfig& c, RunState& s, int layer, int pos);

// Prefill: n query rows at positions pos .. pos+n-1 over cache positions [0, pos+n), causal: the rectify pass's
// kernel (it was OpenBLAS sgemm per head, 28-45 GFLOP/s on one thread against the kernel table's ~75 per core with
// each K/V tile shared by the g x 32 rows of a work item).
void dense_prefill(const ModelConfig& c, RunState& s, int layer, int pos, int n);

// The rectify pass: causal attention on the kernel table's causal_attn, which reads each K/V tile once for the
// g x 32 query rows of a work item (SPEC §5: GEMM-shaped); work items are (KV head, 32-row chunk) pairs.
void dense_rectify(const ModelConfig& c, RunState& s, int layer, int pos, int n);

}  // namespace resa
