#include "attention/rectifier.hpp"

namespace resa {

void rectify(const ModelData& model, RunState& state, const int* tokens, int pos, int f) {
  forward_rectify(model, state, tokens + (pos - f), f, pos - f);
  ++state.counters.rectify_passes;
}

}  // namespace resa
