// A GGUF file (lib/model/gguf.cpp): the header, metadata and tensor table, and the tokenizer its metadata describes.
#include "fuzz_util.hpp"
#include "model/gguf.hpp"
#include "tokenizer/tokenizer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = resa::fuzz::as_file(data, size, ".gguf");
  resa::fuzz::expect_only_resa_errors([&] {
    const resa::GgufFile g = resa::read_gguf(path);
    resa::fuzz::expect_only_resa_errors([&] {
      const resa::Tokenizer t = resa::tokenizer_from_gguf(g);
      resa::encode(t, "Hello world", true);
    });
  });
  return 0;
}
