// resa serve's request bodies (apps/resa/serve/requests.cpp): the first byte picks the endpoint, the rest is the body.
#include "fuzz_util.hpp"
#include "serve/requests.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  try {
    resa::serve::parse_request(std::string(resa::fuzz::text(data + 1, size - 1)), data[0] & 1, {}, {});
  } catch (const resa::serve::RequestError&) {
  }
  return 0;
}
