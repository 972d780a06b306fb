#!/usr/bin/env bash
# Sampling is reproducible: the same seed gives the same output, a different seed (almost surely) a different one.
#   same_seed.sh RESA [extra `resa generate` flags, e.g. a model and --prompt-ids]
set -eu
resa=$1
shift
a=$("$resa" generate --temp 1 --top-p 0.9 --seed 42 -n 80 "$@" 2>/dev/null </dev/null)
b=$("$resa" generate --temp 1 --top-p 0.9 --seed 42 -n 80 "$@" 2>/dev/null </dev/null)
c=$("$resa" generate --temp 1 --top-p 0.9 --seed 43 -n 80 "$@" 2>/dev/null </dev/null)
[ -n "$a" ] || { echo "FAIL: no output"; exit 1; }
[ "$a" = "$b" ] || { echo "FAIL: seed 42 gave two different outputs:"; echo "$a"; echo "---"; echo "$b"; exit 1; }
[ "$a" != "$c" ] || { echo "FAIL: seeds 42 and 43 gave the same output"; exit 1; }
echo "ok"
