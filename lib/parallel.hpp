// parallel_for: the loop on `threads` OpenMP threads (iterations handed out dynamically), a plain loop when threads
// is 1 or less. A plain `if` rather than
// OpenMP's if() clause: with the clause the runtime still sets up a one-thread team on every call, which costs
// a decode step more than its small loops do.
#pragma once

namespace resa {

template <class F>
void parallel_for(int n, int threads, F&& body) {
  if (threads <= 1 || n < 2) {
    for (int i = 0; i < n; ++i) body(i);
    return;
  }
#pragma omp parallel for schedule(dynamic) num_threads(threads)
  for (int i = 0; i < n; ++i) body(i);
}

}  // namespace resa
