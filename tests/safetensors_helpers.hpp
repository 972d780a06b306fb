// Reading and writing safetensors files in tests (to damage or split real checkpoints at test time).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

#include "test_helpers.hpp"

namespace resa::test {

struct Safetensors {
  nlohmann::json header;
  std::string data;  // the bytes after the header; data_offsets index into it
};

inline Safetensors read_safetensors(const std::string& path) {
  std::string bytes = read_file(path);
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  return {nlohmann::json::parse(bytes.substr(8, n)), bytes.substr(8 + n)};
}

// Pads the header with spaces to a multiple of 8 bytes, as the safetensors writers do, unless told not to.
inline void write_safetensors(const std::string& path, const Safetensors& st, bool pad = true) {
  std::string h = st.header.dump();
  if (pad) h.append((8 - h.size() % 8) % 8, ' ');
  const uint64_t n = h.size();
  write_file(path, std::string(reinterpret_cast<const char*>(&n), 8) + h + st.data);
}

}  // namespace resa::test
