// Wall-clock timing for the run state's profile (lib/forward.hpp) and the attention code: f(), its seconds added to
// `into` when `on` (two clock reads), or just f().
#pragma once

#include <chrono>

namespace resa {

inline double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

template <class F>
void timed(bool on, double& into, F&& f) {
  if (!on) return f();
  const double t0 = now_seconds();
  f();
  into += now_seconds() - t0;
}

}  // namespace resa
