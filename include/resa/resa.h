/* resa — the C API: opaque handles, status codes and a message per failed call; no C++ type crosses it.
 *
 *   resa_model* model;  resa_session* s;
 *   if (resa_model_load("models/stories260K/stories260K.bin", &model) != RESA_OK) {
 *     fprintf(stderr, "%s\n", resa_last_error());  return 1;
 *   }
 *   resa_session_options opt;  resa_session_options_init(&opt);
 *   resa_session_open(model, &opt, 0, &s);
 *   int32_t ids[64];  int n;
 *   resa_tokenize(model, "Once upon a time", 1, ids, 64, &n);
 *   resa_feed(s, ids, n, 0);
 *   resa_generate(s, 64, print_token, NULL, 0, NULL);
 *   resa_session_free(s);  resa_model_free(model);
 *
 * Every function that can fail returns a resa_status; on failure resa_last_error() holds one line naming the problem
 * (per thread, until that thread's next failing call). A model is shared and immutable: sessions over it may run on
 * several threads at once, one thread per session at a time. `threads` arguments: the threads the call runs on, 0 for
 * OpenMP's default (OMP_NUM_THREADS, else every core). The semantics are those of include/resa/resa.hpp. */
#ifndef RESA_H
#define RESA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  RESA_OK = 0,
  RESA_ERROR = 1,             /* bad input: a missing or malformed file, an option out of range, a full context */
  RESA_INVALID_ARGUMENT = 2,  /* a NULL handle or pointer where one is needed */
  RESA_BUFFER_TOO_SMALL = 3,  /* the output did not fit: the size needed is returned */
  RESA_INTERNAL = 4           /* out of memory, or a bug */
} resa_status;

typedef struct resa_model resa_model;
typedef struct resa_session resa_session;

/* The message of this thread's last failed call ("" if none). */
const char* resa_last_error(void);
/* "0.1.0" */
const char* resa_version(void);

/* A model: a Hugging Face directory, a GGUF file or a llama2.c checkpoint (with its tokenizer beside it). */
resa_status resa_model_load(const char* path, resa_model** model);
void resa_model_free(resa_model* model);
int resa_model_vocab_size(const resa_model* model);
/* Whether token is one of the model's end-of-text tokens. */
int resa_model_is_eos(const resa_model* model, int32_t token);

/* Text -> ids (BOS first when add_bos and the model's tokenizer adds one). *n_ids: the number of ids; when it exceeds
 * capacity, RESA_BUFFER_TOO_SMALL and nothing written. */
resa_status resa_tokenize(const resa_model* model, const char* text, int add_bos, int32_t* ids, int capacity,
                          int* n_ids);
/* The text token prints after prev (-1: none), NUL-terminated in buf; *length (without the NUL) as tokenize. */
resa_status resa_detokenize(const resa_model* model, int32_t prev, int32_t token, char* buf, size_t capacity,
                            size_t* length);

typedef struct {
  int context;          /* positions; 0 = the model's maximum, at most 4096 */
  int kv_f32;           /* 1: an f32 KV cache; 0: bf16 (the default) */
  int ignore_eos;       /* 1: generation goes on past end-of-text tokens */
  float temperature;    /* 0 = greedy */
  int top_k;
  float top_p;
  float min_p;
  float repeat_penalty;
  int repeat_last_n;
  int64_t seed;         /* < 0: from the clock */
  const char* attention; /* "dense", "sparse" or "resa" (the default) */
  double sparse_ratio;
  int block_size;
  int rectify_every;
} resa_session_options;

/* The library's defaults (those of resa::SessionOptions). */
void resa_session_options_init(resa_session_options* options);

resa_status resa_session_open(const resa_model* model, const resa_session_options* options, int threads,
                              resa_session** session);
void resa_session_free(resa_session* session);

resa_status resa_feed(resa_session* session, const int32_t* ids, int n, int threads);
resa_status resa_step(resa_session* session, int threads, int32_t* token);
/* The logits [*n = vocab] predicting the next token; valid until the session's next call. */
resa_status resa_logits(resa_session* session, int threads, const float** logits, int* n);

/* Called with each generated token and the text it completes (not NUL-terminated; length bytes); return 0 to stop. */
typedef int (*resa_token_callback)(int32_t token, const char* text, size_t length, void* user_data);
/* Up to n_predict tokens; *n_generated (may be NULL) counts them. */
resa_status resa_generate(resa_session* session, int n_predict, resa_token_callback callback, void* user_data,
                          int threads, int* n_generated);

/* Tokens in the session's sequence. */
int resa_session_length(const resa_session* session);
resa_status resa_rewind(resa_session* session, int n, int threads);
resa_status resa_reset(resa_session* session);
resa_status resa_session_save(resa_session* session, const char* path);
resa_status resa_session_load(resa_session* session, const char* path);

#ifdef __cplusplus
}
#endif

#endif /* RESA_H */
