// `resa serve` end to end: the built binary started on a free port, spoken to by a real HTTP client (cpp-httplib's),
// on the tiny random-weight chat model (Qwen2 shape, Qwen2.5 tokenizer and chat template). The replies are checked
// against the library's own chat (greedy: the same text), streaming against non-streaming, and the server's limits:
// a full queue answers 503, a client gone mid-stream frees its slot, SIGTERM finishes a stream in flight and exits 0.
// Also the request parsing and the stop-string filter on their own (apps/resa/serve/requests.cpp).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <regex>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "resa/resa.hpp"
#include "serve/requests.hpp"
#include "test_helpers.hpp"

namespace resa {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::string chat_model() { return RESA_CHAT_MODEL; }

// The server as a child process; its stdout and stderr go to a file, where it says which port it listens on.
struct ServerProcess {
  test::TempDir dir;
  pid_t pid = -1;
  int port = 0;

  explicit ServerProcess(std::vector<std::string> args) {
    const std::string log = dir.file("serve.log");
    args.insert(args.begin(), {RESA_BINARY, "serve", "-m", chat_model(), "--port", "0"});
    pid = fork();
    if (pid == 0) {
      FILE* f = std::fopen(log.c_str(), "w");
      dup2(fileno(f), 1);
      dup2(fileno(f), 2);
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    const std::regex listening("on http://127\\.0\\.0\\.1:([0-9]+) ");
    for (int i = 0; i < 300 && port == 0; ++i) {
      std::smatch m;
      const std::string text = test::read_file(log);
      if (std::regex_search(text, m, listening)) port = std::stoi(m[1]);
      else std::this_thread::sleep_for(50ms);
    }
    if (port == 0) ADD_FAILURE() << "the server did not start:\n" << test::read_file(log);
  }
  std::string log() const { return test::read_file(dir.file("serve.log")); }
  // Sends sig and returns the exit code (-1: killed by a signal).
  int stop(int sig = SIGTERM) {
    if (pid <= 0) return -1;
    kill(pid, sig);
    int status = 0;
    waitpid(pid, &status, 0);
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  ~ServerProcess() { stop(SIGKILL); }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(120, 0);
    return c;
  }
};

json post(const ServerProcess& s, const std::string& path, const json& body, int* status = nullptr) {
  httplib::Client c = s.client();
  const httplib::Result r = c.Post(path, body.dump(), "application/json");
  if (!r) {
    ADD_FAILURE() << "no response: " << httplib::to_string(r.error());
    return {};
  }
  if (status) *status = r->status;
  return json::parse(r->body);
}

// The deltas of an SSE stream, joined; done: it ended with "data: [DONE]".
struct Stream {
  std::string text;
  int events = 0;
  bool done = false;
  json last;
};

Stream parse_sse(const std::string& body) {
  Stream s;
  size_t at = 0;
  for (size_t end; (end = body.find("\n\n", at)) != std::string::npos; at = end + 2) {
    const std::string event = body.substr(at, end - at);
    EXPECT_EQ(event.rfind("data: ", 0), 0u) << event;
    const std::string data = event.substr(6);
    if (data == "[DONE]") {
      s.done = true;
      continue;
    }
    const json j = json::parse(data);
    const json& choice = j["choices"][0];
    if (choice.contains("delta") && choice["delta"].contains("content"))
      s.text += choice["delta"]["content"].get<std::string>();
    if (choice.contains("text")) s.text += choice["text"].get<std::string>();
    s.last = j;
    ++s.events;
  }
  return s;
}

json chat_body(const std::string& message, int max_tokens, bool stream = false) {
  return {{"messages", json::array({{{"role", "system"}, {"content", "You are terse."}},
                                    {{"role", "user"}, {"content", message}}})},
          {"max_tokens", max_tokens},
          {"temperature", 0},
          {"stream", stream}};
}

// The library's one-turn chat, greedy: what the server must answer.
std::string library_reply(const std::string& message, int n) {
  const Model model = load_model(chat_model());
  GenerateOptions opt;
  opt.sampling.temperature = 0;
  opt.n_predict = n;
  ChatOptions co;
  co.system = "You are terse.";
  Chat c = start_chat(model, opt, co);
  std::string text;
  chat(c, message, [&](std::string_view t) { text += t; });
  return text;
}

TEST(Serve, EndpointsAnswerAsTheLibraryDoes) {
  ServerProcess s({"--parallel", "2"});
  ASSERT_GT(s.port, 0);
  httplib::Client c = s.client();
  const auto health = c.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(json::parse(health->body)["status"], "ok");
  const auto models = c.Get("/v1/models");
  ASSERT_TRUE(models);
  EXPECT_EQ(json::parse(models->body)["data"][0]["id"], "chat-model");

  int status = 0;
  const json r = post(s, "/v1/chat/completions", chat_body("What is 2+2?", 8), &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(r["object"], "chat.completion");
  EXPECT_EQ(r["choices"][0]["message"]["role"], "assistant");
  const std::string reply = r["choices"][0]["message"]["content"];
  EXPECT_EQ(reply, library_reply("What is 2+2?", 8));
  EXPECT_EQ(r["usage"]["prompt_tokens"], 24);  // chat_case.json's opening (tests/cli/chat_pipe.sh)
  EXPECT_EQ(r["usage"]["completion_tokens"], 8);
  EXPECT_EQ(r["choices"][0]["finish_reason"], "length");

  const auto streamed = c.Post("/v1/chat/completions", chat_body("What is 2+2?", 8, true).dump(), "application/json");
  ASSERT_TRUE(streamed);
  EXPECT_EQ(streamed->status, 200);
  EXPECT_EQ(streamed->get_header_value("Content-Type"), "text/event-stream");
  const Stream st = parse_sse(streamed->body);
  EXPECT_TRUE(st.done);
  EXPECT_EQ(st.text, reply);
  EXPECT_EQ(st.last["object"], "chat.completion.chunk");
  EXPECT_EQ(st.last["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(st.last["usage"]["completion_tokens"], 8);

  const json body = {{"prompt", "Hello world"}, {"max_tokens", 6}, {"temperature", 0}};
  const json whole = post(s, "/v1/completions", body, &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(whole["object"], "text_completion");
  EXPECT_EQ(whole["usage"]["prompt_tokens"], 2);
  json sbody = body;
  sbody["stream"] = true;
  const auto ss = c.Post("/v1/completions", sbody.dump(), "application/json");
  ASSERT_TRUE(ss);
  EXPECT_EQ(parse_sse(ss->body).text, whole["choices"][0]["text"].get<std::string>());

  // A stop string ends the text before it.
  json stop = chat_body("What is 2+2?", 8);
  stop["stop"] = reply.substr(reply.size() / 2, 3);
  const json stopped = post(s, "/v1/chat/completions", stop, &status);
  const std::string cut = stopped["choices"][0]["message"]["content"];
  EXPECT_EQ(cut, reply.substr(0, reply.find(stop["stop"].get<std::string>())));
  EXPECT_EQ(stopped["choices"][0]["finish_reason"], "stop");

  // The policy per request: dense and resa answer alike this early in the context (dense regime).
  json dense = chat_body("What is 2+2?", 8);
  dense["resa"] = {{"attn", "dense"}};
  EXPECT_EQ(post(s, "/v1/chat/completions", dense, &status)["choices"][0]["message"]["content"], reply);
  EXPECT_EQ(s.stop(SIGINT), 0);
}

// The next turn of a conversation reuses the slot's cache: the whole previous exchange is a cached prefix.
TEST(Serve, NextTurnReusesTheConversationsCache) {
  ServerProcess s({});
  ASSERT_GT(s.port, 0);
  json body = chat_body("What is 2+2?", 8);
  const json first = post(s, "/v1/chat/completions", body);
  body["messages"].push_back({{"role", "assistant"}, {"content", first["choices"][0]["message"]["content"]}});
  body["messages"].push_back({{"role", "user"}, {"content", "And 3+3?"}});
  const json second = post(s, "/v1/chat/completions", body);
  // The first request's 24 prompt tokens and 7 of its 8 reply tokens (the 8th was sampled, never fed) at least.
  EXPECT_GE(second["usage"]["prompt_tokens_details"]["cached_tokens"].get<int>(), 31);
  EXPECT_GT(second["usage"]["prompt_tokens"].get<int>(), 40);
}

TEST(Serve, BadRequestsGet4xxWithAJsonError) {
  ServerProcess s({"-c", "64"});
  ASSERT_GT(s.port, 0);
  const std::vector<std::tuple<std::string, std::string, int, std::string>> cases = {
      {"/v1/chat/completions", "{\"messages\": [", 400, "not valid JSON"},
      {"/v1/chat/completions", "[1, 2]", 400, "must be a JSON object"},
      {"/v1/chat/completions", "{}", 400, "'messages' is required"},
      {"/v1/chat/completions", R"({"messages": "hi"})", 400, "'messages' must be a non-empty array"},
      {"/v1/chat/completions", R"({"messages": [{"role": "robot", "content": "x"}]})", 400, "role must be"},
      {"/v1/chat/completions", R"({"messages": [{"role": "user", "content": 5}]})", 400, "content must be"},
      {"/v1/chat/completions", R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": "ten"})", 400,
       "'max_tokens' must be an integer"},
      {"/v1/chat/completions", R"({"messages": [{"role": "user", "content": "x"}], "temperature": -1})", 400,
       "'temperature' must be between"},
      {"/v1/chat/completions", R"({"messages": [{"role": "user", "content": "x"}], "stream": "yes"})", 400,
       "'stream' must be a boolean"},
      {"/v1/chat/completions", R"({"messages": [{"role": "user", "content": "x"}], "stop": 3})", 400,
       "'stop' must be a string or an array"},
      {"/v1/chat/completions", R"({"messages": [{"role": "user", "content": "x"}], "n": 2})", 400, "'n' must be"},
      {"/v1/chat/completions", R"({"messages": [{"role": "user", "content": "x"}], "resa": {"attn": "fast"}})", 400,
       "'fast' is not one of dense, sparse, resa"},
      {"/v1/completions", R"({"prompt": ["a", "b"]})", 400, "'prompt' must be a string"},
      // fuzz/fuzz_chat_request.cpp's finding: a number beyond a double escaped as another exception (a 500).
      {"/v1/completions", R"({"prompt": "a", "max_tokens": 33e33333})", 400, "number overflow"},
      {"/v1/chat/completions", R"({"messages": [{"role": "user", "content": [{"type": 5}]}]})", 400, "cannot take"},
      {"/v1/completions", "{\"prompt\": \"\xff\"}", 400, "JSON"},
      {"/v1/completions", R"({"prompt": ")" + std::string(300, 'a') + " " + std::string(300, 'b') + R"("})", 400,
       "the context holds 64"},
      {"/v1/embeddings", "{}", 404, "no such endpoint"}};
  httplib::Client c = s.client();
  for (const auto& [path, body, status, needle] : cases) {
    const auto r = c.Post(path, body, "application/json");
    ASSERT_TRUE(r) << body;
    EXPECT_EQ(r->status, status) << body;
    const json j = json::parse(r->body, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r->body;
    EXPECT_NE(j["error"]["message"].get<std::string>().find(needle), std::string::npos) << j.dump();
  }
  // Unknown fields are ignored (OpenAI clients send many).
  int status = 0;
  json ok = chat_body("hi", 2);
  ok["user"] = "someone";
  ok["presence_penalty"] = 0;
  post(s, "/v1/chat/completions", ok, &status);
  EXPECT_EQ(status, 200);
}

// Two slots, six requests at once: every one answered, each with the text it gets alone.
TEST(Serve, ConcurrentRequestsAllComplete) {
  ServerProcess s({"--parallel", "2", "--queue", "8"});
  ASSERT_GT(s.port, 0);
  const std::vector<std::string> questions = {"What is 2+2?", "And 3+3?", "Name a colour."};
  std::vector<std::string> alone;
  for (const std::string& q : questions) alone.push_back(post(s, "/v1/chat/completions", chat_body(q, 12))
                                                             ["choices"][0]["message"]["content"]);
  std::vector<std::string> got(6);
  std::vector<int> status(6);
  std::vector<std::thread> clients;
  for (int i = 0; i < 6; ++i)
    clients.emplace_back([&, i] {
      const bool stream = i % 2 == 1;
      httplib::Client c = s.client();
      const auto r = c.Post("/v1/chat/completions", chat_body(questions[i % 3], 12, stream).dump(), "application/json");
      if (!r) return;
      status[i] = r->status;
      got[i] = stream ? parse_sse(r->body).text : json::parse(r->body)["choices"][0]["message"]["content"].get<std::string>();
    });
  for (std::thread& t : clients) t.join();
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(status[i], 200) << i;
    EXPECT_EQ(got[i], alone[i % 3]) << i;
  }
}

// POSTs a streaming chat request, handing each piece of the body to `receive` (false: hang up).
void stream_chat(const ServerProcess& s, const json& body, const std::function<bool(const char*, size_t)>& receive) {
  httplib::Client c = s.client();
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/chat/completions";
  req.body = body.dump();
  req.set_header("Content-Type", "application/json");
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) { return receive(data, n); };
  c.send(req);
}

int health(const ServerProcess& s, const char* field) {
  httplib::Client c = s.client();
  const auto r = c.Get("/health");
  return r ? json::parse(r->body)[field].get<int>() : -1;
}

// One slot, a queue of one: a long stream holds the slot, a second request waits, a third is refused (503). The
// streaming client then hangs up: its slot is freed and the waiting request is answered long before the stream would
// have ended.
TEST(Serve, FullQueueAnswers503AndADisconnectFreesTheSlot) {
  ServerProcess s({"--parallel", "1", "--queue", "1", "--ignore-eos"});
  ASSERT_GT(s.port, 0);
  std::atomic<bool> first_chunk{false}, hang_up{false};
  std::thread streaming([&] {
    stream_chat(s, chat_body("Tell me a long story.", 3000, true), [&](const char*, size_t) {
      first_chunk = true;
      return !hang_up.load();
    });
  });
  for (int i = 0; i < 600 && !first_chunk; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(first_chunk);
  EXPECT_EQ(health(s, "slots_processing"), 1);
  int waiting_status = 0;
  std::thread waiting([&] { post(s, "/v1/chat/completions", chat_body("What is 2+2?", 4), &waiting_status); });
  for (int i = 0; i < 600 && health(s, "requests_waiting") != 1; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(health(s, "requests_waiting"), 1);
  int refused = 0;
  const json r = post(s, "/v1/chat/completions", chat_body("What is 2+2?", 4), &refused);
  EXPECT_EQ(refused, 503);
  EXPECT_NE(r["error"]["message"].get<std::string>().find("busy"), std::string::npos);
  hang_up = true;
  waiting.join();
  streaming.join();
  EXPECT_EQ(waiting_status, 200);
  for (int i = 0; i < 300 && health(s, "slots_processing") != 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(health(s, "slots_processing"), 0);
  // The stream stopped where the client hung up, far short of its 3000 tokens.
  std::smatch m;
  const std::string log = s.log();
  ASSERT_TRUE(std::regex_search(log, m, std::regex("chatcmpl-1: [0-9]+ prompt tokens \\(0 cached\\), ([0-9]+) generated "
                                                   "in [0-9]+ ms, the client hung up"))) << log;
  EXPECT_LT(std::stoi(m[1]), 3000);
}

// SIGTERM while a stream is in flight: the stream ends normally ([DONE], every token) and the server exits 0.
TEST(Serve, SigtermFinishesTheStreamInFlight) {
  ServerProcess s({"--ignore-eos"});
  ASSERT_GT(s.port, 0);
  std::atomic<bool> first_chunk{false};
  std::string body;
  std::thread streaming([&] {
    stream_chat(s, chat_body("Tell me a story.", 400, true), [&](const char* data, size_t n) {
      body.append(data, n);
      first_chunk = true;
      return true;
    });
  });
  for (int i = 0; i < 600 && !first_chunk; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(first_chunk);
  EXPECT_EQ(s.stop(SIGTERM), 0) << s.log();
  streaming.join();
  const Stream st = parse_sse(body);
  EXPECT_TRUE(st.done);
  EXPECT_EQ(st.last["usage"]["completion_tokens"], 400);
  EXPECT_NE(s.log().find("SIGTERM: finishing the requests in flight"), std::string::npos);
}

// ---- The pieces on their own -----------------------------------------------------------------------------------------

TEST(ServeRequests, StopFilterNeverStreamsAStopString) {
  serve::StopFilter f{{"END", "xyz"}, {}, false};
  std::string out;
  for (const char* piece : {"Hello E", "N", "d of it. E", "ND and more"}) out += f.push(piece);
  EXPECT_TRUE(f.found);
  EXPECT_EQ(out, "Hello ENd of it. ");
  serve::StopFilter g{{"END"}, {}, false};
  out = g.push("abc E");
  EXPECT_EQ(out, "abc ");  // "E" may start "END": held
  out += g.push("NX");
  out += g.flush();
  EXPECT_FALSE(g.found);
  EXPECT_EQ(out, "abc ENX");
}

TEST(ServeRequests, DefaultsComeFromTheServerAndFieldsOverrideThem) {
  SamplingOptions sampling;
  sampling.temperature = 0.3f;
  AttentionOptions attention;
  const serve::Request r = serve::parse_request(
      R"({"messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}],
          "top_k": 5, "seed": 9, "stop": ["x"], "resa": {"attn": "sparse", "sparse_ratio": 0.5}})",
      true, sampling, attention);
  EXPECT_EQ(r.messages[0].content, "ab");
  EXPECT_FLOAT_EQ(r.sampling.temperature, 0.3f);
  EXPECT_EQ(r.sampling.top_k, 5);
  EXPECT_EQ(r.sampling.seed, 9);
  EXPECT_EQ(r.stop, std::vector<std::string>{"x"});
  EXPECT_EQ(r.attention.attn, Attention::Sparse);
  EXPECT_DOUBLE_EQ(r.attention.sparse_ratio, 0.5);
  EXPECT_EQ(r.max_tokens, -1);
}

}  // namespace
}  // namespace resa
