// The rectifier of Rectified Sparse Attention (SPEC §2.5): when and what to re-run densely so that the errors of
// sparse decoding do not stay in the KV cache.
//
// Generated tokens are counted from 0 (#0 is the token sampled from the prefill's logits; #c sits at position
// prompt_len + c). After sampling #c with c > 0 and c % f == 0, tokens #(c-f) .. #(c-1) — all encoded sparsely; #c is
// not yet in the cache — are run again as one chunk at their original positions with dense causal attention over
// the whole cache, and their keys and values are overwritten in every layer (forward_rectify). Their logits are not
// needed: the tokens already emitted stay.
//
// A pass whose window was decoded entirely in the dense regime (the budget covered every block at every step, as it
// does up to min_blocks blocks: 256 tokens by default) is skipped: each of those steps selected all blocks in
// ascending order, which is exactly the dense step (SPEC §2.4: sparse_ratio >= 1 equals dense), so the dense re-run
// would write back the K/V entries the cache already holds, up to float rounding. Skipped passes are counted apart.
#pragma once

#include "forward.hpp"

namespace resa {

// f for a policy: rectify_every under Attention::Resa, 0 (never) otherwise.
inline int rectify_period(const AttentionOptions& o) { return o.attn == Attention::Resa ? o.rectify_every : 0; }

// Is a pass due after sampling generated token #c?
inline bool rectify_due(int c, int f) { return f > 0 && c > 0 && c % f == 0; }

// Does the window [pos - f, pos) hold a token encoded by a step that attended to fewer than all blocks?
bool rectify_needed(const RunState& state, int pos, int f);

// Runs the pass for the f tokens before position pos (the position the just-sampled token will take): tokens[p] is
// the token at position p; skips it when !rectify_needed. Counts it (run or skipped) in state.counters.
void rectify(const ModelData& model, RunState& state, const int* tokens, int pos, int f);

}  // namespace resa
