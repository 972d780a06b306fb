// resa::run_bench() (include/resa/bench.hpp): fill the cache to each depth once, then per policy time a prompt batch
// (pp) and a run of single-token steps (tg), the latter with the rectifier on its schedule, and turn the run state's
// profile (lib/forward.hpp: phase timers, bytes read) into the figures of a row.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <random>

#include <fmt/format.h>
#include <omp.h>

#include "attention/rectifier.hpp"
#include "attention/sparse_select.hpp"
#include "bench/kv_fill.hpp"
#include "bench/machine.hpp"
#include "gemm.hpp"
#include "forward.hpp"
#include "generate.hpp"
#include "model/load.hpp"
#include "model/model.hpp"
#include "parallel.hpp"
#include "resa/bench.hpp"

namespace resa {

namespace {

constexpr int kAutoPrefillDepth = 4096;  // BenchFill::Auto prefills up to here, fills synthetically beyond
constexpr int kCalibrationTokens = 64;   // a synthetic fill's statistics come from this many real positions at least
constexpr int kFillChunk = 1024;         // a prefill fill reports progress this often

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / v.size();
}

double stddev(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  const double m = mean(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / (v.size() - 1));
}

bool lagkv(const BenchOptions& o) { return o.attention.prefill == Prefill::LagKv; }

// Generation runs that need positions of their own: under LagKV every repetition of every policy at every depth
// continues the last (plus a warm-up step each); otherwise they rewind, and one run's positions serve all.
int64_t generation_runs(const BenchOptions& o) {
  if (!lagkv(o)) return 1;
  return static_cast<int64_t>(o.depths.size()) * o.policies.size() * (o.repetitions + 1);
}

void check(const ModelData& m, const BenchOptions& o) {
  const ModelConfig& c = m.config;
  if (o.n_prompt < 0) throw Error(fmt::format("the prompt length (-p) must be >= 0, got {}", o.n_prompt));
  if (o.n_gen < 0) throw Error(fmt::format("the generated tokens (-n) must be >= 0, got {}", o.n_gen));
  if (o.n_prompt == 0 && o.n_gen == 0) throw Error("nothing to measure: -p and -n are both 0");
  if (o.depths.empty()) throw Error("no depth given (-d)");
  for (int d : o.depths)
    if (d < 0) throw Error(fmt::format("a depth (-d) must be >= 0, got {}", d));
  if (o.policies.empty()) throw Error("no attention policy given (--attn)");
  if (o.repetitions < 1) throw Error(fmt::format("the repetitions (-r) must be >= 1, got {}", o.repetitions));
  if (o.threads < 0) throw Error(fmt::format("the number of threads must be >= 0, got {}", o.threads));
  if (o.attention.prefill == Prefill::LagKv && o.n_prompt > 0 &&
      std::any_of(o.depths.begin(), o.depths.end(), [](int d) { return d > 0; }))
    throw Error("with --prefill lagkv a prompt test (-p) runs at depth 0 only (a compressed cache cannot be rewound "
                "to a depth): measure pp with -d 0, and tg at depths with -p 0");
  if (o.ubatch < 1 || o.ubatch > 65536)
    throw Error(fmt::format("the rows per forward chunk (-u) must be in [1, 65536], got {}", o.ubatch));
  for (Attention a : o.policies) {  // the knobs as each policy measured uses them
    AttentionOptions each = o.attention;
    each.attn = a;
    check_attention_options(each);
  }
  const int64_t context = static_cast<int64_t>(*std::max_element(o.depths.begin(), o.depths.end())) + o.n_prompt +
                          o.n_gen * generation_runs(o);
  if (context > std::numeric_limits<int>::max() / 2)
    throw Error(fmt::format("depth + prompt + generated tokens is {} positions: too many", context));
  if (!m.synthetic && context > c.max_seq_len)
    throw Error(fmt::format("the largest depth + prompt + generated tokens is {} positions, beyond the model's maximum "
                            "of {} (with --synthetic, depths beyond it are allowed)",
                            context, c.max_seq_len));
}

// Cache entries the rows of a LagKV prefill of n tokens from an empty cache attend to, summed: token t meets the
// cache as the closed form has it after t tokens (compression happens exactly where the schedule's steps end) and
// attends to those entries and itself.
double lagkv_entries_seen(const AttentionOptions& o, int n) {
  double seen = 0;
  for (int t = 0; t < n; ++t) seen += static_cast<double>(lagkv_length(t, o) + 1);
  return seen;
}

// Floating-point operations of a prefill of n tokens at positions d .. d+n-1: every weight product (2 per
// multiply-add), attention's q·k and p·v over the entries each row sees (under LagKV, the compressed cache's), and
// the LM head for the last row.
double prefill_flops(const ModelConfig& c, const Weights& w, int d, int n, const AttentionOptions& o) {
  double layer = 0;
  for (const Mat* mat : {&w.layers[0].wq, &w.layers[0].wk, &w.layers[0].wv, &w.layers[0].wo, &w.layers[0].w_gate,
                         &w.layers[0].w_up, &w.layers[0].w_down})
    layer += static_cast<double>(mat->rows) * mat->cols;
  const double seen = o.prefill == Prefill::LagKv
                          ? lagkv_entries_seen(o, n)
                          : static_cast<double>(n) * d + static_cast<double>(n) * (n + 1) / 2;  // sum of d + i + 1
  return 2.0 * n * layer * c.n_layers + 4.0 * c.n_layers * c.n_heads * c.head_dim * seen +
         2.0 * static_cast<double>(w.lm_head.rows) * w.lm_head.cols;
}

struct Bench {
  const ModelData& m;
  const BenchOptions& o;
  const BenchMachine& machine;
  RunState s;
  std::vector<int> tokens;  // [context]: the token at each position
  int valid = 0;            // positions [0, valid) hold the filled context
  std::string filled_by;    // how: "prefill", "synthetic", "prefill+synthetic"
  std::unique_ptr<BandwidthProbe> probe;  // when o.bandwidth_per_test and there is a generation test

  void say(const std::string& what) const {
    if (o.progress) o.progress(what);
  }

  void fill_to(int depth) {
    if (lagkv(o)) return fill_lagkv_to(depth);
    if (depth <= valid) return;
    set_decode_attention(s, Attention::Dense);  // a one-token chunk of the fill is a decode step: dense, as prefill is
    const BenchFill how =
        o.fill != BenchFill::Auto ? o.fill : depth > kAutoPrefillDepth ? BenchFill::Synthetic : BenchFill::Prefill;
    const std::string name = how == BenchFill::Prefill ? "prefill" : "synthetic";
    if (filled_by.empty()) filled_by = name;
    else if (filled_by != name) filled_by = "prefill+synthetic";
    if (how == BenchFill::Prefill) {
      for (int at = valid; at < depth; at += kFillChunk) {
        say(fmt::format("depth {}: prefill {}/{}", depth, at, depth));
        forward(m, s, tokens.data() + at, std::min(kFillChunk, depth - at), at);
      }
    } else {
      // The statistics of real keys and values: the positions already prefilled, or a short prefill of our own.
      const int real = std::min(valid, 4 * kCalibrationTokens);
      if (real < kCalibrationTokens) {
        say(fmt::format("depth {}: calibrating on {} prefilled tokens", depth, kCalibrationTokens));
        forward(m, s, tokens.data(), std::min(kCalibrationTokens, s.context), 0);
      }
      const KvStatistics st = kv_statistics(s.kv, std::max(real, std::min(kCalibrationTokens, s.context)));
      say(fmt::format("depth {}: synthetic fill from {}", depth, valid));
      fill_kv_synthetic(s.kv, st, valid, depth, o.seed + static_cast<uint64_t>(depth));
    }
    valid = depth;
  }

  // Under LagKV the cache only grows: from the position it has reached (generation tests continue) to depth, by the
  // real prefill (its chunks compress as they go) or by synthetic entries added chunk by chunk on the same schedule.
  void fill_lagkv_to(int depth) {
    const int from = s.kv.next_position();
    if (depth <= from) return;
    const BenchFill how =
        o.fill != BenchFill::Auto ? o.fill : depth > kAutoPrefillDepth ? BenchFill::Synthetic : BenchFill::Prefill;
    const std::string name = how == BenchFill::Prefill ? "prefill" : "synthetic";
    filled_by = filled_by.empty() || filled_by == name ? name : "prefill+synthetic";
    if (how == BenchFill::Prefill) {
      for (int at = from; at < depth; at += kFillChunk) {
        say(fmt::format("depth {}: lagkv prefill {}/{}", depth, at, depth));
        forward(m, s, tokens.data() + at, std::min(kFillChunk, depth - at), at);
      }
    } else {
      if (from < kCalibrationTokens) forward(m, s, tokens.data() + from, kCalibrationTokens - from, from);
      const KvStatistics st = kv_statistics(s.kv, std::min(s.kv.length(0), 4 * kCalibrationTokens));
      say(fmt::format("depth {}: synthetic lagkv fill from {}", depth, s.kv.next_position()));
      for (int pos = s.kv.next_position(); pos < depth;) {
        const int rows = std::min(lagkv_room(s.kv, 0, s.attn), depth - pos);
        fill_kv_synthetic(s.kv, st, s.kv.length(0), s.kv.length(0) + rows, o.seed + static_cast<uint64_t>(pos), pos);
        lagkv_compress(s.kv, s.attn, s.lag_scratch);
        pos += rows;
      }
    }
    valid = s.kv.next_position();
  }

  BenchRow row(const char* kind, int n, int depth, Attention attn) const {
    BenchRow r;
    r.test = fmt::format("{}{}", kind, n);
    r.generation = kind[0] == 't';
    r.tokens = n;
    r.depth = depth;
    r.attn = attn;
    r.fill = depth == 0 ? "-" : filled_by;
    const double nan = std::numeric_limits<double>::quiet_NaN();
    r.bytes_per_token = r.achieved_gb_per_s = r.bandwidth_share = nan;
    r.rectify_passes = r.rectify_skipped = nan;  // the phase split is filled by both tests
    r.bandwidth_gb_per_s = machine.read_gb_per_s;
    r.gflops = r.peak_share = nan;
    return r;
  }

  BenchRow prompt_test(int depth, Attention attn) {
    BenchRow r = row("pp", o.n_prompt, depth, attn);
    std::vector<double> rate, ms, gflops;
    const double flops = prefill_flops(m.config, m.weights, depth, o.n_prompt, s.attn);
    const Profile before = s.profile;
    s.profile.timed = true;
    for (int rep = 0; rep < o.repetitions; ++rep) {
      say(fmt::format("depth {}, {}: pp{} {}/{}", depth, attention_name(attn), o.n_prompt, rep + 1, o.repetitions));
      if (lagkv(o)) s.kv.clear();  // depth 0 (check()): the prompt from an empty cache every time
      const double t0 = now_seconds();
      forward(m, s, tokens.data() + depth, o.n_prompt, depth);
      const double t = now_seconds() - t0;
      rate.push_back(o.n_prompt / t);
      ms.push_back(t * 1e3 / o.n_prompt);
      gflops.push_back(flops / t / 1e9);
    }
    r.tokens_per_s = mean(rate);
    r.tokens_per_s_sd = stddev(rate);
    r.ms_per_token = mean(ms);
    r.gflops = mean(gflops);
    r.peak_share = machine.peak_gflops() > 0 ? r.gflops / machine.peak_gflops() : std::nan("");
    s.profile.timed = false;
    split_phases(r, before, static_cast<double>(o.n_prompt) * o.repetitions);
    held(r);
    return r;
  }

  // The row's ms per token in each phase, from the profile's growth since `before` over `tokens` tokens.
  void split_phases(BenchRow& r, const Profile& before, double tokens) {
    const Profile& p = s.profile;
    const double to_ms = 1e3 / tokens;
    r.ms_matmul = (p.matmul_s - before.matmul_s) * to_ms;
    r.ms_attention = (p.attention_s - before.attention_s) * to_ms;
    r.ms_select = (p.select_s - before.select_s) * to_ms;
    r.ms_rectify = (p.rectify_s - before.rectify_s) * to_ms;
    r.ms_rest = (p.total_s - before.total_s) * to_ms - r.ms_matmul - r.ms_attention - r.ms_select - r.ms_rectify;
  }

  // n steps at positions depth .. depth+n-1; under ReSA, after step i (counted from 1) with i % f == 0 the last f
  // positions are rectified, so a run pays one pass per f tokens, as generation does.
  BenchRow generation_test(int depth, Attention attn) {
    BenchRow r = row("tg", o.n_gen, depth, attn);
    const int f = s.policy.rectify_every;
    // Under LagKV the steps continue from where the cache is (the schedule cannot be rewound), else from depth.
    int start = lagkv(o) ? s.kv.next_position() : depth;
    forward_token(m, s, tokens[start], start);  // warm-up step, as llama-bench does
    if (lagkv(o)) ++start;
    std::vector<double> rate, ms;
    const double bw_before = probe ? probe->measure(3) / 1e9 : machine.read_gb_per_s;
    const Profile before = s.profile;
    const AttentionCounters counters_before = s.counters;
    s.profile.timed = true;
    for (int rep = 0; rep < o.repetitions; ++rep) {
      say(fmt::format("depth {}, {}: tg{} {}/{}", depth, attention_name(attn), o.n_gen, rep + 1, o.repetitions));
      const double t0 = now_seconds();
      for (int i = 1; i <= o.n_gen; ++i) {
        forward_token(m, s, tokens[start + i - 1], start + i - 1);
        if (rectify_due(i, f)) rectify(m, s, tokens.data(), start + i, f);
      }
      const double t = now_seconds() - t0;
      if (lagkv(o)) start += o.n_gen;
      rate.push_back(o.n_gen / t);
      ms.push_back(t * 1e3 / o.n_gen);
    }
    s.profile.timed = false;
    const Profile& p = s.profile;
    const double steps = static_cast<double>(o.n_gen) * o.repetitions;
    r.tokens_per_s = mean(rate);
    r.tokens_per_s_sd = stddev(rate);
    r.ms_per_token = mean(ms);
    r.bytes_per_token = (p.weight_bytes - before.weight_bytes + p.kv_bytes - before.kv_bytes) / steps;
    r.achieved_gb_per_s = r.bytes_per_token * r.tokens_per_s / 1e9;
    r.bandwidth_gb_per_s = probe ? std::max(bw_before, probe->measure(3) / 1e9) : machine.read_gb_per_s;
    r.bandwidth_share = r.achieved_gb_per_s / r.bandwidth_gb_per_s;
    split_phases(r, before, steps);
    r.rectify_passes = static_cast<double>(s.counters.rectify_passes - counters_before.rectify_passes) / o.repetitions;
    r.rectify_skipped =
        static_cast<double>(s.counters.rectify_skipped - counters_before.rectify_skipped) / o.repetitions;
    held(r);
    return r;
  }

  void held(BenchRow& r) const {
    r.kv_tokens = s.kv.length(0);
    r.kv_bytes = static_cast<double>(s.kv.bytes_used());
  }
};

// The machine's probes (lib/bench/machine.cpp) and the synthetic fill run OpenMP's default team: `resa bench` sets
// that default for its calling thread (OpenMP keeps it per thread), as OMP_NUM_THREADS would. The engine's own calls
// take the count explicitly.
void set_bench_threads(int threads) {
  if (threads > 0) omp_set_num_threads(resolve_threads(threads));
}

}  // namespace

void check_bench_options(const Model& model, const BenchOptions& opt) { check(model_data(model), opt); }

BenchMachine measure_machine(int threads) {
  set_bench_threads(threads);
  BenchMachine mc;
  mc.cpu = cpu_model();
  mc.isa = kernel_info().isa;
  mc.blas = blas_config();
  mc.blas_core = blas_core();
  mc.threads = std::max(1, omp_get_max_threads());
  mc.read_gb_per_s = measure_read_bandwidth(7) / 1e9;
  mc.fma_gflops = measure_fma_peak() / 1e9;
  mc.bf16_gflops = measure_bf16_peak() / 1e9;
  return mc;
}

std::vector<BenchRow> run_bench(const Model& model, const BenchOptions& opt, const BenchMachine& machine) {
  const ModelData& m = model_data(model);
  const ModelConfig& c = m.config;
  check(m, opt);
  set_bench_threads(opt.threads);
  std::vector<int> depths = opt.depths;
  std::sort(depths.begin(), depths.end());
  depths.erase(std::unique(depths.begin(), depths.end()), depths.end());
  const int context = static_cast<int>(depths.back() + opt.n_prompt + opt.n_gen * generation_runs(opt) + 1);

  // One state for every policy (it holds the sparse policies' scratch; the policy is switched per test), so each
  // depth is filled once.
  AttentionOptions attn = opt.attention;
  attn.attn = Attention::Sparse;
  Bench b{m, opt, machine, make_run_state(c, context, kv_dtype(opt.kv_type), opt.ubatch, attn, opt.threads), {}, 0, {}, {}};
  if (opt.bandwidth_per_test && opt.n_gen > 0) b.probe = std::make_unique<BandwidthProbe>();
  std::mt19937_64 rng(opt.seed);
  b.tokens.resize(context);
  for (int& t : b.tokens) t = static_cast<int>(rng() % static_cast<uint64_t>(c.vocab_size));

  // Warm-up: the scratch and the weights touched once before anything is timed (the fill overwrites what it wrote).
  b.say("warming up");
  const int warm = std::min(kCalibrationTokens, context - 1);
  if (warm > 0) forward(m, b.s, b.tokens.data(), warm, 0);
  forward_token(m, b.s, b.tokens[warm], warm);
  if (lagkv(opt)) b.s.kv.clear();  // LagKV's cache only grows: start it empty

  std::vector<BenchRow> rows;
  for (int d : depths) {
    b.fill_to(d);
    for (Attention a : opt.policies) {
      set_decode_attention(b.s, a);
      if (opt.n_prompt > 0) rows.push_back(b.prompt_test(d, a));
      if (opt.n_gen > 0) rows.push_back(b.generation_test(d, a));
    }
  }
  auto policy_index = [&](Attention a) {
    return std::find(opt.policies.begin(), opt.policies.end(), a) - opt.policies.begin();
  };
  std::stable_sort(rows.begin(), rows.end(), [&](const BenchRow& x, const BenchRow& y) {
    if (x.generation != y.generation) return !x.generation;
    if (x.depth != y.depth) return x.depth < y.depth;
    return policy_index(x.attn) < policy_index(y.attn);
  });
  return rows;
}

}  // namespace resa
