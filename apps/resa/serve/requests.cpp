#include "serve/requests.hpp"

#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace resa::serve {

namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& message) { throw RequestError{400, message}; }

const char* type_name(const json& v) { return v.type_name(); }

// The field, if present and not null, checked by `ok`; else nullptr.
const json* field(const json& body, const char* name) {
  const auto it = body.find(name);
  return it == body.end() || it->is_null() ? nullptr : &*it;
}

bool get_bool(const json& body, const char* name, bool fallback) {
  const json* v = field(body, name);
  if (!v) return fallback;
  if (!v->is_boolean()) bad(fmt::format("'{}' must be a boolean, got {}", name, type_name(*v)));
  return v->get<bool>();
}

int64_t get_int(const json& body, const char* name, int64_t fallback, int64_t lo, int64_t hi) {
  const json* v = field(body, name);
  if (!v) return fallback;
  if (!v->is_number_integer())
    bad(fmt::format("'{}' must be an integer, got {}", name, v->is_number() ? "a fraction" : type_name(*v)));
  const int64_t x = v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(hi)
                        ? hi + 1
                        : v->get<int64_t>();
  if (x < lo || x > hi) bad(fmt::format("'{}' must be between {} and {}, got {}", name, lo, hi, v->dump()));
  return x;
}

double get_number(const json& body, const char* name, double fallback, double lo, double hi) {
  const json* v = field(body, name);
  if (!v) return fallback;
  if (!v->is_number()) bad(fmt::format("'{}' must be a number, got {}", name, type_name(*v)));
  const double x = v->get<double>();
  if (!(x >= lo && x <= hi)) bad(fmt::format("'{}' must be between {} and {}, got {}", name, lo, hi, v->dump()));
  return x;
}

std::string get_string(const json& v, const std::string& what) {
  if (!v.is_string()) bad(fmt::format("{} must be a string, got {}", what, type_name(v)));
  return v.get<std::string>();
}

// A message's content: a string, or an array of {type: "text", text} parts joined.
std::string content_of(const json& c, size_t i) {
  if (c.is_string()) return c.get<std::string>();
  if (!c.is_array()) bad(fmt::format("messages[{}].content must be a string or an array of text parts, got {}", i,
                                     type_name(c)));
  std::string text;
  for (const json& part : c) {
    if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text"))
      bad(fmt::format("messages[{}].content: only parts of type \"text\" are supported", i));
    text += get_string(part["text"], fmt::format("messages[{}].content[].text", i));
  }
  return text;
}

std::vector<ChatMessage> messages_of(const json& body) {
  const json* m = field(body, "messages");
  if (!m) bad("'messages' is required");
  if (!m->is_array() || m->empty()) bad("'messages' must be a non-empty array");
  std::vector<ChatMessage> out;
  for (size_t i = 0; i < m->size(); ++i) {
    const json& msg = (*m)[i];
    if (!msg.is_object()) bad(fmt::format("messages[{}] must be an object, got {}", i, type_name(msg)));
    if (!msg.contains("role")) bad(fmt::format("messages[{}].role is required", i));
    ChatMessage cm;
    cm.role = get_string(msg["role"], fmt::format("messages[{}].role", i));
    if (cm.role != "system" && cm.role != "user" && cm.role != "assistant")
      bad(fmt::format("messages[{}].role must be system, user or assistant, got '{}'", i, cm.role));
    cm.content = msg.contains("content") && !msg["content"].is_null() ? content_of(msg["content"], i) : "";
    out.push_back(std::move(cm));
  }
  return out;
}

std::vector<std::string> stops_of(const json& body) {
  const json* s = field(body, "stop");
  if (!s) return {};
  std::vector<std::string> out;
  if (s->is_string()) {
    out.push_back(s->get<std::string>());
  } else if (s->is_array()) {
    for (const json& x : *s) out.push_back(get_string(x, "each of 'stop'"));
  } else {
    bad(fmt::format("'stop' must be a string or an array of strings, got {}", type_name(*s)));
  }
  if (out.size() > 4) bad("'stop' takes at most 4 strings");
  for (const std::string& x : out)
    if (x.empty()) bad("'stop' strings must not be empty");
  return out;
}

void apply_resa(const json& body, AttentionOptions& a) {
  const json* r = field(body, "resa");
  if (!r) return;
  if (!r->is_object()) bad(fmt::format("'resa' must be an object, got {}", type_name(*r)));
  if (const json* attn = field(*r, "attn")) {
    const std::string name = get_string(*attn, "resa.attn");
    try {
      a.attn = parse_attention(name);
    } catch (const Error& e) {
      bad(fmt::format("resa.attn: {}", e.what()));
    }
  }
  a.sparse_ratio = get_number(*r, "sparse_ratio", a.sparse_ratio, 1e-6, 1.0);
  a.rectify_every = static_cast<int>(get_int(*r, "rectify_every", a.rectify_every, 0, 1 << 20));
  a.min_blocks = static_cast<int>(get_int(*r, "min_blocks", a.min_blocks, 1, 1 << 20));
  if (a.local_blocks + a.sink_blocks > a.min_blocks)
    bad(fmt::format("resa.min_blocks must be at least {} (the local and sink blocks)", a.local_blocks + a.sink_blocks));
  if (a.prefill == Prefill::LagKv && a.attn == Attention::Resa && a.rectify_every > a.lag_size)
    bad(fmt::format("resa.rectify_every must not exceed the server's --lag-size {}", a.lag_size));
}

}  // namespace

namespace {

Request parse_json(const std::string& body, bool chat, const SamplingOptions& sampling,
                   const AttentionOptions& attention) {
  const json j = json::parse(body);
  if (!j.is_object()) bad(fmt::format("the body must be a JSON object, got {}", type_name(j)));
  Request r;
  r.chat = chat;
  r.sampling = sampling;
  r.attention = attention;
  if (chat) {
    r.messages = messages_of(j);
  } else {
    const json* p = field(j, "prompt");
    if (!p) bad("'prompt' is required");
    if (p->is_array() && p->size() == 1 && (*p)[0].is_string()) p = &(*p)[0];
    r.prompt = get_string(*p, "'prompt'");
  }
  if (get_int(j, "n", 1, 1, 1) != 1) bad("'n' must be 1");
  r.stream = get_bool(j, "stream", false);
  const int64_t max_tokens = get_int(j, "max_tokens", -1, -1, std::numeric_limits<int>::max());
  r.max_tokens = static_cast<int>(get_int(j, "max_completion_tokens", max_tokens, -1, std::numeric_limits<int>::max()));
  SamplingOptions& s = r.sampling;
  s.temperature = static_cast<float>(get_number(j, "temperature", s.temperature, 0, 100));
  s.top_p = static_cast<float>(get_number(j, "top_p", s.top_p, 0, 1));
  s.min_p = static_cast<float>(get_number(j, "min_p", s.min_p, 0, 1));
  s.top_k = static_cast<int>(get_int(j, "top_k", s.top_k, 0, std::numeric_limits<int>::max()));
  s.repeat_penalty = static_cast<float>(get_number(j, "repeat_penalty", s.repeat_penalty, 0.01, 100));
  s.seed = get_int(j, "seed", s.seed, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
  r.stop = stops_of(j);
  apply_resa(j, r.attention);
  return r;
}

}  // namespace

Request parse_request(const std::string& body, bool chat, const SamplingOptions& sampling,
                      const AttentionOptions& attention) {
  try {
    return parse_json(body, chat, sampling, attention);
  } catch (const json::parse_error& e) {
    bad(fmt::format("the body is not valid JSON: {}", e.what()));
  } catch (const json::exception& e) {  // a number out of range (found by fuzz/fuzz_chat_request.cpp), a wrong type
    bad(fmt::format("the body has a value it cannot take: {}", e.what()));
  }
}

std::string error_body(int status, const std::string& message) {
  const char* type = status == 503 ? "unavailable_error" : status >= 500 ? "server_error" : "invalid_request_error";
  // The message may quote the client's bytes (invalid UTF-8 among them): replaced, not a failure to answer.
  return json{{"error", {{"message", message}, {"type", type}, {"code", status}}}}.dump(-1, ' ', false,
                                                                                      json::error_handler_t::replace);
}

nlohmann::json completion_json(const Request& r, const Completion& c) {
  json choice = {{"index", 0}, {"finish_reason", c.finish_reason}};
  if (r.chat)
    choice["message"] = {{"role", "assistant"}, {"content", c.text}};
  else
    choice.update({{"text", c.text}, {"logprobs", nullptr}});
  return {{"id", c.id},
          {"object", r.chat ? "chat.completion" : "text_completion"},
          {"created", c.created},
          {"model", c.model},
          {"choices", json::array({choice})},
          {"usage",
           {{"prompt_tokens", c.prompt_tokens},
            {"completion_tokens", c.completion_tokens},
            {"total_tokens", c.prompt_tokens + c.completion_tokens},
            {"prompt_tokens_details", {{"cached_tokens", c.reused_tokens}}}}}};
}

nlohmann::json chunk_json(const Request& r, const Completion& c, const std::string& delta, bool first,
                          const std::string& finish_reason) {
  json choice = {{"index", 0}, {"finish_reason", finish_reason.empty() ? json(nullptr) : json(finish_reason)}};
  if (r.chat) {
    json d = json::object();
    if (first) d["role"] = "assistant";
    if (!delta.empty() || (first && finish_reason.empty())) d["content"] = delta;
    choice["delta"] = d;
  } else {
    choice.update({{"text", delta}, {"logprobs", nullptr}});
  }
  json out = {{"id", c.id},
              {"object", r.chat ? "chat.completion.chunk" : "text_completion"},
              {"created", c.created},
              {"model", c.model},
              {"choices", json::array({choice})}};
  if (!finish_reason.empty())
    out["usage"] = {{"prompt_tokens", c.prompt_tokens},
                    {"completion_tokens", c.completion_tokens},
                    {"total_tokens", c.prompt_tokens + c.completion_tokens}};
  return out;
}

std::string StopFilter::push(std::string_view text) {
  if (found) return {};
  held += text;
  size_t cut = std::string::npos;
  for (const std::string& s : stops) cut = std::min(cut, held.find(s));
  if (cut != std::string::npos) {
    found = true;
    std::string out = held.substr(0, cut);
    held.clear();
    return out;
  }
  // Keep the longest tail of `held` that is the start of some stop string.
  size_t keep = 0;
  for (const std::string& s : stops)
    for (size_t n = std::min(s.size() - 1, held.size()); n > keep; --n)
      if (held.compare(held.size() - n, n, s, 0, n) == 0) {
        keep = n;
        break;
      }
  std::string out = held.substr(0, held.size() - keep);
  held.erase(0, held.size() - keep);
  return out;
}

std::string StopFilter::flush() {
  std::string out = found ? std::string() : held;
  held.clear();
  return out;
}

}  // namespace resa::serve
