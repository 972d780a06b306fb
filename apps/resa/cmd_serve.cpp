// resa serve: the OpenAI-compatible HTTP server (apps/resa/serve/).
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "resa/resa.hpp"
#include "serve/server.hpp"

namespace resa::cli {

namespace {

struct ServeArgs {
  LoadOptions load;
  std::string model, tokenizer, alias;
  serve::ServerOptions server;
};

int run_serve(ServeArgs& a) {
  serve::block_shutdown_signals();  // before the model's loader makes its threads
  const std::string path = a.model.empty() ? default_model_path() : a.model;
  const Model model = load_model(path, a.tokenizer, with_threads(a.load, a.server.gen.threads));
  if (!model_info(model).has_tokenizer) throw Error(fmt::format("'{}' has no tokenizer: resa serve needs one", path));
  serve::ServerOptions o = a.server;
  o.model_name = !a.alias.empty() ? a.alias : std::filesystem::path(path).filename().string();
  if (o.model_name.empty()) o.model_name = std::filesystem::path(path).parent_path().filename().string();
  return serve::run_server(model, o);
}

}  // namespace

Runner add_serve(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  args->server.gen.n_predict = 0;
  CLI::App* cmd = app.add_subcommand("serve", "Serve a model over HTTP (OpenAI-compatible /v1/chat/completions, ...)");
  add_model_option(cmd, args->model);
  add_load_option(cmd, args->load);
  cmd->add_option("--tokenizer", args->tokenizer, "Tokenizer file or directory (default: the model's)");
  cmd->add_option("--host", args->server.host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", args->server.port, "Port to listen on; 0 = any free port")
      ->check(number_in(0, 65535))
      ->capture_default_str();
  cmd->add_option("--parallel", args->server.parallel, "Slots: requests generating at once, each with its cache")
      ->check(number_in(1, 256))
      ->capture_default_str();
  cmd->add_option("--queue", args->server.queue, "Requests that may wait for a slot; more get 503")
      ->check(number_in(0, 4096))
      ->capture_default_str();
  cmd->add_option("--alias", args->alias, "The model's name in responses and /v1/models (default: the path's)");
  add_generation_options(cmd, args->server.gen);
  cmd->get_option("-n")->description("max_tokens when a request gives none; 0 = up to the end of the context");
  return [cmd, args]() { return cmd->parsed() ? run_serve(*args) : -1; };
}

}  // namespace resa::cli
