// A read-only memory mapping of a whole file. Weights are used in place from the mapping (--load mmap) or copied out
// of it at load (--load copy, lib/model/placement.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace resa {

struct MappedFile {
  std::string path;
  const uint8_t* data = nullptr;
  size_t size = 0;

  MappedFile() = default;
  explicit MappedFile(const std::string& path);  // throws resa::Error naming the path
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;

  // Drops from this process the pages lying wholly inside [p, p + n) when that range is in this mapping (they stay in
  // the page cache; reading them again maps them back): what a copy of the weights leaves behind.
  void release(const void* p, size_t n) const;
  MappedFile& operator=(const MappedFile&) = delete;
};

}  // namespace resa
