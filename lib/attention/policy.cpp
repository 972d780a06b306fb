#include "attention/policy.hpp"

#include <algorithm>

#include "attention/dense.hpp"
#include "attention/lagkv.hpp"
#include "attention/rectifier.hpp"
#include "attention/sparse.hpp"
#include "attention/sparse_select.hpp"

namespace resa {

namespace {

int whole_prompt(const RunState&, int remaining) { return remaining; }
void keep_everything(RunState&) {}
int one_entry_per_token(int tokens, const AttentionOptions&) { return tokens; }

}  // namespace

AttentionPolicy make_policy(const AttentionOptions& o) {
  check_attention_options(o);
  AttentionPolicy p;
  p.decode = o.attn == Attention::Dense ? dense_decode : sparse_decode;
  p.rectify_every = rectify_period(o);
  if (o.prefill == Prefill::LagKv) {
    p.chunk_rows = lagkv_policy_chunk_rows;
    p.after_append = lagkv_policy_after_append;
    p.capacity = lagkv_capacity;
  } else {
    p.chunk_rows = whole_prompt;
    p.after_append = keep_everything;
    p.capacity = one_entry_per_token;
  }
  return p;
}

}  // namespace resa
