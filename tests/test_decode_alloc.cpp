// A decode step allocates nothing: forward_token() and sample() run with the global allocator watched.
#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>
#include <vector>

#include <gtest/gtest.h>

#include "attention/rectifier.hpp"
#include "forward.hpp"
#include "model/model.hpp"
#include "resa/resa.hpp"
#include "sampler.hpp"
#include "synthetic_model.hpp"
#include "test_helpers.hpp"

namespace {
std::atomic<bool> watching{false};
std::atomic<long> allocations{0};
}  // namespace

// Counts allocations while `watching`. Without a sanitizer (ASan and TSan own malloc) malloc itself is replaced, so
// allocations by C code (libgomp, OpenBLAS) count too; under a sanitizer, operator new is.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
void* operator new(std::size_t n) {
  if (watching.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
// Every plain form of new and delete, so that none pairs ASan's allocation with our free (std::stable_sort's
// temporary buffer uses the nothrow form). The aligned forms stay ASan's, with their own deletes.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  if (watching.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
#else
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* malloc(std::size_t n) {
  if (watching.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(n);
}
void* calloc(std::size_t n, std::size_t size) {
  if (watching.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_calloc(n, size);
}
void* realloc(void* p, std::size_t n) {
  if (watching.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_realloc(p, n);
}
}
#endif

namespace resa {
namespace {

void expect_allocation_free_decode(const std::string& path, DType kv) {
  Model model = load_model(path);
  const ModelData& m = *model.data;
  RunState s = make_run_state(m.config, 64, kv);
  SamplingOptions o;
  o.temperature = 0.9f;
  o.top_k = 20;
  o.top_p = 0.9f;
  o.min_p = 0.02f;
  o.repeat_penalty = 1.1f;
  Sampler sampler = make_sampler(m.config.vocab_size, o, 5);
  const int prompt[4] = {1, 5, 9, 13};
  const float* logits = forward(m, s, prompt, 4, 0);
  forward_token(m, s, 3, 4);  // the first decode step may start OpenMP's threads
  allocations = 0;
  watching = true;
  int token = sample(sampler, logits);
  for (int pos = 5; pos < 40; ++pos) {
    accept(sampler, token);
    logits = forward_token(m, s, token, pos);
    token = sample(sampler, logits);
  }
  watching = false;
  EXPECT_EQ(allocations.load(), 0) << path << " KV " << dtype_name(kv);
}

TEST(DecodeStep, ThreadedDecodeAllocatesNothing) {
  auto m = test::synthetic_model();
  RunState s = make_run_state(m->data.config, 64, DType::BF16);
  const int prompt[3] = {1, 2, 3};
  forward(m->data, s, prompt, 3, 0);
  forward_token(m->data, s, 4, 3);  // starts OpenMP's threads
  allocations = 0;
  watching = true;
  for (int pos = 4; pos < 40; ++pos) forward_token(m->data, s, pos % 600, pos);
  watching = false;
  EXPECT_EQ(allocations.load(), 0);
}

// A fixed token sequence (ids below 600) for the steps watched below.
int watched_token(int pos) { return pos * 31 % 600; }

// Prefills watched tokens [0, prefilled), then runs the step at `prefilled` (OpenMP's threads start).
void prefill_and_warm_up(const ModelData& m, RunState& s, int prefilled) {
  std::vector<int> tokens(prefilled);
  for (int i = 0; i < prefilled; ++i) tokens[i] = watched_token(i);
  forward(m, s, tokens.data(), prefilled, 0);
  forward_token(m, s, watched_token(prefilled), prefilled);
}

// The allocations of the steps at positions from+1 .. end-1, rectifying every f as generation does (counted from
// the step at from).
long allocations_while_generating(const ModelData& m, RunState& s, int from, int end, int f) {
  std::vector<int> tokens(end);
  for (int i = 0; i < end; ++i) tokens[i] = watched_token(i);
  allocations = 0;
  watching = true;
  for (int pos = from + 1; pos < end; ++pos) {
    if (rectify_due(pos - from, f)) rectify(m, s, tokens.data(), pos, f);
    forward_token(m, s, tokens[pos], pos);
  }
  watching = false;
  return allocations.load();
}

TEST(DecodeStep, ThreadedSparseDecodeAndRectifyAllocateNothing) {
  auto m = test::synthetic_model(1200);
  AttentionOptions o;  // Resa with the defaults: 10 % of the blocks past 2,560 tokens, 16 blocks before
  o.block_size = 8;
  o.min_blocks = 8;
  o.rectify_every = 16;
  RunState s = make_run_state(m->data.config, 1200, DType::BF16, 0, o);
  prefill_and_warm_up(m->data, s, 1100);
  EXPECT_EQ(allocations_while_generating(m->data, s, 1100, 1150, 16), 0);
  EXPECT_EQ(s.counters.rectify_passes, 3);
  EXPECT_GT(s.counters.selections, 0);
}

// LagKV decoding compresses a partition every lag_size steps (scores, top-k, compaction in place): on the run
// state's scratch, nothing allocated either, with ReSA over the compressed cache and its rectify passes.
TEST(DecodeStep, LagKvCompressionAndReSaAllocateNothing) {
  auto m = test::synthetic_model(1200);
  AttentionOptions o;
  o.block_size = 8;
  o.min_blocks = 8;
  o.rectify_every = 16;
  o.prefill = Prefill::LagKv;
  o.lag_sink = 4;
  o.lag_size = 32;
  RunState s = make_run_state(m->data.config, 1200, DType::BF16, 0, o);
  prefill_and_warm_up(m->data, s, 1000);
  const int frozen = s.kv.frozen_entries(0);
  EXPECT_EQ(allocations_while_generating(m->data, s, 1000, 1100, 16), 0);
  EXPECT_GT(s.kv.frozen_entries(0), frozen) << "partitions were compressed while watched";
  EXPECT_GT(s.counters.rectify_passes, 0);
}

TEST(DecodeStep, AllocatesNothing) {
  expect_allocation_free_decode(test::data_path("hf/tiny-qwen2-bf16"), DType::BF16);
  expect_allocation_free_decode(test::data_path("hf/tiny-llama3-f32"), DType::F32);
  expect_allocation_free_decode(test::model_path(), DType::F32);
}

TEST(DecodeStep, TheCounterSeesAllocations) {
  // The watch itself works: a vector allocation is counted (the object and its buffer).
  allocations = 0;
  watching = true;
  std::vector<int>* v = new std::vector<int>(100);
  watching = false;
  delete v;
  EXPECT_EQ(allocations.load(), 2);
}

}  // namespace
}  // namespace resa
