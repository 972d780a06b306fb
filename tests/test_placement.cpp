// lib/model/placement.hpp: weights placed for decode. Every row of every matrix is written exactly once, by the thread
// whose share of the decode step's product holds it (thread_share of the step's products, worked out here from the
// shapes), and a model loaded with --load copy computes exactly what the file mapping computes.
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

#include "model/model.hpp"
#include "model/placement.hpp"
#include "parallel.hpp"
#include "resa/resa.hpp"
#include "test_helpers.hpp"

namespace resa {
namespace {

// Rows per thread of a decode product: ceil(rows / T) rounded up to a multiple of 8 (whole row groups of the
// quantized types' placed form).
int64_t share_rows(int64_t rows, int T) { return ((rows + T - 1) / T + 7) / 8 * 8; }

// The thread a decode step's product gives row r of a product of `rows` rows doing `work` multiply-adds.
int reader(int64_t r, int64_t rows, int64_t work, int T) {
  if (work < kParallelProductWork || T == 1) return 0;
  return r < rows ? static_cast<int>(r / share_rows(rows, T)) : -1;
}

TEST(Placement, EveryRowIsWrittenOnceByTheThreadThatReadsIt) {
  // Two layers, k/v/q stacked (64 + 64 + 128 rows), gate/up split alike, a product small enough to stay on one
  // thread (wk alone would be, but it is stacked), an untied embedding.
  const int64_t dim = 512, hidden = 1024, kv = 64, vocab = 700;
  Weights w;
  w.token_embedding = {nullptr, DType::BF16, vocab, dim};
  w.lm_head = {nullptr, DType::BF16, vocab, dim};
  w.layers.resize(2);
  for (LayerWeights& l : w.layers) {
    l.wq = {nullptr, DType::BF16, 128, dim};
    l.wk = {nullptr, DType::BF16, kv, dim};
    l.wv = {nullptr, DType::BF16, kv, dim};
    l.wo = {nullptr, DType::F32, dim, 128};  // 65536 multiply-adds: one thread
    l.w_gate = {nullptr, DType::BF16, hidden, dim};
    l.w_up = {nullptr, DType::BF16, hidden, dim};
    l.w_down = {nullptr, DType::F16, dim, hidden};
  }
  for (int T : {1, 2, 3}) {
    Weights placed = w;
    std::mutex mu;
    std::vector<std::vector<int>> writer(16);  // per matrix index: the thread that wrote each row (-1: none)
    std::vector<Mat> seen(16);
    const HugeBuffer arena = place_weights(placed, false, T, [&](int i, const Mat& m, DType, int64_t b, int64_t e,
                                                                 void* dst) {
      std::lock_guard<std::mutex> lock(mu);
      ASSERT_LT(i, 16);
      if (writer[i].empty()) writer[i].assign(m.rows, -1);
      seen[i] = m;
      for (int64_t r = b; r < e; ++r) {
        EXPECT_EQ(writer[i][r], -1) << "matrix " << i << " row " << r << " written twice";
        writer[i][r] = omp_get_thread_num();
      }
      std::memset(dst, 0x5a, static_cast<size_t>(e - b) * m.cols * dtype_size(m.dtype));
    });
    // The walk: embedding, then per layer k, v, q, o, gate, up, down, then the LM head.
    auto expect = [&](int i, int64_t offset, int64_t rows, int64_t work) {
      ASSERT_EQ(static_cast<int64_t>(writer[i].size()), seen[i].rows) << i;
      for (int64_t r = 0; r < seen[i].rows; ++r)
        ASSERT_EQ(writer[i][r], reader(offset + r, rows, work, T)) << "T=" << T << " matrix " << i << " row " << r;
    };
    expect(0, 0, vocab, vocab * dim);
    for (int l = 0; l < 2; ++l) {
      const int base = 1 + 7 * l;
      const int64_t qkv = 128 + 2 * kv, qkv_work = qkv * dim;
      expect(base + 0, 0, qkv, qkv_work);        // k: the decode step's fused rows are K, V, Q (forward.cpp)
      expect(base + 1, kv, qkv, qkv_work);       // v
      expect(base + 2, 2 * kv, qkv, qkv_work);   // q
      expect(base + 3, 0, dim, dim * 128);
      expect(base + 4, 0, hidden, 2 * hidden * dim);
      expect(base + 5, 0, hidden, 2 * hidden * dim);
      expect(base + 6, 0, dim, dim * hidden);
    }
    expect(15, 0, vocab, vocab * dim);  // 1 + 2 * 7 + 1 matrices: the LM head last
    // The views point into the arena, each matrix on its own page, every byte written.
    const unsigned char* lo = arena.data();
    for (const Mat* m : {&placed.token_embedding, &placed.lm_head, &placed.layers[1].w_down, &placed.layers[0].wk}) {
      const unsigned char* p = static_cast<const unsigned char*>(m->data);
      ASSERT_GE(p, lo);
      ASSERT_LE(p + m->bytes(), lo + arena.size());
      EXPECT_EQ((p - lo) % 4096, 0);
      EXPECT_EQ(p[0], 0x5a);
      EXPECT_EQ(p[m->bytes() - 1], 0x5a);
    }
  }
}

TEST(Placement, ATiedEmbeddingIsPlacedOnceAsTheLmHead) {
  Weights w;
  w.token_embedding = w.lm_head = {nullptr, DType::BF16, 300, 1024};
  std::atomic<int> calls{0}, other{0};
  const HugeBuffer arena = place_weights(w, true, 2, [&](int i, const Mat&, DType, int64_t, int64_t, void*) {
    ++calls;
    if (i != 0) ++other;
  });
  EXPECT_EQ(other, 0);
  EXPECT_GE(calls, 1);
  EXPECT_EQ(w.token_embedding.data, w.lm_head.data);
  EXPECT_EQ(w.lm_head.data, arena.data());
}

bool inside(const void* p, const MappedFile& f) {
  const uint8_t* b = static_cast<const uint8_t*>(p);
  return b >= f.data && b < f.data + f.size;
}

TEST(Placement, CopiedWeightsComputeExactlyWhatTheMappingComputes) {
  for (const std::string& path : {test::model_path(), test::data_path("hf/tiny-qwen2-bf16"),
                                  test::data_path("hf/tiny-llama3-f32")}) {
    const Model mapped = load_model(path, "", {WeightLoad::Mmap});
    const Model copied = load_model(path, "", {WeightLoad::Copy, 2});
    const Mat& m0 = mapped.data->weights.layers[0].w_gate;
    const Mat& c0 = copied.data->weights.layers[0].w_gate;
    EXPECT_TRUE(inside(m0.data, mapped.data->files[0])) << path;
    EXPECT_FALSE(inside(c0.data, copied.data->files[0])) << path;
    EXPECT_TRUE(copied.data->weight_arena.size() > 0) << path;
    ASSERT_EQ(m0.bytes(), c0.bytes());
    EXPECT_EQ(std::memcmp(m0.data, c0.data, m0.bytes()), 0) << path;
    const std::vector<int> ids{1, 5, 9, 2, 7, 3};
    const std::vector<float> a = prompt_logits(mapped, ids), b = prompt_logits(copied, ids);
    ASSERT_EQ(a.size(), b.size());
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0) << path;
  }
}

// parallel_rows: every row of a product computed exactly once, in runs within one share each, and (without
// contention to steal from it) a thread's own share first; on 2 and 3 threads and in a team smaller than asked.
// The row-group forms hold 8 rows interleaved and the k-quants are only read: converting them row by row is a
// caller's mistake, refused rather than done wrong.
TEST(Placement, RowByRowConversionsOfInterleavedTypesAreRefused) {
  std::vector<uint8_t> bytes(8 * 272);
  std::vector<float> f(256);
  for (DType t : {DType::Q8_0_R8, DType::Q4_0_R8, DType::Q4_K_R8, DType::Q6_K_R8})
    EXPECT_THROW(to_f32(f.data(), bytes.data(), t, 32), std::logic_error) << dtype_name(t);
  for (DType t : {DType::Q8_0_R8, DType::Q4_0_R8, DType::Q4_K, DType::Q6_K, DType::Q4_K_R8, DType::Q6_K_R8})
    EXPECT_THROW(from_f32(bytes.data(), f.data(), t, 256), std::logic_error) << dtype_name(t);
}

TEST(Placement, ParallelRowsCoversEveryRowOnceInRunsOfOneShare) {
  for (int T : {2, 3}) {
    for (int64_t rows : {1, 7, 100, 1000, 12345, 151936}) {
      std::vector<std::atomic<int>> hits(rows);
      std::atomic<int64_t> runs{0};
      std::atomic<bool> crossed{false};
      parallel_rows(T, rows, kParallelProductWork * 4, [&](int64_t a, int64_t b) {
        ++runs;
        const int64_t per = share_rows(rows, T), share = a / per;
        if (share >= T || b > std::min(rows, (share + 1) * per) || b <= a || (a % 8 != 0)) crossed = true;
        for (int64_t r = a; r < b; ++r) ++hits[r];
      });
      EXPECT_FALSE(crossed) << T << " threads, " << rows << " rows";
      for (int64_t r = 0; r < rows; ++r) ASSERT_EQ(hits[r].load(), 1) << "row " << r << " of " << rows << ", " << T;
      EXPECT_LE(runs.load(), T * 33 + T) << rows;  // ~1/32 of a share per run
    }
  }
  // A team of one where T were asked (nested, or the runtime's choice): that thread takes every share.
  std::vector<int> hits(1000);
  omp_set_max_active_levels(1);
#pragma omp parallel num_threads(1)
  parallel_rows(3, 1000, kParallelProductWork * 4, [&](int64_t a, int64_t b) {
    for (int64_t r = a; r < b; ++r) ++hits[r];
  });
  for (int h : hits) ASSERT_EQ(h, 1);
}

}  // namespace
}  // namespace resa
