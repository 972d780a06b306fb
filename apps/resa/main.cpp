// resa: the command-line tool. A table of subcommands over the public API (include/resa/resa.hpp).
#include <cstdio>
#include <exception>
#include <vector>

#include <fmt/format.h>

#include "commands.hpp"
#include "resa/resa.hpp"

int main(int argc, char** argv) {
  CLI::App app{"resa: CPU-first inference for long-context LLM generation", "resa"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "resa " RESA_VERSION);
  std::vector<resa::cli::Runner> runners = {resa::cli::add_generate(app), resa::cli::add_logits(app),
                                            resa::cli::add_info(app), resa::cli::add_perplexity(app),
                                            resa::cli::add_chat(app), resa::cli::add_tokenize(app),
                                            resa::cli::add_detokenize(app), resa::cli::add_bench(app),
                                            resa::cli::add_serve(app)};

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "resa: error: {} (see `resa --help`)\n", e.what());
    return 2;
  }

  try {
    for (const auto& run : runners)
      if (int rc = run(); rc >= 0) return rc;
    return 1;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    fmt::print(stderr, "resa: error: {}\n", e.what());
    return 1;
  }
}
