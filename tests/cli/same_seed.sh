#!/usr/bin/env bash
# Sampling is reproducible: the same seed gives the same text, a different seed (almost surely) different text.
set -eu
resa=$1
a=$("$resa" generate --temp 1 --top-p 0.9 --seed 42 -n 80 2>/dev/null </dev/null)
b=$("$resa" generate --temp 1 --top-p 0.9 --seed 42 -n 80 2>/dev/null </dev/null)
c=$("$resa" generate --temp 1 --top-p 0.9 --seed 43 -n 80 2>/dev/null </dev/null)
[ -n "$a" ] || { echo "FAIL: no text"; exit 1; }
[ "$a" = "$b" ] || { echo "FAIL: seed 42 gave two different texts:"; echo "$a"; echo "---"; echo "$b"; exit 1; }
[ "$a" != "$c" ] || { echo "FAIL: seeds 42 and 43 gave the same text"; exit 1; }
echo "ok"
