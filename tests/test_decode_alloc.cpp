// A decode step allocates nothing: forward_token() and sample() run with the global allocator watched.
#include <atomic>
#include <cstdlib>
#include <new>

#include <gtest/gtest.h>

#include "forward.hpp"
#include "model/model.hpp"
#include "resa/resa.hpp"
#include "sampler.hpp"
#include "test_helpers.hpp"

namespace {
std::atomic<bool> watching{false};
std::atomic<long> allocations{0};
}  // namespace

// Replaces the global allocator for the whole test binary; it only counts while `watching`.
void* operator new(std::size_t n) {
  if (watching.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

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

TEST(DecodeStep, AllocatesNothing) {
  expect_allocation_free_decode(test::data_path("hf/tiny-qwen2-bf16"), DType::BF16);
  expect_allocation_free_decode(test::data_path("hf/tiny-llama3-f32"), DType::F32);
  expect_allocation_free_decode(test::model_path(), DType::F32);
}

TEST(DecodeStep, TheCounterSeesAllocations) {
  // The watch itself works: a vector allocation is counted.
  allocations = 0;
  watching = true;
  std::vector<int>* v = new std::vector<int>(100);
  watching = false;
  delete v;
  EXPECT_EQ(allocations.load(), 2);
}

}  // namespace
}  // namespace resa
