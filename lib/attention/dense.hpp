// Dense attention over the KV cache (grouped-query: the g = n_heads / n_kv_heads query heads of a group read one KV
// head), its inputs and outputs explicit (lib/attention/attention.hpp).
#pragma once

#include "attention/attention.hpp"
#include "model/config.hpp"
#include "resa/resa.hpp"

namespace resa {

// Query rows per work item of a causal pass (prefill, rectify).
constexpr int kCausalRows = 32;

// Decode: the query (one row) over every entry of the cache view (the token's own the last): flash_decode() over
// every block, each K/V block read once for the g query heads of its group (online softmax, not run.c's two passes;
// the greedy goldens of llama2.c's run.c still hold, tested). The policy's decode for Attention::Dense.
DecodeStep dense_decode(const ModelConfig& c, const LayerCache& cache, AttentionRows io, const AttentionOptions& o,
                        DecodeScratch& sc, int threads, bool timed);

// A chunk's causal attention (prefill and the rectify pass): n query rows whose entries are first .. first+n-1
// (cache.n = first + n), row i over entries [0, first + i] of its KV head, on the kernel table's causal_attn, which
// reads each K/V tile once for the g x 32 query rows of a work item (SPEC §5: GEMM-shaped); work items are
// (KV head, 32-row chunk) pairs, on up to `threads` threads. Returns the K/V bytes read.
double dense_causal(const ModelConfig& c, const LayerCache& cache, AttentionRows io, int first, int n,
                    CausalScratch& sc, int threads);

// Rows of a causal scratch for `threads` threads of a model.
CausalScratch make_causal_scratch(const ModelConfig& c, int threads);

}  // namespace resa
