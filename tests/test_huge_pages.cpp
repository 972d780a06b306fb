// lib/huge_pages.hpp: the KV cache's allocator. Large arrays start on a 2 MiB boundary (where the kernel can back them
// with huge pages), small ones come from operator new; both hold what is written and free what they took.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <numeric>
#include <vector>

#include <gtest/gtest.h>

#include "huge_pages.hpp"
#include "kv_cache.hpp"

namespace resa {
namespace {

// Two layers of Qwen2.5-1.5B's attention shape.
ModelConfig two_qwen_layers() {
  ModelConfig c;
  c.n_layers = 2;
  c.n_heads = 12;
  c.n_kv_heads = 2;
  c.dim = 1536;
  c.head_dim = 128;
  return c;
}

TEST(HugePages, LargeArraysStartOnA2MiBBoundaryAndKeepTheirContents) {
  for (size_t n : {size_t{1} << 20, (size_t{3} << 20) + 7, size_t{5} << 20}) {  // 2 MiB exactly, and odd sizes
    HugeVector<uint16_t> v(n);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(v.data()) % (size_t{2} << 20), 0u) << n;
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint16_t>(i * 2654435761u >> 16);
    HugeVector<uint16_t> copy = v;  // a second mapping
    v.assign(n, 0);
    for (size_t i = 0; i < n; i += 4099) ASSERT_EQ(copy[i], static_cast<uint16_t>(i * 2654435761u >> 16));
    EXPECT_EQ(copy.back(), static_cast<uint16_t>((n - 1) * 2654435761u >> 16));
    copy.resize(2 * n);  // reallocates: the old mapping is unmapped with the length it was mapped with
    EXPECT_EQ(copy[n - 1], static_cast<uint16_t>((n - 1) * 2654435761u >> 16));
  }
}

// resize() leaves large arrays untouched (no page resident until a thread writes it: the first writer places it) and
// every element zero, small and large alike; a value given is written.
TEST(HugePages, ResizeGivesZerosWithoutTouchingThePages) {
  HugeVector<uint16_t> big;
  big.resize(size_t{8} << 20);  // 16 MiB
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE)), bytes = big.size() * 2;
  std::vector<unsigned char> resident(bytes / page);
  ASSERT_EQ(mincore(big.data(), bytes, resident.data()), 0);
  size_t touched = 0;
  for (unsigned char r : resident) touched += r & 1;
  EXPECT_EQ(touched, 0u);
  for (size_t i = 0; i < big.size(); i += 4093) ASSERT_EQ(big[i], 0);
  HugeVector<float> small;
  small.resize(1000);
  for (float x : small) ASSERT_EQ(x, 0.0f);
  HugeVector<float> valued(1000, 2.5f);
  EXPECT_EQ(valued[999], 2.5f);
  const KvCache kv = make_kv_cache(two_qwen_layers(), 100, DType::BF16, 16);
  for (size_t i = 0; i < kv.k16.size(); ++i) ASSERT_EQ(kv.k16[i] | kv.v16[i], 0) << i;
  for (uint16_t x : kv.s16) ASSERT_EQ(x, 0);
}

TEST(HugePages, SmallArraysAreOrdinaryAllocations) {
  HugeVector<float> v(1000);
  std::iota(v.begin(), v.end(), 0.0f);
  v.push_back(1000.0f);
  EXPECT_EQ(v[500], 500.0f);
  EXPECT_EQ(v.back(), 1000.0f);
}

TEST(HugePages, TheKvCacheOfALongContextIsAligned) {
  const KvCache kv = make_kv_cache(two_qwen_layers(), 8192, DType::BF16);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(kv.keys(0, 0)) % (size_t{2} << 20), 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(kv.values(0, 0)) % (size_t{2} << 20), 0u);
}

}  // namespace
}  // namespace resa
