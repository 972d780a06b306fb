// Shared by the libFuzzer targets (scripts/fuzz.sh builds and runs them): the input as a file for the loaders that
// take a path (on tmpfs when there is one), and the rule every target checks — bad input is a resa::Error, never a
// crash, a sanitizer report or another exception.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "resa/resa.hpp"

namespace resa::fuzz {

inline std::string_view text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Writes the input to a per-process file and returns its path.
inline const std::string& as_file(const uint8_t* data, size_t size, const char* suffix) {
  static const std::string path = std::string(access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp") + "/resa-fuzz-" +
                                  std::to_string(getpid()) + suffix;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) __builtin_trap();
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  return path;
}

// Runs f; a resa::Error is the expected outcome of bad input. Anything else escapes and libFuzzer reports it.
template <class F>
void expect_only_resa_errors(F&& f) {
  try {
    f();
  } catch (const Error&) {
  }
}

}  // namespace resa::fuzz
