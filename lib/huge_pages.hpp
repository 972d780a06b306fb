// Memory for the large arrays that decode streams through (the KV cache): an allocator that asks the kernel for
// 2 MiB pages (madvise MADV_HUGEPAGE, for systems whose transparent huge pages are set to "madvise", Debian's
// default). With 4 KiB pages, a stream through the cache crosses a page every 4 KiB: a TLB miss each time, and the
// hardware prefetchers, which stop at page boundaries, start over. Where the kernel gives no huge pages this is plain
// page-aligned memory.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstring>
#include <new>
#include <utility>
#include <vector>

namespace resa {

template <class T>
struct HugePageAllocator {
  using value_type = T;
  static constexpr size_t kHugePage = size_t{2} << 20;

  HugePageAllocator() = default;
  template <class U>
  HugePageAllocator(const HugePageAllocator<U>&) {}

  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kHugePage) {  // zeroed here, as a fresh mapping is (see construct)
      void* p = ::operator new(bytes);
      std::memset(p, 0, bytes);
      return static_cast<T*>(p);
    }
    // Over-allocate by one huge page and advise the 2 MiB-aligned part (mmap gives 4 KiB alignment only).
    const size_t len = bytes + kHugePage;
    void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    char* base = static_cast<char*>(p);
    char* aligned = reinterpret_cast<char*>((reinterpret_cast<size_t>(base) + kHugePage - 1) & ~(kHugePage - 1));
    // The offset to the mapping's start is kept just before the data, so the data starts at least a page in (a huge
    // page in when the mapping happens to be aligned already; the extra huge page allocated leaves room for that).
    if (aligned == base) aligned += kHugePage;
    madvise(aligned, bytes, MADV_HUGEPAGE);  // advice: failure only means small pages
    reinterpret_cast<size_t*>(aligned)[-1] = static_cast<size_t>(aligned - base);
    return reinterpret_cast<T*>(aligned);
  }

  void deallocate(T* p, size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kHugePage) {
      ::operator delete(p);
      return;
    }
    char* data = reinterpret_cast<char*>(p);
    const size_t offset = reinterpret_cast<size_t*>(data)[-1];
    munmap(data - offset, bytes + kHugePage);
  }

  // Elements made without a value are left as the memory holds them: zero in memory freshly allocated (a fresh
  // anonymous mapping, or the memset above), so resize() of an empty vector and the (n) constructor give zeros and
  // touch no page, and the threads that use the memory first place it (see KvCache's make_kv_cache and
  // lib/model/placement.hpp). Unlike std::allocator, growing a vector again within its capacity after shrinking it
  // keeps the old contents there: use assign() or a value to clear. Elements made from a value are written as usual.
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    if constexpr (sizeof...(Args) == 0) ::new (static_cast<void*>(p)) U;
    else ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }

  template <class U>
  bool operator==(const HugePageAllocator<U>&) const { return true; }
  template <class U>
  bool operator!=(const HugePageAllocator<U>&) const { return false; }
};

template <class T>
using HugeVector = std::vector<T, HugePageAllocator<T>>;

// Bytes in 2 MiB pages, left untouched at allocation (a std::vector would zero them from the allocating thread, which
// then owns every page: see lib/model/placement.hpp for why the reading threads should touch them first).
class HugeBuffer {
 public:
  HugeBuffer() = default;
  explicit HugeBuffer(size_t bytes) : data_(bytes ? HugePageAllocator<unsigned char>().allocate(bytes) : nullptr),
                                      size_(bytes) {}
  HugeBuffer(HugeBuffer&& o) noexcept : data_(o.data_), size_(o.size_) { o.data_ = nullptr, o.size_ = 0; }
  HugeBuffer& operator=(HugeBuffer&& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    return *this;
  }
  HugeBuffer(const HugeBuffer&) = delete;
  HugeBuffer& operator=(const HugeBuffer&) = delete;
  ~HugeBuffer() {
    if (data_) HugePageAllocator<unsigned char>().deallocate(data_, size_);
  }
  unsigned char* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  unsigned char* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace resa
