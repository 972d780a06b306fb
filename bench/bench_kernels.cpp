// resa-bench-kernels: the decode kernels at the Qwen2.5-1.5B layout (head_dim 128, 2 KV heads, g = 6 query heads per
// KV head, bf16 KV cache), one layer's cache at contexts 4096 .. 131072, through the library's own attention paths
// (the kernel table RESA_ISA chooses, the threads RESA_THREADS says, 2 by default). One layer's cache up to 32K
// (33.5 MB) stays largely in the last-level cache from one iteration to the next, so its shares of the DRAM bandwidth
// can pass 1; the *_model benchmarks run all 28 layers' caches at 32K (0.94 GB), as a decode step meets them.
// BM_scattered_read_model is the ceiling of the sparse step's reads: its selected blocks read with no arithmetic.
//
// At start it measures what the figures are shares of: the machine's read bandwidth (2 threads streaming 512 MiB)
// and the f32 FMA and AVX512_BF16 dot-product peaks. Each benchmark sets bytes_per_second to the bytes it reads and
// a FLOPS rate; bw_share = bytes_per_second / the bandwidth measured at start, peak_share (rectify) = FLOPS / the
// bf16 dot peak (the f32 FMA peak on a CPU without AVX512_BF16). The bandwidth drifts by tens of percent between
// minutes on a shared machine, so each benchmark measures it again right after itself: bw_now, and
// bw_share_now = bytes_per_second / bw_now.
//
//   RESA_ISA=avx512 build/bin/resa-bench-kernels --benchmark_filter=dense --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <omp.h>

#include "attention/dense.hpp"
#include "attention/sparse.hpp"
#include "bench/machine.hpp"
#include "forward.hpp"
#include "gemm.hpp"
#include "huge_pages.hpp"
#include "linear.hpp"
#include "model/placement.hpp"
#include "parallel.hpp"
#include "simd/convert.hpp"
#include "simd/kernels.hpp"

namespace {

using namespace resa;

// ---- What the figures are shares of -----------------------------------------------------------------------------

double g_read_bw = 0;      // bytes/s, all threads
double g_fma_peak = 0;     // f32 FMA flop/s, all threads
double g_bf16_peak = 0;    // vdpbf16ps flop/s, all threads (0 without AVX512_BF16)
double g_fma256_peak = 0;  // 256-bit f32 FMA flop/s, all threads (the avx2 table's peak)

// ---- One layer of the Qwen2.5-1.5B layout ------------------------------------------------------------------------

ModelConfig qwen_layer() {
  ModelConfig c;
  c.dim = 1536;
  c.hidden_dim = 8960;
  c.n_layers = 1;
  c.n_heads = 12;
  c.n_kv_heads = 2;
  c.head_dim = 128;
  c.vocab_size = 16;
  c.max_seq_len = 131072;
  return c;
}

constexpr int kBlock = 16;
constexpr int kMaxF = 128;

uint32_t lcg(uint32_t& s) { return s = s * 1664525u + 1013904223u; }
float uniform(uint32_t& s) { return static_cast<float>(lcg(s) >> 8) * (2.0f / 16777216.0f) - 1.0f; }

// A state whose cache holds ctx random positions (keys and values in [-1, 1), bf16), queries for kMaxF rows.
RunState& state_for(int ctx) {
  static std::map<int, std::unique_ptr<RunState>> states;
  auto& s = states[ctx];
  if (!s) {
    const ModelConfig c = qwen_layer();
    AttentionOptions attn;
    attn.attn = Attention::Sparse;
    attn.block_size = kBlock;
    attn.sparse_ratio = 0.1;
    s = std::make_unique<RunState>(make_run_state(c, ctx, DType::BF16, kMaxF, attn));
    uint32_t seed = 12345;
    std::vector<float> k(static_cast<size_t>(kMaxF) * c.kv_dim()), v(k.size());
    for (int pos = 0; pos < ctx; pos += kMaxF) {
      for (size_t i = 0; i < k.size(); ++i) {
        k[i] = uniform(seed);
        v[i] = uniform(seed);
      }
      s->kv.store(0, pos, std::min(kMaxF, ctx - pos), k.data(), v.data());
    }
    for (float& x : s->q) x = uniform(seed);
  }
  return *s;
}

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// bytes and flops of one iteration; seconds: the wall time of the timing loop.
void set_shares(benchmark::State& st, double bytes, double flops, double seconds) {
  const double n = static_cast<double>(st.iterations());
  st.SetBytesProcessed(static_cast<int64_t>(bytes * n));
  st.counters["FLOPS"] = benchmark::Counter(flops * n, benchmark::Counter::kIsRate);
  st.counters["bw_share"] = bytes * n / seconds / g_read_bw;
  // The bandwidth again, right after: the machine's drifts by tens of percent from minute to minute.
  const double now = measure_read_bandwidth(5);
  st.counters["bw_now"] = benchmark::Counter(now, benchmark::Counter::kDefaults, benchmark::Counter::kIs1024);
  st.counters["bw_share_now"] = bytes * n / seconds / now;
}

// K and V of every KV head at positions [0, ctx).
double kv_bytes(const ModelConfig& c, int ctx) { return 2.0 * c.n_kv_heads * ctx * c.head_dim * 2; }

void BM_dense_decode_attn(benchmark::State& st) {
  const int ctx = static_cast<int>(st.range(0));
  const ModelConfig c = qwen_layer();
  RunState& s = state_for(ctx);
  const Clock::time_point t0 = Clock::now();
  const LayerCache cache{&s.kv, 0, ctx};
  const AttentionRows io{s.q.data(), s.xb.data(), c.q_dim()};
  const int threads = omp_get_max_threads();
  for (auto _ : st) {
    dense_decode(c, cache, io, s.attn, s.decode, threads, false);
    benchmark::DoNotOptimize(s.xb.data());
  }
  const double sec = since(t0);
  set_shares(st, kv_bytes(c, ctx), 4.0 * c.n_heads * ctx * c.head_dim, sec);
}

void BM_sparse_decode_attn(benchmark::State& st) {
  const int ctx = static_cast<int>(st.range(0));
  const ModelConfig c = qwen_layer();
  RunState& s = state_for(ctx);
  const LayerCache cache{&s.kv, 0, ctx};
  const AttentionRows io{s.q.data(), s.xb.data(), c.q_dim()};
  const int threads = omp_get_max_threads();
  DecodeStep step;
  const Clock::time_point t0 = Clock::now();
  for (auto _ : st) {
    step = sparse_decode(c, cache, io, s.attn, s.decode, threads, false);
    benchmark::DoNotOptimize(s.xb.data());
  }
  const double sec = since(t0);
  const double tokens = static_cast<double>(step.blocks_selected) * kBlock;  // the same selection every iteration
  const int n_blocks = (ctx + kBlock - 1) / kBlock;
  set_shares(st, step.kv_bytes,
             4.0 * c.n_heads * tokens * c.head_dim + 3.0 * c.n_kv_heads * n_blocks * c.head_dim, sec);
  st.counters["blocks"] = step.blocks_selected;
}

void BM_block_select(benchmark::State& st) {
  const int ctx = static_cast<int>(st.range(0));
  const ModelConfig c = qwen_layer();
  RunState& s = state_for(ctx);
  const Clock::time_point t0 = Clock::now();
  const LayerCache cache{&s.kv, 0, ctx};
  const int threads = omp_get_max_threads();
  for (auto _ : st) benchmark::DoNotOptimize(sparse_select(c, cache, s.q.data(), s.attn, s.decode, threads));
  const double sec = since(t0);
  const int n_blocks = (ctx + kBlock - 1) / kBlock;
  set_shares(st, 2.0 * c.n_kv_heads * n_blocks * c.head_dim * 2, 3.0 * c.n_kv_heads * n_blocks * c.head_dim, sec);
}

void BM_rectify(benchmark::State& st) {
  const int ctx = static_cast<int>(st.range(0)), f = static_cast<int>(st.range(1));
  const ModelConfig c = qwen_layer();
  RunState& s = state_for(ctx);
  const Clock::time_point t0 = Clock::now();
  const LayerCache cache{&s.kv, 0, ctx};
  const AttentionRows io{s.q.data(), s.xb.data(), c.q_dim()};
  for (auto _ : st) {
    dense_causal(c, cache, io, ctx - f, f, s.causal, s.threads);
    benchmark::DoNotOptimize(s.xb.data());
  }
  const double sec = since(t0);
  // Row i (0-based) of the f sees ctx - f + i + 1 positions.
  const double visible = static_cast<double>(f) * (ctx - f) + static_cast<double>(f) * (f + 1) / 2;
  const double flops = 4.0 * c.n_heads * c.head_dim * visible;
  set_shares(st, kv_bytes(c, ctx), flops, sec);
  const double peak = g_bf16_peak > 0 ? g_bf16_peak : g_fma_peak;
  st.counters["peak_share"] = flops * static_cast<double>(st.iterations()) / sec / peak;
}

// Rows [begin, end) of a matrix of type `type` at dst: random weights within 0.05; the k-quants' row-group forms
// (which resa reads from files, never quantizes to) from random super-blocks with small scales, regrouped.
void fill_rows(uint8_t* dst, DType type, int64_t cols, int64_t begin, int64_t end) {
  const DType holds = dtype_info(type).holds;
  if (holds != DType::Q4_K && holds != DType::Q6_K)
    return write_rows(dst, type, cols, begin, end, [cols](int64_t r, float* row) {
      uint32_t seed = 7 + static_cast<uint32_t>(r);
      for (int c = 0; c < cols; ++c) row[c] = uniform(seed) * 0.05f;
    });
  const Mat group{nullptr, holds, simd::kRowGroup, cols};
  std::vector<uint8_t> blocks(simd::kRowGroup * group.row_bytes());
  for (int64_t r = begin; r < end; r += simd::kRowGroup, dst += blocks.size()) {
    uint32_t seed = 7 + static_cast<uint32_t>(r);
    for (uint8_t& b : blocks) b = static_cast<uint8_t>(uniform(seed) * 127.0f + 128.0f);
    for (size_t b = 0; b < blocks.size(); b += dtype_info(holds).block_bytes)  // d (and dmin) small
      if (holds == DType::Q4_K) {
        auto* q = reinterpret_cast<simd::BlockQ4_K*>(blocks.data() + b);
        q->d = simd::f32_to_f16(0.0003f);
        q->dmin = simd::f32_to_f16(0.001f);
      } else {
        reinterpret_cast<simd::BlockQ6_K*>(blocks.data() + b)->d = simd::f32_to_f16(0.0001f);
      }
    pack_groups(dst, type, Mat{blocks.data(), holds, simd::kRowGroup, cols}, 0, simd::kRowGroup);
  }
}

// A decode step's weight product (lib/linear.cpp): W[rows][cols] · x, W of the type argument 2 names (a DType:
// 1 bf16, 3 q8_0, 4 q4_0, 5 q8_0_r8, 6 q4_0_r8, 9 q4_k_r8, 10 q6_k_r8: the form --load copy places them in), cold
// (every pass reads it from memory: the larger shapes exceed the caches).
void BM_gemv(benchmark::State& st) {
  const int T = resolve_threads(0);
  const int rows = static_cast<int>(st.range(0)), cols = static_cast<int>(st.range(1));
  const DType type = static_cast<DType>(st.range(2));
  // In 2 MiB pages, written by the threads that will read it (the static row split of matvec), as a loaded model's
  // weights are (lib/model/placement.hpp): measured 35 -> 4x GB/s on this machine against writing it from one thread.
  const size_t row_bytes = dtype_bytes(type, cols);
  HugeBuffer buffer(static_cast<size_t>(rows) * row_bytes);
  std::vector<float> x(cols), out(rows);
#pragma omp parallel
  {
    const RowShare share = thread_share(rows, omp_get_thread_num(), omp_get_num_threads(), kDecodeRowAlign);
    fill_rows(buffer.data() + share.begin * row_bytes, type, cols, share.begin, share.end);
  }
  uint32_t seed = 7;
  for (float& e : x) e = uniform(seed);
  const Mat W{buffer.data(), type, rows, cols};
  const Clock::time_point t0 = Clock::now();
  for (auto _ : st) {
    matvec(out.data(), W, x.data(), T);
    benchmark::DoNotOptimize(out.data());
  }
  const double sec = since(t0);
  set_shares(st, static_cast<double>(W.bytes()), 2.0 * rows * cols, sec);
  st.SetLabel(dtype_name(type));
}

// A decode step's weight products without the rest of the step: the layers' matrices of the Qwen2.5-1.5B shape
// (K, V, Q fused; O; gate and up with SwiGLU; down), 28 of them, of the type argument 0 names (as BM_gemv), 1.4 GB in
// q8_0: every matrix cold, each product as small as a layer's, as decode meets them (BM_gemv's large shapes are one
// matrix in one stream; this adds the products' starts and ends).
void BM_decode_products(benchmark::State& st) {
  const int T = resolve_threads(0);
  const DType type = static_cast<DType>(st.range(0));
  constexpr int kLayers = 28, kDim = 1536, kKv = 256, kHidden = 8960;
  struct Layer {
    Mat wq, wk, wv, wo, gate, up, down;
  };
  std::vector<HugeBuffer> buffers;
  std::vector<Layer> layers(kLayers);
  auto place = [&](Mat& m, int64_t rows, int64_t cols) {
    const size_t row_bytes = dtype_bytes(type, cols);
    buffers.emplace_back(static_cast<size_t>(rows) * row_bytes);
    uint8_t* data = buffers.back().data();
#pragma omp parallel
    {
      const RowShare share = thread_share(rows, omp_get_thread_num(), omp_get_num_threads(), kDecodeRowAlign);
      fill_rows(data + share.begin * row_bytes, type, cols, share.begin, share.end);
    }
    m = Mat{data, type, rows, cols};
  };
  double bytes = 0;
  for (Layer& l : layers) {
    place(l.wq, kDim, kDim);
    place(l.wk, kKv, kDim);
    place(l.wv, kKv, kDim);
    place(l.wo, kDim, kDim);
    place(l.gate, kHidden, kDim);
    place(l.up, kHidden, kDim);
    place(l.down, kDim, kHidden);
    for (const Mat* m : {&l.wq, &l.wk, &l.wv, &l.wo, &l.gate, &l.up, &l.down}) bytes += static_cast<double>(m->bytes());
  }
  std::vector<float> x(kHidden), q(kDim), k(kKv), v(kKv), o(kDim), g(kHidden), u(kHidden);
  uint32_t seed = 7;
  for (float& e : x) e = uniform(seed) * 0.1f;
  const Clock::time_point t0 = Clock::now();
  for (auto _ : st) {
    for (const Layer& l : layers) {
      const MatvecJob kvq[3] = {{k.data(), &l.wk, nullptr}, {v.data(), &l.wv, nullptr}, {q.data(), &l.wq, nullptr}};
      matvec_fused(kvq, 3, x.data(), T);
      matvec(o.data(), l.wo, q.data(), T);
      matvec_swiglu(g.data(), u.data(), l.gate, l.up, o.data(), T);
      matvec(o.data(), l.down, g.data(), T);
    }
    benchmark::DoNotOptimize(o.data());
  }
  const double sec = since(t0);
  set_shares(st, bytes, 2.0 * bytes / static_cast<double>(dtype_bytes(type, 32)) * 32, sec);
  st.SetLabel(dtype_name(type));
}

// A chunk's weight product (lib/gemm.cpp, as prefill and the rectify pass run it): X[m][k] · W[n][k]^T.
// Argument 4: W's type (a DType: 1 bf16, 3 q8_0, 5 q8_0_r8: widened to bf16 per tile). Argument 3: 1 = activations
// rounded to bf16 (the fast default: vdpbf16ps on AVX512_BF16), 0 = f32 activations (the exact mode, W widened).
// peak_share = FLOPS / the peak of the instruction the kernel runs on: the bf16 dot peak for vdpbf16ps, the f32 FMA
// peak for widen + FMA (256-bit FMA's under RESA_ISA=avx2).
void BM_gemm_bf16(benchmark::State& st) {
  const int m = static_cast<int>(st.range(0)), n = static_cast<int>(st.range(1)), k = static_cast<int>(st.range(2));
  const GemmInput input = st.range(3) ? GemmInput::Bf16 : GemmInput::F32;
  // W in 2 MiB pages, as a loaded model's weights are (lib/model/placement.hpp): in 4 KiB pages a TLB miss every few
  // rows of W would be measured too.
  const DType type = static_cast<DType>(st.range(4));  // 1 bf16; a quantized type widened per tile
  HugeVector<uint16_t> w(static_cast<size_t>(n) * k);
  std::vector<uint16_t> xbf(static_cast<size_t>(m) * k);
  std::vector<float> x(static_cast<size_t>(m) * k), y(static_cast<size_t>(m) * n);
  uint32_t seed = 9;
  for (uint16_t& e : w) e = simd::f32_to_bf16(uniform(seed) * 0.05f);
  for (float& e : x) e = uniform(seed);
  HugeBuffer wq(static_cast<size_t>(n) * dtype_bytes(type, k));
  if (type != DType::BF16)
    write_rows(wq.data(), type, k, 0, n, [&](int64_t r, float* row) {
      for (int c = 0; c < k; ++c) row[c] = simd::bf16_to_f32(w[static_cast<size_t>(r) * k + c]);
    });
  const Mat W{type == DType::BF16 ? static_cast<void*>(w.data()) : static_cast<void*>(wq.data()), type, n, k};
  const GemmScratch scratch{xbf.data(), omp_get_max_threads()};
  gemm(y.data(), n, x.data(), m, W, false, input, scratch);  // warm: pages touched, W in the caches it fits
  const Clock::time_point t0 = Clock::now();
  for (auto _ : st) {
    gemm(y.data(), n, x.data(), m, W, false, input, scratch);
    benchmark::DoNotOptimize(y.data());
  }
  const double sec = since(t0), flops = 2.0 * m * n * k;
  const double rate = flops * static_cast<double>(st.iterations()) / sec;
  st.counters["FLOPS"] = benchmark::Counter(flops * static_cast<double>(st.iterations()), benchmark::Counter::kIsRate);
  const bool dot = input == GemmInput::Bf16 && simd::kernels().bf16_dot;
  const bool ymm = std::string(simd::kernels().isa) == "avx2";
  st.counters["peak_share"] = rate / (dot ? g_bf16_peak : ymm ? g_fma256_peak : g_fma_peak);
  st.SetLabel(gemm_description(type, input));
}

const std::vector<int64_t> kContexts = {4096, 16384, 32768, 131072};

// Every layer of the model at one context: a decode step's whole attention, its 0.94 GB (32K) beyond any cache.
RunState& model_state(int ctx, int layers) {
  static std::map<int, std::unique_ptr<RunState>> states;
  auto& s = states[ctx];
  if (!s) {
    ModelConfig c = qwen_layer();
    c.n_layers = layers;
    AttentionOptions attn;  // the dense step reads every block whatever the policy; the sparse one selects 10 %
    attn.attn = Attention::Sparse;
    attn.block_size = kBlock;
    attn.sparse_ratio = 0.1;
    s = std::make_unique<RunState>(make_run_state(c, ctx, DType::BF16, kMaxF, attn));
    std::vector<float> k(static_cast<size_t>(kMaxF) * c.kv_dim()), v(k.size());
#pragma omp parallel for schedule(dynamic) firstprivate(k, v)
    for (int l = 0; l < layers; ++l) {
      uint32_t seed = 12345 + l;
      for (int pos = 0; pos < ctx; pos += kMaxF) {
        for (size_t i = 0; i < k.size(); ++i) {
          k[i] = uniform(seed);
          v[i] = uniform(seed);
        }
        s->kv.store(l, pos, std::min(kMaxF, ctx - pos), k.data(), v.data());
      }
    }
    uint32_t seed = 5;
    for (float& x : s->q) x = uniform(seed);
  }
  return *s;
}

// A decode step's attention over every layer: dense (every block), or sparse (each layer's block selection and the
// selected blocks; bytes: those blocks' K/V and every block's summaries).
void decode_attn_model(benchmark::State& st, bool sparse) {
  const int ctx = static_cast<int>(st.range(0)), layers = 28;
  ModelConfig c = qwen_layer();
  c.n_layers = layers;
  RunState& s = model_state(ctx, layers);
  const AttentionRows io{s.q.data(), s.xb.data(), c.q_dim()};
  const int threads = omp_get_max_threads();
  double bytes = 0;
  const Clock::time_point t0 = Clock::now();
  for (auto _ : st) {
    bytes = 0;
    for (int l = 0; l < layers; ++l) {
      const LayerCache cache{&s.kv, l, ctx};
      bytes += (sparse ? sparse_decode(c, cache, io, s.attn, s.decode, threads, false)
                       : dense_decode(c, cache, io, s.attn, s.decode, threads, false))
                   .kv_bytes;
    }
    benchmark::DoNotOptimize(s.xb.data());
  }
  const double sec = since(t0);
  set_shares(st, bytes, sparse ? 0.0 : layers * 4.0 * c.n_heads * ctx * c.head_dim, sec);
}

void BM_dense_decode_attn_model(benchmark::State& st) { decode_attn_model(st, false); }
void BM_sparse_decode_attn_model(benchmark::State& st) { decode_attn_model(st, true); }

// What the sparse step's reads could run at: the K and V of the blocks each layer's selection picks (as above), read
// with nothing else to do (one load per 64-byte line: the whole line comes in), each KV head by its thread
// (decode_thread), with the next block prefetched line by line through the current one's reads, as the kernel does.
// On this project's Zen 5 VM a read of isolated 16-token blocks (4 KiB of keys, 4 KiB of values) runs at about half
// the rate of a sequential stream: the sparse step's share of bw_now is bounded by this benchmark's, not by 1.
void BM_scattered_read_model(benchmark::State& st) {
  const int ctx = static_cast<int>(st.range(0)), layers = 28;
  ModelConfig c = qwen_layer();
  c.n_layers = layers;
  RunState& s = model_state(ctx, layers);
  const int H = c.n_kv_heads, hd = c.head_dim, nb = s.kv.n_blocks;
  // Each layer's selection, made once.
  std::vector<std::vector<int>> sel(static_cast<size_t>(layers) * H);
  for (int l = 0; l < layers; ++l) {
    const LayerCache cache{&s.kv, l, ctx};
    const int n = sparse_select(c, cache, s.q.data(), s.attn, s.decode, 1);
    for (int h = 0; h < H; ++h) {
      const int* first = s.decode.selected.data() + static_cast<size_t>(h) * nb;
      sel[static_cast<size_t>(l) * H + h].assign(first, first + n);
    }
  }
  const size_t block_bytes = static_cast<size_t>(kBlock) * hd * 2;
  double bytes = 0;
  for (const auto& v : sel) bytes += 2.0 * block_bytes * v.size();
  const int threads = omp_get_max_threads();
  uint64_t total = 0;
  const Clock::time_point t0 = Clock::now();
  for (auto _ : st) {
    for (int l = 0; l < layers; ++l) {
#pragma omp parallel num_threads(threads) reduction(+ : total)
      {
        const int me = omp_get_thread_num(), T = omp_get_num_threads();
        uint64_t acc = 0;
        for (int h = 0; h < H; ++h) {
          if (decode_thread(h, H, T) != me) continue;
          const auto& list = sel[static_cast<size_t>(l) * H + h];
          const char* K = static_cast<const char*>(s.kv.keys(l, h));
          const char* V = static_cast<const char*>(s.kv.values(l, h));
          for (size_t i = 0; i < list.size(); ++i) {
            const size_t at = static_cast<size_t>(list[i]) * block_bytes;
            const size_t next = i + 1 < list.size() ? static_cast<size_t>(list[i + 1]) * block_bytes : at;
            for (const char* base : {K, V})
              for (size_t o = 0; o < block_bytes; o += 64) {
                __builtin_prefetch(base + next + o);
                uint64_t word;
                std::memcpy(&word, base + at + o, sizeof word);
                acc += word;
              }
          }
        }
        total += acc;
      }
    }
    benchmark::DoNotOptimize(total);
  }
  set_shares(st, bytes, 0.0, since(t0));
}

BENCHMARK(BM_dense_decode_attn_model)->Arg(32768)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_sparse_decode_attn_model)->Arg(32768)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_scattered_read_model)->Arg(32768)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_dense_decode_attn)->ArgsProduct({kContexts})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_sparse_decode_attn)->ArgsProduct({kContexts})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_block_select)->ArgsProduct({kContexts})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_rectify)->ArgsProduct({kContexts, {32, 64, 128}})->Unit(benchmark::kMillisecond)->UseRealTime();
// Qwen2.5-1.5B's projections at a 512-row prefill chunk and a 32-row rectify pass: Q/O (1536 x 1536), K/V (256 x
// 1536), gate/up (8960 x 1536), down (1536 x 8960); and as a 256-row chunk runs them (the default): Q, K and V in one
// pass (2048 x 1536), gate and up in one (17920 x 1536), O, down.
BENCHMARK(BM_gemm_bf16)
    ->ArgsProduct({{512, 32}, {1536}, {1536}, {1, 0}, {1}})
    ->Args({512, 256, 1536, 1, 1})
    ->Args({256, 2048, 1536, 1, 1})
    ->Args({256, 17920, 1536, 1, 1})
    ->Args({256, 1536, 1536, 1, 1})
    ->Args({256, 1536, 8960, 1, 1})
    ->Args({512, 8960, 1536, 1, 1})
    ->Args({512, 1536, 8960, 1, 1})
    ->Args({32, 8960, 1536, 1, 1})
    ->Args({32, 1536, 8960, 1, 1})
    ->Args({512, 8960, 1536, 0, 1})
    ->Args({512, 1536, 8960, 0, 1})
    ->Args({512, 8960, 1536, 1, 5})
    ->Args({512, 1536, 8960, 1, 5})
    ->Args({512, 8960, 1536, 1, 3})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_decode_products)->Arg(1)->Arg(5)->Arg(6)->Arg(9)->Arg(10)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_gemv)
    ->ArgsProduct({{1536}, {1536}, {1, 3, 4, 5, 6, 9, 10}})
    ->ArgsProduct({{8960}, {1536}, {1, 3, 4, 5, 6, 9, 10}})
    ->ArgsProduct({{1536}, {8960}, {1, 3, 4, 5, 6, 9, 10}})
    ->ArgsProduct({{151936}, {1536}, {1, 3, 4, 5, 6, 9, 10}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  int threads = 2;
  if (const char* t = std::getenv("RESA_THREADS"); t && *t) threads = std::max(1, std::atoi(t));
  omp_set_num_threads(threads);
  const simd::Kernels& k = simd::kernels();  // throws on a bad RESA_ISA
  g_read_bw = measure_read_bandwidth(7);
  g_fma_peak = measure_fma_peak();
  g_bf16_peak = measure_bf16_peak();
  g_fma256_peak = measure_fma256_peak();
  std::printf("resa-bench-kernels: kernels %s, %d threads; read bandwidth %.1f GB/s, f32 FMA peak %.0f GFLOP/s "
              "(256-bit: %.0f), bf16 dot peak %.0f GFLOP/s\n",
              k.isa, threads, g_read_bw / 1e9, g_fma_peak / 1e9, g_fma256_peak / 1e9, g_bf16_peak / 1e9);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
