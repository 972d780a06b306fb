// Llama 3's tiktoken file (lib/tokenizer/bpe_tokenizer.cpp), then encoding with it.
#include "fuzz_util.hpp"
#include "tokenizer/bpe_tokenizer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  resa::fuzz::expect_only_resa_errors([&] {
    const resa::BpeTokenizer t = resa::bpe_from_tiktoken(resa::fuzz::text(data, size), "tokenizer.model");
    std::vector<int> out;
    resa::bpe_encode(t, "Hello world, héllo 123 !!", out);
  });
  return 0;
}
