// `resa serve`'s slots: --parallel sessions over the one model, each serving one request at a time and keeping its
// conversation's cache for the next (a request takes the free slot whose tokens share the longest prefix with its
// prompt). Requests beyond the slots wait, at most --queue of them; one more is refused (the server answers 503).
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "resa/resa.hpp"

namespace resa::serve {

struct SlotPool {
  std::mutex mu;
  std::condition_variable freed;
  std::vector<Session> sessions;
  std::vector<bool> busy;
  int waiting = 0;
  int max_waiting = 0;
};

void open_slots(SlotPool& pool, const Model& model, const SessionOptions& opt, int n, int max_waiting, int threads);

// A slot held by one request; released when the last copy goes.
struct SlotLease {
  SlotPool* pool = nullptr;
  int index = -1;
  Session* session() const { return &pool->sessions[index]; }
  ~SlotLease();
};

// Waits for a free slot (the one sharing the longest prefix with prompt); nullptr when --queue requests already wait.
std::shared_ptr<SlotLease> acquire_slot(SlotPool& pool, const std::vector<int>& prompt);

// Slots busy now, and requests waiting for one.
struct SlotCounts {
  int slots = 0, busy = 0, waiting = 0;
};
SlotCounts slot_counts(SlotPool& pool);

}  // namespace resa::serve
