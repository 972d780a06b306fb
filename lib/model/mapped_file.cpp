#include "model/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "resa/resa.hpp"

namespace resa {

MappedFile::MappedFile(const std::string& p) : path(p) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(fmt::format("cannot open '{}': {}", p, std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    throw Error(fmt::format("cannot stat '{}': {}", p, std::strerror(err)));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    throw Error(fmt::format("'{}' is a directory, expected a file", p));
  }
  size = static_cast<size_t>(st.st_size);
  if (size > 0) {
    void* m = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      throw Error(fmt::format("cannot map '{}': {}", p, std::strerror(err)));
    }
    data = static_cast<const uint8_t*>(m);
  }
  ::close(fd);
}

MappedFile::~MappedFile() {
  if (data) ::munmap(const_cast<uint8_t*>(data), size);
}

MappedFile::MappedFile(MappedFile&& o) noexcept
    : path(std::move(o.path)), data(std::exchange(o.data, nullptr)), size(std::exchange(o.size, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& o) noexcept {
  if (this != &o) {
    if (data) ::munmap(const_cast<uint8_t*>(data), size);
    path = std::move(o.path);
    data = std::exchange(o.data, nullptr);
    size = std::exchange(o.size, 0);
  }
  return *this;
}

void MappedFile::release(const void* p, size_t n) const {
  const uint8_t* b = static_cast<const uint8_t*>(p);
  if (!data || b < data || b + n > data + size) return;
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t lo = (reinterpret_cast<uintptr_t>(b) + page - 1) / page * page;
  const uintptr_t hi = (reinterpret_cast<uintptr_t>(b) + n) / page * page;
  if (lo < hi) madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);  // advice: failure only keeps them
}

}  // namespace resa
