// The C API (include/resa/resa.h) over the C++ one: each call catches every exception at the boundary and turns it
// into a status and this thread's message.
#include "resa/resa.h"

#include <cstring>
#include <new>
#include <string>

#include "resa/resa.hpp"

struct resa_model {
  resa::Model model;
};

struct resa_session {
  resa::Session session;
};

namespace {

thread_local std::string last_error;

resa_status fail(resa_status status, std::string message) {
  last_error = std::move(message);
  return status;
}

// Runs f, mapping exceptions to statuses.
template <class F>
resa_status guarded(F&& f) {
  try {
    return f();
  } catch (const resa::Error& e) {
    return fail(RESA_ERROR, e.what());
  } catch (const std::bad_alloc&) {
    return fail(RESA_INTERNAL, "out of memory");
  } catch (const std::exception& e) {
    return fail(RESA_INTERNAL, e.what());
  } catch (...) {
    return fail(RESA_INTERNAL, "unknown error");
  }
}

resa_status null_argument(const char* function, const char* name) {
  return fail(RESA_INVALID_ARGUMENT, std::string(function) + ": " + name + " is NULL");
}

#define RESA_REQUIRE(p) \
  if (!(p)) return null_argument(__func__, #p)

}  // namespace

extern "C" {

const char* resa_last_error(void) { return last_error.c_str(); }

const char* resa_version(void) { return RESA_VERSION; }

resa_status resa_model_load(const char* path, resa_model** model) {
  RESA_REQUIRE(path);
  RESA_REQUIRE(model);
  *model = nullptr;
  return guarded([&] {
    *model = new resa_model{resa::load_model(path)};
    return RESA_OK;
  });
}

void resa_model_free(resa_model* model) { delete model; }

int resa_model_vocab_size(const resa_model* model) { return model ? resa::model_info(model->model).vocab_size : 0; }

int resa_model_is_eos(const resa_model* model, int32_t token) {
  if (!model) return 0;
  for (int e : resa::model_info(model->model).eos_ids)
    if (e == token) return 1;
  return 0;
}

resa_status resa_tokenize(const resa_model* model, const char* text, int add_bos, int32_t* ids, int capacity,
                          int* n_ids) {
  RESA_REQUIRE(model);
  RESA_REQUIRE(text);
  RESA_REQUIRE(n_ids);
  return guarded([&] {
    const std::vector<int> t = resa::tokenize(model->model, text, add_bos != 0);
    *n_ids = static_cast<int>(t.size());
    if (static_cast<int>(t.size()) > capacity || (!ids && !t.empty()))
      return fail(RESA_BUFFER_TOO_SMALL, "resa_tokenize: " + std::to_string(t.size()) + " ids do not fit in " +
                                             std::to_string(capacity));
    std::copy(t.begin(), t.end(), ids);
    return RESA_OK;
  });
}

resa_status resa_detokenize(const resa_model* model, int32_t prev, int32_t token, char* buf, size_t capacity,
                            size_t* length) {
  RESA_REQUIRE(model);
  RESA_REQUIRE(length);
  return guarded([&] {
    const std::string s = resa::detokenize(model->model, prev, token);
    *length = s.size();
    if (!buf || s.size() + 1 > capacity)
      return fail(RESA_BUFFER_TOO_SMALL, "resa_detokenize: " + std::to_string(s.size() + 1) +
                                             " bytes do not fit in " + std::to_string(capacity));
    std::memcpy(buf, s.c_str(), s.size() + 1);
    return RESA_OK;
  });
}

void resa_session_options_init(resa_session_options* o) {
  if (!o) return;
  const resa::SessionOptions d;
  o->context = d.context;
  o->kv_f32 = d.kv_type == resa::KvType::F32;
  o->ignore_eos = d.ignore_eos;
  o->temperature = d.sampling.temperature;
  o->top_k = d.sampling.top_k;
  o->top_p = d.sampling.top_p;
  o->min_p = d.sampling.min_p;
  o->repeat_penalty = d.sampling.repeat_penalty;
  o->repeat_last_n = d.sampling.repeat_last_n;
  o->seed = d.sampling.seed;
  o->attention = resa::attention_name(d.attention.attn);
  o->sparse_ratio = d.attention.sparse_ratio;
  o->block_size = d.attention.block_size;
  o->rectify_every = d.attention.rectify_every;
}

resa_status resa_session_open(const resa_model* model, const resa_session_options* o, int threads,
                              resa_session** session) {
  RESA_REQUIRE(model);
  RESA_REQUIRE(session);
  *session = nullptr;
  return guarded([&] {
    resa::SessionOptions opt;
    if (o) {
      opt.context = o->context;
      opt.kv_type = o->kv_f32 ? resa::KvType::F32 : resa::KvType::BF16;
      opt.ignore_eos = o->ignore_eos != 0;
      opt.sampling.temperature = o->temperature;
      opt.sampling.top_k = o->top_k;
      opt.sampling.top_p = o->top_p;
      opt.sampling.min_p = o->min_p;
      opt.sampling.repeat_penalty = o->repeat_penalty;
      opt.sampling.repeat_last_n = o->repeat_last_n;
      opt.sampling.seed = o->seed;
      opt.attention.attn = resa::parse_attention(o->attention ? o->attention : "");
      opt.attention.sparse_ratio = o->sparse_ratio;
      opt.attention.block_size = o->block_size;
      opt.attention.rectify_every = o->rectify_every;
    }
    *session = new resa_session{resa::open_session(model->model, opt, {threads})};
    return RESA_OK;
  });
}

void resa_session_free(resa_session* session) { delete session; }

resa_status resa_feed(resa_session* session, const int32_t* ids, int n, int threads) {
  RESA_REQUIRE(session);
  RESA_REQUIRE(ids);
  return guarded([&] {
    resa::feed(session->session, std::vector<int>(ids, ids + std::max(n, 0)), {threads});
    return RESA_OK;
  });
}

resa_status resa_step(resa_session* session, int threads, int32_t* token) {
  RESA_REQUIRE(session);
  RESA_REQUIRE(token);
  return guarded([&] {
    *token = resa::step(session->session, {threads});
    return RESA_OK;
  });
}

resa_status resa_logits(resa_session* session, int threads, const float** logits, int* n) {
  RESA_REQUIRE(session);
  RESA_REQUIRE(logits);
  return guarded([&] {
    const std::vector<float>& l = resa::logits(session->session, {threads});
    *logits = l.data();
    if (n) *n = static_cast<int>(l.size());
    return RESA_OK;
  });
}

resa_status resa_generate(resa_session* session, int n_predict, resa_token_callback callback, void* user_data,
                          int threads, int* n_generated) {
  RESA_REQUIRE(session);
  if (n_generated) *n_generated = 0;
  return guarded([&] {
    const resa::GenerateStats st = resa::generate(
        session->session, n_predict,
        [&](int id, std::string_view text) { return !callback || callback(id, text.data(), text.size(), user_data) != 0; },
        {threads});
    if (n_generated) *n_generated = st.generated_tokens;
    return RESA_OK;
  });
}

int resa_session_length(const resa_session* session) {
  return session ? static_cast<int>(resa::session_tokens(session->session).size()) : 0;
}

resa_status resa_rewind(resa_session* session, int n, int threads) {
  RESA_REQUIRE(session);
  return guarded([&] {
    resa::rewind(session->session, n, {threads});
    return RESA_OK;
  });
}

resa_status resa_reset(resa_session* session) {
  RESA_REQUIRE(session);
  return guarded([&] {
    resa::reset(session->session);
    return RESA_OK;
  });
}

resa_status resa_session_save(resa_session* session, const char* path) {
  RESA_REQUIRE(session);
  RESA_REQUIRE(path);
  return guarded([&] {
    resa::save_session(session->session, path);
    return RESA_OK;
  });
}

resa_status resa_session_load(resa_session* session, const char* path) {
  RESA_REQUIRE(session);
  RESA_REQUIRE(path);
  return guarded([&] {
    resa::load_session(session->session, path);
    return RESA_OK;
  });
}

}  // extern "C"
