// Text from a prompt, with the installed library:  generate MODEL [PROMPT] [N_TOKENS]
// Greedy decoding with an f32 KV cache, so a model and prompt always give the same text (for stories260K, the text
// llama2.c's run.c prints).
#include <resa/resa.hpp>

#include <exception>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4) {
    std::cerr << "usage: generate MODEL [PROMPT] [N_TOKENS]\n";
    return 2;
  }
  try {
    const resa::Model model = resa::load_model(argv[1]);
    resa::GenerateOptions opt;
    opt.n_predict = argc > 3 ? std::stoi(argv[3]) : 64;
    opt.sampling.temperature = 0;
    opt.kv_type = resa::KvType::F32;
    const resa::GenerateStats stats = resa::generate(model, argc > 2 ? argv[2] : "", opt, [](std::string_view text) {
      std::cout << text << std::flush;
    });
    std::cout << "\n";
    std::cerr << stats.generated_tokens << " tokens at " << stats.tokens_per_second() << " tokens/s\n";
  } catch (const std::exception& e) {
    std::cerr << "generate: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
