#include "serve/slots.hpp"

#include <algorithm>

namespace resa::serve {

void open_slots(SlotPool& pool, const Model& model, const SessionOptions& opt, int n, int max_waiting, int threads) {
  for (int i = 0; i < n; ++i) pool.sessions.push_back(open_session(model, opt, {threads}));
  pool.busy.assign(n, false);
  pool.max_waiting = max_waiting;
}

SlotLease::~SlotLease() {
  if (!pool) return;
  {
    std::lock_guard<std::mutex> lock(pool->mu);
    pool->busy[index] = false;
  }
  pool->freed.notify_all();
}

namespace {

size_t shared_prefix(const std::vector<int>& a, const std::vector<int>& b) {
  size_t n = 0;
  while (n < std::min(a.size(), b.size()) && a[n] == b[n]) ++n;
  return n;
}

}  // namespace

std::shared_ptr<SlotLease> acquire_slot(SlotPool& pool, const std::vector<int>& prompt) {
  std::unique_lock<std::mutex> lock(pool.mu);
  auto any_free = [&] { return std::find(pool.busy.begin(), pool.busy.end(), false) != pool.busy.end(); };
  if (!any_free()) {
    if (pool.waiting >= pool.max_waiting) return nullptr;
    ++pool.waiting;
    pool.freed.wait(lock, any_free);
    --pool.waiting;
  }
  int best = -1;
  size_t best_len = 0;
  for (int i = 0; i < static_cast<int>(pool.sessions.size()); ++i) {
    if (pool.busy[i]) continue;
    const size_t len = shared_prefix(session_tokens(pool.sessions[i]), prompt);
    if (best < 0 || len > best_len) best = i, best_len = len;
  }
  pool.busy[best] = true;
  auto lease = std::make_shared<SlotLease>();
  lease->pool = &pool;
  lease->index = best;
  return lease;
}

SlotCounts slot_counts(SlotPool& pool) {
  std::lock_guard<std::mutex> lock(pool.mu);
  return {static_cast<int>(pool.sessions.size()), static_cast<int>(std::count(pool.busy.begin(), pool.busy.end(), true)),
          pool.waiting};
}

}  // namespace resa::serve
