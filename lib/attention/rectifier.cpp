#include "attention/rectifier.hpp"

#include <algorithm>

namespace resa {

bool rectify_needed(const RunState& state, int pos, int f) {
  const auto first = state.sparse_encoded.begin() + std::max(0, pos - f), last = state.sparse_encoded.begin() + pos;
  return std::any_of(first, last, [](uint8_t sparse) { return sparse != 0; });
}

void rectify(const ModelData& model, RunState& state, const int* tokens, int pos, int f) {
  if (!rectify_needed(state, pos, f)) {
    ++state.counters.rectify_skipped;
    return;
  }
  // The pass's time is the rectify phase only: its matmuls and attention are not counted in those phases. It is the
  // pass's own share of total_s (not a second clock around it), so the phases never add up to more than total_s.
  Profile& p = state.profile;
  const Profile before = p;
  forward_rectify(model, state, tokens + (pos - f), f, pos - f);
  p.rectify_s += p.total_s - before.total_s;
  p.matmul_s = before.matmul_s;
  p.attention_s = before.attention_s;
  p.select_s = before.select_s;
  ++state.counters.rectify_passes;
}

}  // namespace resa
