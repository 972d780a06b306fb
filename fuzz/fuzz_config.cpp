// config.json (lib/model/config.cpp), with the RoPE frequencies it implies.
#include "fuzz_util.hpp"
#include "model/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  resa::fuzz::expect_only_resa_errors([&] {
    const resa::ModelConfig c = resa::parse_hf_config(std::string(resa::fuzz::text(data, size)), "config.json");
    if (c.head_dim > 0 && c.head_dim <= 4096) resa::rope_inv_freq(c);
  });
  return 0;
}
