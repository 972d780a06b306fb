#!/usr/bin/env bash
# `resa chat` end to end through a pipe, on a tiny random-weight Qwen2 at the Qwen2.5 vocabulary size written here
# (resa_test_fixtures chat-model) with the Qwen2.5 tokenizer:
#   - two turns, two replies, exit code 0 at the end of the input (EOF);
#   - turn 1 prefills the conversation's opening: with --system "You are terse." that is the first 24 ids of
#     tests/data/tokenizers/qwen2/chat_case.json (transformers' rendering), up to the first "<|im_start|>assistant\n";
#   - turn 2 prefills only its new tokens: the reply's last token (sampled, not yet in the cache) and the 16 ids
#     chat_case.json has after the assistant's reply "<|im_end|>\n<|im_start|>user\nAnd 3+3?...assistant\n";
#   - the cache then holds 24 + 8 - 1 and 31 + 17 + 8 - 1 positions (-n 8 with --ignore-eos: the last reply token of
#     each turn waits for the next turn);
#   - under --attn resa (the default) turn 2 first rectifies the 7 reply tokens turn 1 left sparse (one pass);
#   - a blank line is not a turn; empty input is a session with no turns, exit 0;
#   - a conversation that outgrows the context (-c) is one error line and a non-zero exit.
#   chat_pipe.sh RESA FIXTURES TINY_BF16_CHECKPOINT QWEN2_TOKENIZER_DIR
set -u
resa=$1 fixtures=$2 tiny=$3 tokdir=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; echo "--- stdout"; cat "$work/out"; echo "--- stderr"; cat "$work/err"; exit 1; }

"$fixtures" chat-model "$tiny" "$tokdir" "$work/model" || { echo "FAIL: could not write the model"; exit 1; }
: >"$work/out"
: >"$work/err"
printf 'What is 2+2?\n\nAnd 3+3?\n' |
  "$resa" chat -m "$work/model" --system "You are terse." -n 8 --ignore-eos --temp 0 -c 256 >"$work/out" 2>"$work/err"
rc=$?
[ "$rc" -eq 0 ] || fail "exit code $rc"
[ "$(wc -l <"$work/out")" -eq 2 ] || fail "expected two replies, one per line"
grep -q "^turn 1: prefilled 24 new tokens, 31 positions in the cache | " "$work/err" || fail "turn 1's prefill"
# Turn 1's 8 sparse steps are due a pass before turn 2's prefill; at 31..38 positions (block 16, min 16 blocks) they
# attended to every block, so it is skipped (lib/attention/rectifier.hpp).
grep -q "^turn 2: prefilled 17 new tokens, 55 positions in the cache | .*, 0 rectify passes (1 skipped: all blocks attended) | kv_tokens=55 kv_bytes=[0-9]*$" "$work/err" ||
  fail "turn 2's prefill"
grep -q "^turn 1: .*, 0 rectify passes | kv_tokens=[0-9]* kv_bytes=[0-9]*$" "$work/err" || fail "turn 1 has no pass"
[ "$(grep -c '^turn ' "$work/err")" -eq 2 ] || fail "expected two turns"

"$resa" chat -m "$work/model" -n 4 </dev/null >"$work/out" 2>"$work/err" || fail "empty input: exit code $?"
[ ! -s "$work/out" ] || fail "empty input printed something"
printf 'What is 2+2?\n' | "$resa" chat -m "$work/model" --system "You are terse." -c 10 >"$work/out" 2>"$work/err"
rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -lt 128 ] || fail "a conversation longer than the context: exit code $rc"
[ "$(wc -l <"$work/err")" -eq 1 ] &&
  grep -q "^resa: error: the prompt is 24 tokens, longer than the context of 10 tokens" "$work/err" ||
  fail "a conversation longer than the context: expected one error line"
echo "ok"
