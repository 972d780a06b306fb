#include "kv_cache.hpp"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "parallel.hpp"
#include "resa/resa.hpp"
#include "simd/kernels.hpp"

namespace resa {

KvCache make_kv_cache(const ModelConfig& c, int capacity, DType dtype, int block_size, int threads) {
  if (dtype != DType::F32 && dtype != DType::BF16)
    throw Error(fmt::format("the KV cache holds f32 or bf16, not {}", dtype_name(dtype)));
  if (block_size < 1) throw Error(fmt::format("the block size must be at least 1, got {}", block_size));
  KvCache kv;
  kv.n_layers = c.n_layers;
  kv.n_kv_heads = c.n_kv_heads;
  kv.head_dim = c.head_dim;
  kv.block_size = block_size;
  kv.n_blocks = (capacity + block_size - 1) / block_size;
  kv.capacity = kv.n_blocks * block_size;
  kv.dtype = dtype;
  const size_t heads = static_cast<size_t>(c.n_layers) * c.n_kv_heads;
  const size_t n = heads * kv.capacity * c.head_dim, ns = heads * kv.n_blocks * 2 * c.head_dim;
  // Zero, untouched (HugePageAllocator::construct); then each (layer, KV head)'s pages first written by the thread
  // that owns that head in a decode step (decode_thread), as the weights are placed.
  if (dtype == DType::F32) {
    kv.k32.resize(n);
    kv.v32.resize(n);
    kv.s32.resize(ns);
  } else {
    kv.k16.resize(n);
    kv.v16.resize(n);
    kv.s16.resize(ns);
  }
  const size_t es = dtype_size(dtype), head_bytes = static_cast<size_t>(kv.capacity) * c.head_dim * es,
               sum_bytes = static_cast<size_t>(kv.n_blocks) * 2 * c.head_dim * es;
  unsigned char* k = static_cast<unsigned char*>(const_cast<void*>(kv.keys(0, 0)));
  unsigned char* v = static_cast<unsigned char*>(const_cast<void*>(kv.values(0, 0)));
  unsigned char* s = static_cast<unsigned char*>(const_cast<void*>(kv.summaries(0, 0)));
#pragma omp parallel num_threads(resolve_threads(threads))
  {
    const int t = omp_get_thread_num(), T = omp_get_num_threads();
    for (size_t i = 0; i < heads; ++i) {
      if (decode_thread(static_cast<int>(i % c.n_kv_heads), c.n_kv_heads, T) != t) continue;
      std::memset(k + i * head_bytes, 0, head_bytes);
      std::memset(v + i * head_bytes, 0, head_bytes);
      std::memset(s + i * sum_bytes, 0, sum_bytes);
    }
  }
  kv.pos.assign(heads * kv.capacity, 0);
  kv.lengths.assign(c.n_layers, 0);
  kv.frozen.assign(c.n_layers, 0);
  return kv;
}

namespace {

float to_float(float x) { return x; }
float to_float(uint16_t h) { return bf16_to_f32(h); }  // the cache's 16-bit type is bf16

template <typename T>
void min_max(T* summary, const T* keys, int valid, int head_dim) {
  T* lo = summary;
  T* hi = summary + head_dim;
  std::memcpy(lo, keys, sizeof(T) * head_dim);
  std::memcpy(hi, keys, sizeof(T) * head_dim);
  for (int t = 1; t < valid; ++t) {
    const T* k = keys + static_cast<size_t>(t) * head_dim;
    for (int d = 0; d < head_dim; ++d) {
      const float x = to_float(k[d]);
      if (x < to_float(lo[d])) lo[d] = k[d];
      if (x > to_float(hi[d])) hi[d] = k[d];
    }
  }
}

}  // namespace

void KvCache::summarise(int layer, int head, int block, int valid) {
  const size_t keys_at = head_offset(layer, head) + static_cast<size_t>(block) * block_size * head_dim;
  const size_t sum_at = (static_cast<size_t>(layer * n_kv_heads + head) * n_blocks + block) * 2 * head_dim;
  if (dtype == DType::F32) min_max(s32.data() + sum_at, k32.data() + keys_at, valid, head_dim);
  else min_max(s16.data() + sum_at, k16.data() + keys_at, valid, head_dim);
}

void KvCache::summarise_from(int layer, int head, int first_entry, int end) {
  for (int b = first_entry / block_size; b * block_size < end; ++b)
    summarise(layer, head, b, std::min(block_size, end - b * block_size));
}

void KvCache::store(int layer, int at, int n, const float* k, const float* v, int first_pos) {
  if (at < 0 || n < 0 || at + n > capacity)
    throw Error(fmt::format("KV cache: entries {}..{} are outside its {} entries", at, at + n - 1, capacity));
  const int kv_dim = n_kv_heads * head_dim;
  if (first_pos < 0) first_pos = at;
  for (int h = 0; h < n_kv_heads; ++h) {
    const size_t base = head_offset(layer, h);
    int32_t* p = pos.data() + base / head_dim;
    for (int i = 0; i < n; ++i) {
      const size_t dst = base + static_cast<size_t>(at + i) * head_dim;
      const float* ks = k + static_cast<size_t>(i) * kv_dim + h * head_dim;
      const float* vs = v + static_cast<size_t>(i) * kv_dim + h * head_dim;
      if (dtype == DType::F32) {
        std::memcpy(k32.data() + dst, ks, sizeof(float) * head_dim);
        std::memcpy(v32.data() + dst, vs, sizeof(float) * head_dim);
      } else {
        simd::kernels().f32_to_bf16(k16.data() + dst, ks, head_dim);
        simd::kernels().f32_to_bf16(v16.data() + dst, vs, head_dim);
      }
      p[at + i] = first_pos + i;
    }
    // The touched blocks' summaries, over their valid entries. For a one-token append this reads the last block only.
    summarise_from(layer, h, at, at + n);
  }
  lengths[layer] = at + n;
}

namespace {

// Moves rows: the listed rows of [from, from+span) to from, from+1, ..., then the rows [from+span, end) after them.
template <typename T>
void compact_rows(T* rows, size_t width, int from, int span, const int* keep, int n_keep, int end) {
  for (int i = 0; i < n_keep; ++i)  // keep is ascending: a row never moves onto one not yet moved
    if (keep[i] != i) std::memmove(rows + (from + i) * width, rows + (from + keep[i]) * width, sizeof(T) * width);
  const int tail = end - (from + span);
  if (tail > 0)
    std::memmove(rows + (from + n_keep) * width, rows + (from + span) * width, sizeof(T) * width * tail);
}

}  // namespace

void KvCache::compact(int layer, int from, int span, const int* keep, int n_keep) {
  const int end = lengths[layer];
  for (int h = 0; h < n_kv_heads; ++h) {
    const size_t base = head_offset(layer, h);
    const int* kept = keep + static_cast<size_t>(h) * n_keep;
    if (dtype == DType::F32) {
      compact_rows(k32.data() + base, head_dim, from, span, kept, n_keep, end);
      compact_rows(v32.data() + base, head_dim, from, span, kept, n_keep, end);
    } else {
      compact_rows(k16.data() + base, head_dim, from, span, kept, n_keep, end);
      compact_rows(v16.data() + base, head_dim, from, span, kept, n_keep, end);
    }
    compact_rows(pos.data() + base / head_dim, 1, from, span, kept, n_keep, end);
    summarise_from(layer, h, from, end - (span - n_keep));
  }
  lengths[layer] = end - (span - n_keep);
}

size_t KvCache::bytes_used() const {
  size_t entries = 0;
  for (int len : lengths) entries += static_cast<size_t>(len);
  return entries * n_kv_heads * 2 * head_dim * element_size();
}

void KvCache::load(int layer, int head, int n, float* k_out, float* v_out) const {
  const size_t count = static_cast<size_t>(n) * head_dim;
  to_f32(k_out, keys(layer, head), dtype, count);
  to_f32(v_out, values(layer, head), dtype, count);
}

}  // namespace resa
