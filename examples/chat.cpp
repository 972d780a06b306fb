// A conversation with a chat model, with the installed library:  chat MODEL [N_TOKENS] < messages
// Each line of standard input is one user message; each reply is printed on one line. The KV cache is kept across
// turns, so each turn prefills only its new tokens. Greedy, so the same messages always get the same replies.
#include <resa/resa.hpp>

#include <exception>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::cerr << "usage: chat MODEL [N_TOKENS] < messages\n";
    return 2;
  }
  try {
    const resa::Model model = resa::load_model(argv[1]);
    resa::GenerateOptions opt;
    opt.n_predict = argc > 2 ? std::stoi(argv[2]) : 128;
    opt.sampling.temperature = 0;
    resa::Chat conversation = resa::start_chat(model, opt);
    for (std::string line; std::getline(std::cin, line);) {
      if (line.empty()) continue;
      const resa::GenerateStats stats =
          resa::chat(conversation, line, [](std::string_view text) { std::cout << text << std::flush; });
      std::cout << "\n";
      std::cerr << "turn: " << stats.prompt_tokens << " tokens prefilled, " << stats.generated_tokens
                << " generated\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "chat: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
