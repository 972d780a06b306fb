// The safetensors header and offsets (lib/model/safetensors.cpp).
#include "fuzz_util.hpp"
#include "model/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = resa::fuzz::as_file(data, size, ".safetensors");
  resa::fuzz::expect_only_resa_errors([&] {
    resa::TensorSet set;
    resa::add_safetensors_file(set, path);
  });
  return 0;
}
