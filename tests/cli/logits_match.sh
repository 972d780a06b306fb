#!/usr/bin/env bash
# resa logits on a tiny checkpoint agrees with transformers' logits within a tolerance.
#   logits_match.sh RESA FIXTURES MODEL_DIR IDS REFERENCE_F32 TOL [extra resa flags]
set -eu
resa=$1 fixtures=$2 model=$3 ids=$4 ref=$5 tol=$6
shift 6
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$resa" logits -m "$model" --prompt-ids "$ids" -o "$tmp/logits.f32" "$@" </dev/null
"$fixtures" compare-f32 "$tmp/logits.f32" "$ref" "$tol"
