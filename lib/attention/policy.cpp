#include "attention/policy.hpp"

#include <algorithm>
#include <limits>

#include "attention/dense.hpp"
#include "attention/lagkv.hpp"
#include "attention/rectifier.hpp"
#include "attention/sparse.hpp"
#include "attention/sparse_select.hpp"

namespace resa {

namespace {

int no_limit(const KvCache&, int, const AttentionOptions&) { return std::numeric_limits<int>::max(); }
void keep_everything(KvCache&, int, const AttentionOptions&, LagKvScratch&) {}
int one_entry_per_token(int tokens, const AttentionOptions&) { return tokens; }
void compress_due(KvCache& kv, int layer, const AttentionOptions& o, LagKvScratch& t) {
  lagkv_compress_layer(kv, layer, o, t);
}

}  // namespace

AttentionPolicy make_policy(const AttentionOptions& o) {
  check_attention_options(o);
  AttentionPolicy p;
  p.decode = o.attn == Attention::Dense ? dense_decode : sparse_decode;
  p.rectify_every = rectify_period(o);
  if (o.prefill == Prefill::LagKv) {
    p.room = lagkv_room;
    p.after_append = compress_due;
    p.capacity = lagkv_capacity;
  } else {
    p.room = no_limit;
    p.after_append = keep_everything;
    p.capacity = one_entry_per_token;
  }
  return p;
}

}  // namespace resa
