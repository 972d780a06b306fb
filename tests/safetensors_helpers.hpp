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

inline void write_safetensors(const std::string& path, const Safetensors& st) {
  const std::string h = st.header.dump();
  const uint64_t n = h.size();
  write_file(path, std::string(reinterpret_cast<const char*>(&n), 8) + h + st.data);
}

}  // namespace resa::test
