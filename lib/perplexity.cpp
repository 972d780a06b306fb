// resa::perplexity (include/resa/resa.hpp): how far a decode policy's next-token distributions and KV cache drift from
// dense ones on a text, teacher-forced (SPEC §4, the paper's LM metric).
//
//   dense:  the whole text through dense prefill; the logits of the last `fed` positions and the cache kept.
//   policy: the first tokens prefilled as the policy prefills (densely, or in LagKV's compressing chunks), the last
//           `fed` fed one at a time under the policy (LagKV compressing on), the rectifier due after the f-th, 2f-th, ... of them (generated token #c = the c-th fed token, SPEC §2.5).
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <fmt/format.h>

#include "attention/rectifier.hpp"
#include "forward.hpp"
#include "generate.hpp"
#include "model/load.hpp"
#include "model/model.hpp"
#include "parallel.hpp"
#include "resa/resa.hpp"

namespace resa {

namespace {

// log-softmax of n logits, in double.
void log_softmax(std::vector<double>& out, const float* logits, int n) {
  const double mx = *std::max_element(logits, logits + n);
  double sum = 0;
  for (int i = 0; i < n; ++i) sum += std::exp(logits[i] - mx);
  const double lse = mx + std::log(sum);
  out.resize(n);
  for (int i = 0; i < n; ++i) out[i] = logits[i] - lse;
}

// Is `token` among the 3 largest logits (ties: lower ids first)?
bool in_top3(const float* logits, int n, int token) {
  int better = 0;
  for (int i = 0; i < n && better < 3; ++i)
    if (logits[i] > logits[token] || (logits[i] == logits[token] && i < token)) ++better;
  return better < 3;
}

// ||a - b|| / ||b|| over the entries of a holding positions [p0, p1), every layer and KV head, keys and values,
// against b's entries of the same positions (b holds every position: a dense cache). a may be LagKV-compressed: its
// entries are found by their positions.
double kv_error(const KvCache& a, const KvCache& b, int p0, int p1) {
  const size_t hd = a.head_dim;
  std::vector<float> ta(hd), tb(hd);
  auto row = [hd](const KvCache& kv, const void* base, int entry) {
    return static_cast<const char*>(base) + static_cast<size_t>(entry) * hd * kv.element_size();
  };
  double diff = 0, norm = 0;
  for (int l = 0; l < a.n_layers; ++l)
    for (int h = 0; h < a.n_kv_heads; ++h) {
      const int32_t* pos = a.positions(l, h);
      for (int e = 0; e < a.length(l); ++e) {
        if (pos[e] < p0 || pos[e] >= p1) continue;
        for (bool keys : {true, false}) {
          to_f32(ta.data(), row(a, keys ? a.keys(l, h) : a.values(l, h), e), a.dtype, hd);
          to_f32(tb.data(), row(b, keys ? b.keys(l, h) : b.values(l, h), pos[e]), b.dtype, hd);
          for (size_t i = 0; i < hd; ++i) {
            const double d = static_cast<double>(ta[i]) - tb[i];
            diff += d * d;
            norm += static_cast<double>(tb[i]) * tb[i];
          }
        }
      }
    }
  return norm > 0 ? std::sqrt(diff / norm) : 0.0;
}

}  // namespace

PerplexityResult perplexity(const Model& model, const std::vector<int>& text, const PerplexityOptions& opt) {
  const ModelData& m = model_data(model);
  const ModelConfig& c = m.config;
  const int context = context_of(c, opt.context);
  if (text.size() < 2) throw Error("perplexity needs a text of at least 2 tokens");
  const int N = std::min(context, static_cast<int>(text.size()));
  const std::vector<int> ids(text.begin(), text.begin() + N);
  check_prompt(c, ids, context);
  if (opt.sparse_last < 1 || opt.sparse_last > N - 1)
    throw Error(fmt::format("--sparse-last must be between 1 and {} (the text's {} tokens in the context, less one "
                            "prefilled), got {}",
                            N - 1, N, opt.sparse_last));
  const int threads = resolve_threads(opt.threads);
  const int X = opt.sparse_last, P = N - X, V = c.vocab_size;
  const DType kv = kv_dtype(opt.kv_type);

  // Dense: the logits of positions [P, N) and the dense encoding of every token.
  RunState dense = make_run_state(c, N, kv, 0, dense_attention(), threads);
  std::vector<float> dense_logits(static_cast<size_t>(X) * V);
  forward(m, dense, ids.data(), P, 0);
  forward(m, dense, ids.data() + P, X, P, dense_logits.data());

  // The policy: its prefill, then one token at a time.
  RunState s = make_run_state(c, N, kv, 0, opt.attention, threads);
  forward(m, s, ids.data(), P, 0);
  const int f = s.policy.rectify_every;
  const int f_measure = opt.attention.rectify_every;  // the schedule's points, measured for every policy
  PerplexityResult r;
  r.tokens = N;
  r.fed = X;
  double nll = 0, dense_nll = 0, kl = 0, before = 0, after = 0;
  int agree = 0, top3 = 0, dense_top3 = 0, points = 0;
  std::vector<double> lp, lq;
  for (int p = P; p < N; ++p) {
    const int fed = p - P;  // this token is fed token #fed
    if (rectify_due(fed, f_measure)) {
      before += kv_error(s.kv, dense.kv, p - f_measure, p);
      ++points;
      if (rectify_due(fed, f)) {
        rectify(m, s, ids.data(), p, f);
        after += kv_error(s.kv, dense.kv, p - f, p);
      }
    }
    const float* q = forward_token(m, s, ids[p], p);
    const float* d = dense_logits.data() + static_cast<size_t>(fed) * V;
    log_softmax(lq, q, V);
    log_softmax(lp, d, V);
    double step_kl = 0;
    for (int i = 0; i < V; ++i) step_kl += std::exp(lp[i]) * (lp[i] - lq[i]);
    kl += step_kl;
    agree += argmax(q, V) == argmax(d, V);
    if (p + 1 < N) {
      const int next = ids[p + 1];
      nll -= lq[next];
      dense_nll -= lp[next];
      if (p + 1 >= N - 32) {
        top3 += in_top3(q, V, next);
        dense_top3 += in_top3(d, V, next);
      }
    }
  }
  const int predictions = X - 1, last = std::min(32, X - 1);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  r.perplexity = predictions > 0 ? std::exp(nll / predictions) : nan;
  r.dense_perplexity = predictions > 0 ? std::exp(dense_nll / predictions) : nan;
  r.mean_kl = kl / X;
  r.top1_agreement = static_cast<double>(agree) / X;
  r.top3_accuracy = last > 0 ? static_cast<double>(top3) / last : nan;
  r.dense_top3_accuracy = last > 0 ? static_cast<double>(dense_top3) / last : nan;
  r.kv_error_before = points > 0 ? before / points : nan;
  r.kv_error_after = points > 0 && f > 0 ? after / points : nan;
  r.kv_error_end = kv_error(s.kv, dense.kv, P, N);
  r.rectify_passes = s.counters.rectify_passes;
  r.rectify_skipped = s.counters.rectify_skipped;
  r.mean_blocks_selected =
      s.counters.selections > 0 ? static_cast<double>(s.counters.blocks_selected) / s.counters.selections : nan;
  return r;
}

}  // namespace resa
