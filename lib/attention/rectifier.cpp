#include "attention/rectifier.hpp"

namespace resa {

void rectify(const ModelData& model, RunState& state, const int* tokens, int pos, int f) {
  // The pass's time is the rectify phase only: its matmuls and attention are not counted in those phases.
  Profile& p = state.profile;
  const Profile before = p;
  timed(p.timed, p.rectify_s, [&] { forward_rectify(model, state, tokens + (pos - f), f, pos - f); });
  p.matmul_s = before.matmul_s;
  p.attention_s = before.attention_s;
  p.select_s = before.select_s;
  ++state.counters.rectify_passes;
}

}  // namespace resa
