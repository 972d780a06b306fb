/* The C API (include/resa/resa.h) from a C program: greedy generation equals the Python reference's ids, the callback
 * stops, save/load round trip (logits identical), rewind, and the errors: a missing model, NULL arguments, a buffer
 * too small, a bad option, a mismatched session file.
 *   test_c_api MODEL PYREF_IDS_FILE OTHER_MODEL_DIR TEMP_DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resa/resa.h"

static int failures = 0;
#define CHECK(cond)                                                                   \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      fprintf(stderr, "%s:%d: CHECK(%s) failed (%s)\n", __FILE__, __LINE__, #cond, \
              resa_last_error());                                                     \
      ++failures;                                                                     \
    }                                                                                 \
  } while (0)

typedef struct {
  int32_t ids[512];
  int n;
  int stop_after;
} Collect;

static int collect(int32_t token, const char* text, size_t length, void* user) {
  Collect* c = (Collect*)user;
  (void)text;
  (void)length;
  c->ids[c->n++] = token;
  return c->stop_after == 0 || c->n < c->stop_after;
}

static int read_pyref(const char* path, int32_t* ids, int capacity) {
  FILE* f = fopen(path, "r");
  char key[64];
  int n = 0;
  if (!f) return 0;
  while (fscanf(f, "%63s", key) == 1) {
    if (strcmp(key, "ids") == 0) {
      while (n < capacity && fscanf(f, "%d", &ids[n]) == 1) ++n;
      break;
    }
  }
  fclose(f);
  return n;
}

int main(int argc, char** argv) {
  resa_model* model = NULL;
  resa_model* other = NULL;
  resa_session* s = NULL;
  resa_session* t = NULL;
  resa_session_options opt;
  int32_t ref[512], prompt[64];
  int n_ref, n_prompt = 0, n_gen = 0, n = 0, i;
  const float* la;
  const float* lb;
  char path[4096], buf[4];
  size_t len = 0;
  Collect c;
  if (argc != 5) {
    fprintf(stderr, "usage: test_c_api MODEL PYREF OTHER_MODEL TEMP_DIR\n");
    return 2;
  }
  n_ref = read_pyref(argv[2], ref, 512);
  CHECK(n_ref == 257);
  CHECK(strlen(resa_version()) > 0);

  /* Errors first: one status, one message. */
  CHECK(resa_model_load("/nonexistent/model.bin", &model) == RESA_ERROR && model == NULL);
  CHECK(strstr(resa_last_error(), "cannot open '/nonexistent/model.bin'") != NULL);
  CHECK(resa_model_load(NULL, &model) == RESA_INVALID_ARGUMENT);
  CHECK(resa_model_load(argv[1], &model) == RESA_OK && model != NULL);
  if (!model) return 1;
  CHECK(resa_model_vocab_size(model) == 512);
  CHECK(resa_tokenize(model, "Once upon a time", 1, prompt, 2, &n_prompt) == RESA_BUFFER_TOO_SMALL && n_prompt > 2);
  CHECK(resa_tokenize(model, "Once upon a time", 1, prompt, 64, &n_prompt) == RESA_OK && prompt[0] == 1);
  CHECK(resa_detokenize(model, 1, prompt[1], buf, 1, &len) == RESA_BUFFER_TOO_SMALL && len > 0);
  CHECK(resa_tokenize(model, "\xff bad", 1, prompt, 64, &n) == RESA_ERROR);
  CHECK(strstr(resa_last_error(), "UTF-8") != NULL);

  resa_session_options_init(&opt);
  opt.attention = "sparsest";
  CHECK(resa_session_open(model, &opt, 0, &s) == RESA_ERROR && s == NULL);
  CHECK(strstr(resa_last_error(), "'sparsest' is not one of dense, sparse, resa") != NULL);

  /* Greedy, f32, dense: BOS then the reference's 256 tokens. */
  resa_session_options_init(&opt);
  opt.kv_f32 = 1;
  opt.temperature = 0;
  opt.ignore_eos = 1;
  opt.attention = "dense";
  CHECK(resa_session_open(model, &opt, 1, &s) == RESA_OK);
  CHECK(resa_step(s, 1, &ref[0]) == RESA_ERROR); /* nothing fed yet */
  CHECK(resa_feed(s, ref, 1, 1) == RESA_OK);
  memset(&c, 0, sizeof c);
  CHECK(resa_generate(s, 256, collect, &c, 1, &n_gen) == RESA_OK && n_gen == 256 && c.n == 256);
  for (i = 0; i < 256 && i < c.n; ++i)
    if (c.ids[i] != ref[i + 1]) {
      fprintf(stderr, "token %d: %d, the reference has %d\n", i, c.ids[i], ref[i + 1]);
      ++failures;
      break;
    }
  CHECK(resa_session_length(s) == 257);

  /* The callback stops generation. */
  CHECK(resa_rewind(s, 200, 1) == RESA_OK && resa_session_length(s) == 57);
  memset(&c, 0, sizeof c);
  c.stop_after = 3;
  CHECK(resa_generate(s, 50, collect, &c, 1, &n_gen) == RESA_OK && n_gen == 3 && c.n == 3);
  CHECK(c.ids[0] == ref[57] && c.ids[1] == ref[58] && c.ids[2] == ref[59]);
  CHECK(resa_rewind(s, 1000, 1) == RESA_ERROR);

  /* Save, load into a fresh session: the same logits, bit for bit. */
  snprintf(path, sizeof path, "%s/c.session", argv[4]);
  CHECK(resa_session_save(s, path) == RESA_OK);
  CHECK(resa_session_open(model, &opt, 1, &t) == RESA_OK);
  CHECK(resa_session_load(t, path) == RESA_OK);
  CHECK(resa_session_length(t) == resa_session_length(s));
  CHECK(resa_logits(s, 1, &la, &n) == RESA_OK && n == 512);
  CHECK(resa_logits(t, 1, &lb, &n) == RESA_OK && n == 512);
  CHECK(memcmp(la, lb, sizeof(float) * 512) == 0);
  resa_session_free(t);

  /* Another model refuses the file. */
  CHECK(resa_model_load(argv[3], &other) == RESA_OK);
  CHECK(resa_session_open(other, &opt, 1, &t) == RESA_OK);
  CHECK(resa_session_load(t, path) == RESA_ERROR);
  CHECK(strstr(resa_last_error(), "was saved with another model") != NULL);
  CHECK(resa_feed(t, NULL, 1, 0) == RESA_INVALID_ARGUMENT);
  CHECK(strstr(resa_last_error(), "ids is NULL") != NULL);
  resa_session_free(t);
  resa_model_free(other);

  resa_session_free(s);
  resa_model_free(model);
  if (failures) {
    fprintf(stderr, "%d checks failed\n", failures);
    return 1;
  }
  printf("ok\n");
  return 0;
}
