// Text through the Qwen2 tokenizer (any bytes: invalid UTF-8 is an error naming its offset) and back.
#include "fuzz_util.hpp"
#include "tokenizer/tokenizer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const resa::Tokenizer t = resa::load_tokenizer(RESA_QWEN2_TOKENIZER);
  resa::fuzz::expect_only_resa_errors([&] { resa::decode(t, resa::encode(t, resa::fuzz::text(data, size), false)); });
  return 0;
}
