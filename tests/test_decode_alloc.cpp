// A decode step allocates nothing: forward_token() and sample() run with the global allocator watched.
#include <atomic>
#include <cstdlib>
#include <memory>
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

// Counts allocations while `watching`. Without AddressSanitizer (which owns malloc) malloc itself is replaced, so
// allocations by C code (libgomp, OpenBLAS) count too; under ASan, operator new is.
#if defined(__SANITIZE_ADDRESS__)
void* operator new(std::size_t n) {
  if (watching.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
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

// A one-layer model with random f32 weights, large enough (512 x 512 projections) that decode splits its
// matrix-vector products over the OpenMP threads.
struct SyntheticModel {
  std::vector<std::vector<float>> buffers;
  ModelData data;
};

std::unique_ptr<SyntheticModel> synthetic_model() {
  auto m = std::make_unique<SyntheticModel>();
  ModelConfig& c = m->data.config;
  c.architecture = "LlamaForCausalLM";
  c.dim = 512;
  c.hidden_dim = 1024;
  c.n_layers = 1;
  c.n_heads = 8;
  c.n_kv_heads = 2;
  c.head_dim = 64;
  c.vocab_size = 600;
  c.max_seq_len = 64;
  uint32_t seed = 1;
  auto buf = [&](size_t n, bool ones = false) {
    std::vector<float>& b = m->buffers.emplace_back(n);
    for (float& x : b) {
      seed = seed * 1664525u + 1013904223u;
      x = ones ? 1.0f : (static_cast<float>(seed >> 8) / 16777216.0f - 0.5f) * 0.1f;
    }
    return b.data();
  };
  auto mat = [&](int64_t rows, int64_t cols) { return Mat{buf(rows * cols), DType::F32, rows, cols}; };
  Weights& w = m->data.weights;
  w.token_embedding = mat(c.vocab_size, c.dim);
  w.lm_head = mat(c.vocab_size, c.dim);
  w.final_norm = buf(c.dim, true);
  LayerWeights lw;
  lw.attn_norm = buf(c.dim, true);
  lw.ffn_norm = buf(c.dim, true);
  lw.wq = mat(c.q_dim(), c.dim);
  lw.wk = mat(c.kv_dim(), c.dim);
  lw.wv = mat(c.kv_dim(), c.dim);
  lw.wo = mat(c.dim, c.q_dim());
  lw.w_gate = mat(c.hidden_dim, c.dim);
  lw.w_up = mat(c.hidden_dim, c.dim);
  lw.w_down = mat(c.dim, c.hidden_dim);
  w.layers.push_back(lw);
  return m;
}

TEST(DecodeStep, ThreadedDecodeAllocatesNothing) {
  auto m = synthetic_model();
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
