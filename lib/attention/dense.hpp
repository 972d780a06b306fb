// Dense attention over the KV cache (grouped-query: the g = n_heads / n_kv_heads query heads of a group read one KV
// head). Queries come from state.q, outputs go to state.xb ([rows][n_heads * head_dim]).
#pragma once

#include "forward.hpp"

namespace resa {

// Decode: the query at position pos over cache positions [0, pos]: flash_decode() over every block, each K/V block
// read once for the g query heads of its group (online softmax, not run.c's two passes; the greedy goldens of
// llama2.c's run.c still hold, tested).
void dense_decode(const ModelConfig& c, RunState& s, int layer, int pos);

// Prefill: n query rows at positions pos .. pos+n-1 over cache positions [0, pos+n), causal, through OpenBLAS sgemm
// per query head (scores, masked softmax, weighted values). Not through the kernel table, on purpose: the scalar
// causal_attn twin runs at ~5 GFLOP/s against ~28-45 for this path (measured at g = 6, head_dim 128, 32-256 rows,
// 0-2,048 cached tokens, one thread), and prefill cost grows with the square of the prompt. Prefill moves to the
// table when a SIMD causal_attn beats sgemm.
void dense_prefill(const ModelConfig& c, RunState& s, int layer, int pos, int n);

// The rectify pass: the same causal attention on the kernel table's causal_attn, which reads each K/V row once for
// the g x n query rows of a group (SPEC §5: GEMM-shaped).
void dense_rectify(const ModelConfig& c, RunState& s, int layer, int pos, int n);

}  // namespace resa
