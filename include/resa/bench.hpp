// resa's end-to-end benchmark (the library behind `resa bench`): prompt processing (pp: tokens/s over a batch) and
// generation (tg: tokens/s, one token at a time) at a depth of context, per attention policy, as shares of the
// machine's read bandwidth and compute peak measured in the same run.
//
//   resa::Model model = resa::synthetic_model("bench/configs/qwen2.5-1.5b-instruct.config.json");
//   resa::BenchOptions opt;  opt.depths = {0, 4096};  opt.policies = {resa::Attention::Dense, resa::Attention::Resa};
//   resa::BenchMachine machine = resa::measure_machine();
//   for (const resa::BenchRow& row : resa::run_bench(model, opt, machine)) ...
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "resa/resa.hpp"

namespace resa {

// A model with random bf16 weights at the shape a Hugging Face config.json gives (a file, or a directory holding
// one), made in memory: nothing is read but the config, nothing is written. Uniform weights with the config's
// initializer_range as standard deviation (0.02 without one), norms 1, biases like the weights. It has no
// tokenizer; benchmarks feed it random ids. Its depths are not limited to the config's maximum positions. Its
// matrices are placed for decode on `threads` threads (0: OpenMP's default), as WeightLoad::Copy places a checkpoint's,
// in bf16 or as `weights` asks (the bf16 values quantized as a checkpoint's are at load).
Model synthetic_model(const std::string& config_path, uint64_t seed = 1, int threads = 0,
                      WeightType weights = WeightType::AsStored);

// How the KV cache reaches a test's depth. Prefill: the real forward pass over random tokens (exact, as slow as
// prefill). Synthetic: keys and values written straight into the cache, drawn per layer, KV head and channel with
// the mean and spread the model's own keys and values have over a short real prefill, and the block summaries
// computed from them, so decode reads exactly the bytes a real context of that depth makes it read. What it does not
// model: which blocks ReSA selects (a real context's attention is peaked where random keys are flat); the number of
// blocks and so the bytes and the cost of the budget are the same. Auto: Prefill up to 4096 positions, Synthetic
// beyond.
enum class BenchFill { Auto, Prefill, Synthetic };

struct BenchOptions {
  int n_prompt = 512;                      // pp test: tokens in one batch; 0 = no pp test
  int n_gen = 32;                          // tg test: tokens generated one at a time; 0 = no tg test
  std::vector<int> depths = {0};           // tokens in the cache before each test
  std::vector<Attention> policies = {Attention::Resa};
  AttentionOptions attention;              // the sparse knobs (attention.attn is ignored: policies)
  int threads = 0;                         // 0 = every core
  int repetitions = 3;
  int ubatch = kDefaultUbatch;             // rows per forward chunk of the pp test and the fill (llama-bench's -ub)
  KvType kv_type = KvType::BF16;
  BenchFill fill = BenchFill::Auto;
  uint64_t seed = 1;                       // of the random tokens and the synthetic cache
  // Measure the read bandwidth right before and right after each generation test and take its share of the higher
  // of the two (512 MiB more memory, ~0.2 s per test); false: of the machine's figure measured at start.
  bool bandwidth_per_test = true;
  std::function<void(const std::string&)> progress;  // called with a short status while filling and testing
};

// What the figures are shares of, measured at start, and what ran them.
struct BenchMachine {
  std::string cpu;      // "AMD EPYC (family 26, model 2)"
  std::string isa;      // the kernel table: avx512, avx2, scalar
  std::string blas;     // the BLAS's own description, and the kernels it chose for this CPU
  std::string blas_core;
  int threads = 0;
  double read_gb_per_s = 0;      // all threads streaming a large buffer, best of several passes
  double fma_gflops = 0;         // f32 FMA peak, all threads
  double bf16_gflops = 0;        // AVX512_BF16 dot-product peak, all threads; 0 without it
  double peak_gflops() const { return bf16_gflops > 0 ? bf16_gflops : fma_gflops; }  // what pp is a share of
};

// Measures the bandwidth and peaks with `threads` OpenMP threads (0 = every core).
BenchMachine measure_machine(int threads = 0);

// One test at one depth under one policy. Rates are means over the repetitions, sd their standard deviations.
// Fields that do not apply to a test are NaN (tg: gflops; pp: bytes, bandwidth and the rectify passes).
struct BenchRow {
  std::string test;  // "pp512", "tg32"
  bool generation = false;
  int tokens = 0;
  int depth = 0;
  Attention attn = Attention::Dense;
  std::string fill;  // how the depth was filled: "prefill", "synthetic" ("-" at depth 0)
  double tokens_per_s = 0, tokens_per_s_sd = 0;
  double ms_per_token = 0;
  // tg: bytes read per generated token (weight matrices, keys, values and block summaries, rectify passes
  // included), what that makes per second, and its share of the read bandwidth bandwidth_gb_per_s: the higher of
  // the two measured right before and right after the test (BenchOptions::bandwidth_per_test), else the
  // machine's figure from the start of the run (as for pp rows).
  double bytes_per_token = 0, achieved_gb_per_s = 0, bandwidth_share = 0, bandwidth_gb_per_s = 0;
  // ms per token in each phase, pp and tg (they sum to the step: rest = embedding, norms, RoPE, K/V stores, the loop).
  double ms_matmul = 0, ms_attention = 0, ms_select = 0, ms_rectify = 0, ms_rest = 0;
  double rectify_passes = 0;   // per repetition
  double rectify_skipped = 0;  // per repetition: due, but the window was decoded in the dense regime
  // pp: the pass's floating-point operations per second (weight products, attention, the LM head of the last
  // position) and their share of the machine's peak_gflops().
  double gflops = 0, peak_share = 0;
  // What the KV cache holds after the test: entries per KV head (fewer than the positions under LagKV) and bytes
  // (keys and values of every layer and head).
  int kv_tokens = 0;
  double kv_bytes = 0;
};

// Throws the Error run_bench() would for these options, before anything is measured.
void check_bench_options(const Model& model, const BenchOptions& opt);

// Runs every (depth, policy, test) with opt.repetitions repetitions each; rows ordered by test, depth, policy. The
// context is sized to the largest depth + n_prompt + n_gen. Under --prefill lagkv (opt.attention.prefill) a prompt
// test runs at depth 0 only, on an emptied cache each repetition (a compressed cache cannot be rewound), and the
// repetitions of a generation test continue one another rather than rewinding (each after the last; the context
// grows by n_gen per repetition); a depth is reached by LagKV's own prefill or a synthetic fill compressed on the
// same schedule. Throws Error on bad options, and when that context is
// beyond the maximum positions of a model loaded from a file.
std::vector<BenchRow> run_bench(const Model& model, const BenchOptions& opt, const BenchMachine& machine);

}  // namespace resa
