// tokenizer.json (lib/tokenizer/bpe_tokenizer.cpp through load_tokenizer), then encoding and decoding with it.
#include "fuzz_util.hpp"
#include "tokenizer/tokenizer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = resa::fuzz::as_file(data, size, "-tokenizer.json");
  resa::fuzz::expect_only_resa_errors([&] {
    const resa::Tokenizer t = resa::load_tokenizer(path);
    const std::vector<int> ids = resa::encode(t, "Hello world, héllo 123 <|im_end|> !!", true);
    resa::decode(t, ids);
  });
  return 0;
}
