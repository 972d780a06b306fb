/* Text from a prompt through the C API, with the installed library:  generate_c MODEL [PROMPT] [N_TOKENS]
 * Greedy decoding with an f32 KV cache: the same text as examples/generate.cpp (the prompt itself not echoed). */
#include <stdio.h>
#include <stdlib.h>

#include <resa/resa.h>

static int print_text(int32_t token, const char* text, size_t length, void* user_data) {
  (void)token;
  (void)user_data;
  fwrite(text, 1, length, stdout);
  fflush(stdout);
  return 1; /* 0 would stop */
}

int main(int argc, char** argv) {
  resa_model* model = NULL;
  resa_session* session = NULL;
  resa_session_options opt;
  int32_t ids[4096];
  int n_ids = 0, n_generated = 0;
  const int n_predict = argc > 3 ? atoi(argv[3]) : 64;
  if (argc < 2 || argc > 4) {
    fprintf(stderr, "usage: generate_c MODEL [PROMPT] [N_TOKENS]\n");
    return 2;
  }
  resa_session_options_init(&opt);
  opt.temperature = 0;
  opt.kv_f32 = 1;
  if (resa_model_load(argv[1], &model) != RESA_OK ||
      resa_tokenize(model, argc > 2 ? argv[2] : "", 1, ids, 4096, &n_ids) != RESA_OK ||
      resa_session_open(model, &opt, 0, &session) != RESA_OK || resa_feed(session, ids, n_ids, 0) != RESA_OK ||
      resa_generate(session, n_predict, print_text, NULL, 0, &n_generated) != RESA_OK) {
    fprintf(stderr, "generate_c: error: %s\n", resa_last_error());
    resa_session_free(session);
    resa_model_free(model);
    return 1;
  }
  printf("\n");
  fprintf(stderr, "%d tokens\n", n_generated);
  resa_session_free(session);
  resa_model_free(model);
  return 0;
}
