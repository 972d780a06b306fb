// `resa serve`: an OpenAI-compatible HTTP server (cpp-httplib) over one model and --parallel sessions.
//   POST /v1/chat/completions, POST /v1/completions (stream true/false), GET /v1/models, GET /health.
#pragma once

#include <string>

#include "resa/resa.hpp"

namespace resa::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;      // 0: any free port (the one chosen is printed)
  int parallel = 1;     // slots: requests generating at once, each in its own session
  int queue = 16;       // requests that may wait for a slot; one more is answered 503
  std::string model_name;
  GenerateOptions gen;  // each slot's context, KV type, threads (split among the slots) and the requests' defaults
                        // (sampling, attention; n_predict: max_tokens when a request gives none, 0 = to the end)
};

// Blocks SIGINT and SIGTERM (for run_server to take them; call before any thread is made) and ignores SIGPIPE.
void block_shutdown_signals();

// Serves until SIGINT or SIGTERM, then finishes the requests in flight and returns 0.
int run_server(const Model& model, const ServerOptions& o);

}  // namespace resa::serve
