// `resa serve`'s OpenAI-compatible requests and responses: POST /v1/chat/completions and /v1/completions bodies read
// and checked into a Request (a field of the wrong type, a value out of range, malformed JSON: a RequestError, which
// the server answers with 400 and a JSON error body), and the JSON the endpoints answer with (whole, or as SSE chunks).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "resa/resa.hpp"

namespace resa::serve {

struct RequestError {
  int status = 400;
  std::string message;
};

struct Request {
  bool chat = false;                  // /v1/chat/completions (else /v1/completions)
  std::vector<ChatMessage> messages;  // chat
  std::string prompt;                 // completions
  bool stream = false;
  int max_tokens = -1;                // -1: until an end-of-text token or the context's end
  SamplingOptions sampling;           // the server's, with the request's fields over them
  AttentionOptions attention;         // the server's, with the request's "resa" object over them
  std::vector<std::string> stop;      // up to 4 strings that end the text (not included)
};

// Parses a body against the server's defaults. Unknown fields are ignored (OpenAI clients send many); the known
// ones must have their types: messages [{role, content}] (content a string or [{type: "text", text}]), prompt a
// string, stream a boolean, max_tokens / top_k / seed integers, temperature / top_p / min_p / repeat_penalty
// numbers, stop a string or an array of strings, n 1, resa {attn, sparse_ratio, rectify_every, min_blocks}.
Request parse_request(const std::string& body, bool chat, const SamplingOptions& sampling,
                      const AttentionOptions& attention);

// {"error": {"message", "type", "code"}}.
std::string error_body(int status, const std::string& message);

// What one request produced.
struct Completion {
  std::string id;            // "chatcmpl-N" / "cmpl-N"
  long long created = 0;     // Unix seconds
  std::string model;
  std::string text;
  std::string finish_reason; // "stop" or "length"
  int prompt_tokens = 0, completion_tokens = 0;
  int reused_tokens = 0;     // of the prompt, from the slot's cache
};

// The whole response of a non-streaming request.
nlohmann::json completion_json(const Request& r, const Completion& c);

// One SSE chunk (the event's JSON): the delta text, or (finish_reason set) the last one. A chat's first chunk carries
// the role.
nlohmann::json chunk_json(const Request& r, const Completion& c, const std::string& delta, bool first,
                          const std::string& finish_reason);

// Holds back the text that may be the start of a stop string, so a stop string is never streamed: push() returns what
// can be sent now; stopped() once a stop string was found (the text before it is what push returned).
struct StopFilter {
  std::vector<std::string> stops;
  std::string held;
  bool found = false;
  std::string push(std::string_view text);
  std::string flush();  // the text held back at the end (no stop string followed)
};

}  // namespace resa::serve
