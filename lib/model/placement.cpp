#include "model/placement.hpp"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "model/model.hpp"
#include "parallel.hpp"

namespace resa {

namespace {

constexpr size_t kAlign = 4096;  // each matrix starts on its own page

// Matrices read by one product of a decode step: stacked (rows end to end, one split: k, v, q) or split alike (each
// matrix's rows split the same way: gate, up).
struct Product {
  std::vector<Mat*> mats;
  bool stacked = false;
};

std::vector<Product> decode_products(Weights& w, bool tied) {
  std::vector<Product> p;
  if (!tied) p.push_back({{&w.token_embedding}});
  for (LayerWeights& l : w.layers) {
    p.push_back({{&l.wk, &l.wv, &l.wq}, true});  // forward.cpp's fused product lays its rows out K, V, Q
    p.push_back({{&l.wo}});
    p.push_back({{&l.w_gate, &l.w_up}});
    p.push_back({{&l.w_down}});
  }
  p.push_back({{&w.lm_head}});
  return p;
}

}  // namespace

HugeBuffer place_weights(Weights& w, bool tied, int threads, const RowFill& fill) {
  const std::vector<Product> products = decode_products(w, tied);
  std::vector<Mat*> order;  // the matrices in fill's index order
  std::vector<size_t> offset;
  size_t total = 0;
  for (const Product& p : products)
    for (Mat* m : p.mats) {
      order.push_back(m);
      offset.push_back(total);
      total += (m->bytes() + kAlign - 1) / kAlign * kAlign;
    }
  HugeBuffer arena(total);  // the views move to it after the fills, which read the matrices as they were

  threads = std::max(1, threads);
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num(), T = omp_get_num_threads();
    int index = 0;
    for (const Product& p : products) {
      int64_t rows = 0, work = 0;
      for (const Mat* m : p.mats) {
        rows = p.stacked ? rows + m->rows : std::max(rows, m->rows);
        work += m->rows * m->cols;
      }
      const RowShare share = product_alone(work, T) ? RowShare{t == 0 ? 0 : rows, rows} : thread_share(rows, t, T);
      int64_t first = 0;  // a stacked product's first row of this matrix
      for (const Mat* m : p.mats) {
        const Mat& s = *m;
        const int64_t lo = p.stacked ? std::max(share.begin - first, int64_t{0}) : share.begin;
        const int64_t hi = p.stacked ? std::min(share.end - first, m->rows) : std::min(share.end, m->rows);
        if (lo < hi) {
          const size_t row_bytes = s.row_bytes();
          fill(index, s, lo, hi, arena.data() + offset[index] + static_cast<size_t>(lo) * row_bytes);
        }
        first += m->rows;
        ++index;
      }
    }
  }
  for (size_t i = 0; i < order.size(); ++i) order[i]->data = arena.data() + offset[i];
  if (tied) w.token_embedding = w.lm_head;
  return arena;
}

void copy_weights(ModelData& m, int threads) {
  Weights& w = m.weights;
  const bool tied = w.lm_head.data == w.token_embedding.data;
  // Each share's source pages are dropped from the process as soon as they are copied (they stay in the page cache),
  // so the process holds about one copy of the weights throughout rather than two at the end.
  m.weight_arena = place_weights(w, tied, threads, [&m](int, const Mat& s, int64_t begin, int64_t end, void* dst) {
    const size_t bytes = static_cast<size_t>(end - begin) * s.row_bytes();
    std::memcpy(dst, s.row(begin), bytes);
    for (const MappedFile& f : m.files) f.release(s.row(begin), bytes);
  });
}

}  // namespace resa
