#!/usr/bin/env bash
# resa generate --prompt-cache FILE:
#   - the first run creates the file (0 tokens reused) and prints run.c's golden text;
#   - the same prompt again reuses all 14 tokens, prefills none, prints the same text;
#   - a longer prompt that starts with them reuses 14 and prefills the rest;
#   - a shorter, different one reuses the shared prefix only (rewinding the cache);
#   - another model's file is not used (said so), then replaced;
#   - --prompt-ids goes through the cache too.
#   prompt_cache.sh RESA GOLDEN_PROMPT1 OTHER_MODEL
set -u
resa=$1 golden=$2 other=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cache=$work/prompt.session
fail() { echo "FAIL: $*"; echo "--- stderr"; cat "$work/err"; exit 1; }
gen() { "$resa" generate --temp 0 --kv-type f32 --attn dense --prompt-cache "$cache" "$@" >"$work/out" 2>"$work/err" </dev/null; }

gen -p "Tom and Sue went to the beach" -n 243 || fail "run 1: exit code $?"
cmp -s "$golden" "$work/out" || fail "run 1: the text differs from the golden"
grep -q "^prompt cache: reused 0 of 14 prompt tokens" "$work/err" || fail "run 1 reused something"
[ -s "$cache" ] || fail "no cache file"
gen -p "Tom and Sue went to the beach" -n 243 || fail "run 2: exit code $?"
cmp -s "$golden" "$work/out" || fail "run 2: the text differs from the golden"
grep -q "^prompt cache: reused 14 of 14 prompt tokens" "$work/err" || fail "run 2 did not reuse the prompt"
grep -q "^prompt: 0 tokens" "$work/err" || fail "run 2 prefilled tokens"
gen -p "Tom and Sue went to the beach. The sun was hot" -n 8 || fail "run 3: exit code $?"
grep -q "^prompt cache: reused 14 of 21 prompt tokens" "$work/err" || fail "run 3: expected 14 of 21 reused"
grep -q "^prompt: 7 tokens" "$work/err" || fail "run 3: expected 7 tokens prefilled"
gen -p "Tom and Sue went home" -n 8 || fail "run 4: exit code $?"
grep -q "^prompt cache: reused 9 of 12 prompt tokens" "$work/err" || fail "run 4: expected the shared 9 tokens reused"
"$resa" generate -m "$other" --prompt-ids 1,2,3 -n 4 --prompt-cache "$cache" >"$work/out" 2>"$work/err" </dev/null ||
  fail "another model: exit code $?"
grep -q "^prompt cache: '.*' not used: .*was saved with another model" "$work/err" || fail "another model's file was used"
grep -q "^prompt cache: reused 0 of 3 prompt tokens" "$work/err" || fail "another model: reused something"
"$resa" generate -m "$other" --prompt-ids 1,2,3,4 -n 4 --prompt-cache "$cache" >"$work/out" 2>"$work/err" </dev/null ||
  fail "ids: exit code $?"
grep -q "^prompt cache: reused 3 of 4 prompt tokens" "$work/err" || fail "ids: expected 3 of 4 reused"
echo ok
