#include "serve/server.hpp"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>

#include "serve/requests.hpp"
#include "serve/slots.hpp"

namespace resa::serve {

namespace {

using nlohmann::json;

struct Server {
  const Model& model;
  const ServerOptions& o;
  SlotPool pool;
  int context = 0;
  int threads_per_slot = 1;
  long long started = 0;
  std::atomic<long long> next_id{1};
};

void reply_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(error_body(status, message), "application/json");
}

long long unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The request's prompt as token ids: a chat's messages through the model's chat template, or the completion's text.
std::vector<int> prompt_ids(const Server& sv, const Request& r) {
  if (!r.chat) return tokenize(sv.model, r.prompt, /*bos=*/true);
  return tokenize(sv.model, apply_chat_template(sv.model, r.messages, /*add_generation_prompt=*/true), false);
}

// Runs a request in its slot: the session made to hold the prompt (reusing what it shares with the slot's last
// conversation), then up to max_tokens tokens, each piece of text handed to emit (false: the client is gone; stop).
void run_completion(Server& sv, Session& s, const Request& r, const std::vector<int>& prompt, Completion& c,
                    const std::function<bool(const std::string&)>& emit) {
  const RunContext ctx{sv.threads_per_slot};
  set_sampling(s, r.sampling);
  set_attention(s, r.attention);
  const GenerateStats p = set_prompt(s, prompt, ctx);
  c.prompt_tokens = static_cast<int>(prompt.size());
  c.reused_tokens = p.reused_tokens;
  const int room = sv.context - static_cast<int>(prompt.size());
  const int wanted = r.max_tokens >= 0 ? r.max_tokens : sv.o.gen.n_predict > 0 ? sv.o.gen.n_predict : room;
  const int n = std::min(wanted, room);
  StopFilter filter{r.stop, {}, false};
  bool gone = false;
  const GenerateStats g = generate(
      s, n,
      [&](int, std::string_view text) {
        const std::string out = filter.push(text);
        if (!out.empty() && !emit(out)) gone = true;
        return !gone && !filter.found;
      },
      ctx);
  if (!gone && !filter.found)
    if (const std::string rest = filter.flush(); !rest.empty()) emit(rest);
  c.completion_tokens = g.generated_tokens;
  c.finish_reason = filter.found || g.generated_tokens < n ? "stop" : "length";
  // One line per request on stderr, as a server log.
  fmt::print(stderr, "{}: {} prompt tokens ({} cached), {} generated in {:.0f} ms, {}\n", c.id, c.prompt_tokens,
             c.reused_tokens, c.completion_tokens, (p.prompt_seconds + g.generate_seconds) * 1e3,
             gone ? "the client hung up" : c.finish_reason);
}

void handle_completion(Server& sv, const httplib::Request& req, httplib::Response& res, bool chat) {
  Request r;
  std::vector<int> prompt;
  try {
    r = parse_request(req.body, chat, sv.o.gen.sampling, sv.o.gen.attention);
    prompt = prompt_ids(sv, r);
  } catch (const RequestError& e) {
    return reply_error(res, e.status, e.message);
  } catch (const Error& e) {  // invalid UTF-8, a role the template does not take
    return reply_error(res, 400, e.what());
  }
  if (static_cast<int>(prompt.size()) >= sv.context)
    return reply_error(res, 400, fmt::format("the prompt is {} tokens; the context holds {} (prompt and reply)",
                                             prompt.size(), sv.context));
  std::shared_ptr<SlotLease> lease = acquire_slot(sv.pool, prompt);
  if (!lease)
    return reply_error(res, 503, fmt::format("all {} slots are busy and {} requests wait: try again later",
                                             sv.pool.sessions.size(), sv.pool.max_waiting));
  Completion c;
  c.id = fmt::format("{}-{}", chat ? "chatcmpl" : "cmpl", sv.next_id++);
  c.created = unix_now();
  c.model = sv.o.model_name;
  if (!r.stream) {
    try {
      run_completion(sv, *lease->session(), r, prompt, c, [&](const std::string& delta) {
        c.text += delta;
        return true;
      });
    } catch (const Error& e) {
      return reply_error(res, 500, e.what());
    }
    res.set_content(completion_json(r, c).dump(), "application/json");
    return;
  }
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream", [&sv, r, prompt, c, lease](size_t, httplib::DataSink& sink) mutable {
        auto send = [&](const std::string& event) {
          const std::string line = "data: " + event + "\n\n";
          return sink.write(line.data(), line.size());
        };
        bool first = true, open = true;
        try {
          run_completion(sv, *lease->session(), r, prompt, c, [&](const std::string& delta) {
            open = send(chunk_json(r, c, delta, first, "").dump());
            first = false;
            return open;
          });
          if (open) open = send(chunk_json(r, c, "", first, c.finish_reason).dump()) && send("[DONE]");
        } catch (const Error& e) {
          if (open) send(error_body(500, e.what()));
        }
        lease.reset();  // the slot is free as soon as the generation ends, whatever the client does
        if (open) sink.done();
        return open;
      });
}

// SIGINT and SIGTERM are blocked in every thread (set before any is made) and taken here: the server stops
// accepting, the requests in flight finish (httplib's stop() lets its workers end), run_server returns 0.
void wait_for_signal(httplib::Server& http, const std::atomic<bool>& done) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  const timespec tick{0, 100'000'000};
  while (!done) {
    const int sig = sigtimedwait(&set, nullptr, &tick);
    if (sig == SIGINT || sig == SIGTERM) {
      std::fprintf(stderr, "resa serve: %s: finishing the requests in flight\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
      http.stop();
      return;
    }
  }
}

}  // namespace

void block_shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a client gone mid-write is an error return, not the end of the process
}

int run_server(const Model& model, const ServerOptions& o) {
  if (o.parallel < 1) throw Error(fmt::format("--parallel must be at least 1, got {}", o.parallel));
  if (o.queue < 0) throw Error(fmt::format("--queue must be >= 0, got {}", o.queue));
  Server sv{model, o, {}, 0, 1, unix_now(), {1}};
  const int threads = o.gen.threads > 0 ? o.gen.threads : default_threads();
  sv.threads_per_slot = std::max(1, threads / o.parallel);
  SessionOptions so = session_options(o.gen);
  open_slots(sv.pool, model, so, o.parallel, o.queue, sv.threads_per_slot);
  sv.context = so.context > 0 ? so.context : model_info(model).default_context;

  httplib::Server http;
  // One worker per slot and per waiting request, and two for /health, /v1/models and the 503 answers.
  const int workers = o.parallel + o.queue + 2;
  http.new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
  http.set_payload_max_length(size_t{64} << 20);
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, with which a second server on a port in use starts too
  // and the kernel splits the connections between them.
  http.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    reply_error(res, 500, what);
  });
  http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.body.empty()) reply_error(res, res.status, fmt::format("{} {}: no such endpoint", req.method, req.path));
  });
  http.Post("/v1/chat/completions",
            [&](const httplib::Request& q, httplib::Response& res) { handle_completion(sv, q, res, true); });
  http.Post("/v1/completions",
            [&](const httplib::Request& q, httplib::Response& res) { handle_completion(sv, q, res, false); });
  http.Get("/v1/models", [&](const httplib::Request&, httplib::Response& res) {
    const json models = {{"object", "list"},
                         {"data", json::array({{{"id", o.model_name},
                                                {"object", "model"},
                                                {"created", sv.started},
                                                {"owned_by", "resa"}}})}};
    res.set_content(models.dump(), "application/json");
  });
  http.Get("/health", [&](const httplib::Request&, httplib::Response& res) {
    const SlotCounts n = slot_counts(sv.pool);
    res.set_content(json{{"status", "ok"},
                         {"slots_idle", n.slots - n.busy},
                         {"slots_processing", n.busy},
                         {"requests_waiting", n.waiting}}
                        .dump(),
                    "application/json");
  });

  const int port = o.port == 0 ? http.bind_to_any_port(o.host) : (http.bind_to_port(o.host, o.port) ? o.port : -1);
  if (port < 0) throw Error(fmt::format("cannot listen on {}:{} (in use, or not an address of this machine)", o.host, o.port));
  std::fprintf(stderr, "resa serve: %s on http://%s:%d (%d slot%s of %d positions, %d thread%s each, queue %d)\n",
               o.model_name.c_str(), o.host.c_str(), port, o.parallel, o.parallel == 1 ? "" : "s", sv.context,
               sv.threads_per_slot, sv.threads_per_slot == 1 ? "" : "s", o.queue);
  std::atomic<bool> done{false};
  std::thread signals(wait_for_signal, std::ref(http), std::cref(done));
  const bool ok = http.listen_after_bind();
  done = true;
  signals.join();
  if (!ok && http.is_running()) throw Error("the server stopped on an error");
  std::fprintf(stderr, "resa serve: stopped\n");
  return 0;
}

}  // namespace resa::serve
