#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang (AddressSanitizer + UndefinedBehaviorSanitizer + libFuzzer's
# coverage) into build-fuzz/, and runs each for RUNS executions (default 1000000) from seeds taken from tests/data.
# A finding (a crash, a sanitizer report, an exception other than resa::Error) stops that target and leaves its input
# in build-fuzz/findings/; turn each into a test. Not part of the test suite: run it by hand.
#   scripts/fuzz.sh [RUNS] [TARGET...]     e.g. scripts/fuzz.sh 1000000 gguf chat_request
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1000000}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(safetensors config tokenizer_json tiktoken sentencepiece gguf chat_request tokenize)
command -v clang++ >/dev/null || { echo "fuzz.sh needs clang: sudo apt-get install clang" >&2; exit 1; }
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRESA_FUZZ=ON -DRESA_SANITIZE=ON \
  -DRESA_BUILD_TESTS=OFF -DRESA_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz -j2 --target fuzz_make_seeds "${targets[@]/#/fuzz_}" >/dev/null

seeds=build-fuzz/seeds
rm -rf "$seeds" && mkdir -p "$seeds"/{config,tiktoken,sentencepiece,chat_request,tokenize}
build-fuzz/bin/fuzz_make_seeds "$seeds"
cp tests/data/hf/*/config.json "$seeds/config/" 2>/dev/null || true
for m in tests/data/hf/*/config.json; do cp "$m" "$seeds/config/$(basename "$(dirname "$m")").json"; done
cp tests/data/tokenizers/qwen2/config.json "$seeds/config/qwen2.json"
head -n 400 tests/data/tokenizers/llama3/tokenizer.model >"$seeds/tiktoken/llama3-head.model"
cp tests/data/prompt1.txt tests/data/tinystory.txt tests/data/tokenizers/testvectors/*.inp "$seeds/tokenize/"
printf '\001{"messages": [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi"}], "max_tokens": 8, "temperature": 0, "stream": true, "stop": ["\\n", "END"], "resa": {"attn": "dense"}}' \
  >"$seeds/chat_request/chat.json"
printf '\000{"prompt": "Once upon a time", "max_tokens": 16, "top_p": 0.9, "top_k": 40, "seed": 7}' \
  >"$seeds/chat_request/completion.json"
printf '\001{"messages": [{"role": "user", "content": [{"type": "text", "text": "a"}]}], "n": 1}' \
  >"$seeds/chat_request/parts.json"

mkdir -p build-fuzz/findings build-fuzz/corpus
status=0
for t in "${targets[@]}"; do
  corpus=build-fuzz/corpus/$t
  mkdir -p "$corpus"
  start=$(date +%s)
  if build-fuzz/bin/fuzz_$t -runs="$runs" -max_len=65536 -timeout=10 -rss_limit_mb=4096 \
       -artifact_prefix=build-fuzz/findings/$t- "$corpus" "$seeds/$t" >"build-fuzz/$t.log" 2>&1; then
    echo "fuzz_$t: $(grep -E '^Done [0-9]+ runs' "build-fuzz/$t.log" | tail -1) ($(( $(date +%s) - start )) s), no finding"
  else
    echo "fuzz_$t: FINDING, see build-fuzz/$t.log and build-fuzz/findings/$t-*"
    status=1
  fi
done
exit $status
