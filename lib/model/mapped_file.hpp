// A read-only memory mapping of a whole file. Weights are used in place from the mapping, never copied.
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
  MappedFile& operator=(const MappedFile&) = delete;
};

}  // namespace resa
