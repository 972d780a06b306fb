// A SentencePiece tokenizer.model (libsentencepiece through lib/tokenizer/sentencepiece_tokenizer.cpp), then encoding.
#include "fuzz_util.hpp"
#include "tokenizer/tokenizer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = resa::fuzz::as_file(data, size, "-tokenizer.model");
  resa::fuzz::expect_only_resa_errors([&] {
    const resa::Tokenizer t = resa::load_tokenizer(path);
    resa::decode(t, resa::encode(t, "Hello world, héllo 123 !!", true));
  });
  return 0;
}
