#!/usr/bin/env bash
# Runs a command and checks what it did.
#   expect.sh EXIT STDOUT STDERR -- COMMAND [ARGS...]
#   EXIT    0 (must succeed) or nonzero (must fail, with exactly one line on stderr)
#   STDOUT  -  (not checked) | nonempty | /REGEX/ that stdout must match whole | a golden file that stdout must
#           equal byte for byte
#   STDERR  -  (not checked) | an extended regular expression that some line of stderr must match
set -u
want_exit=$1 want_out=$2 want_err=$3
shift 3
[ "$1" = "--" ] && shift
cmd="$*"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$@" >"$tmp/out" 2>"$tmp/err" </dev/null
rc=$?
fail() {
  echo "FAIL: $*"
  echo "command: $cmd"
  echo "--- exit code: $rc"
  echo "--- stderr:"; cat "$tmp/err"
  echo "--- stdout (first 20 lines):"; head -20 "$tmp/out"
  exit 1
}
case "$want_exit" in
  0) [ "$rc" -eq 0 ] || fail "expected exit 0" ;;
  nonzero)
    [ "$rc" -ne 0 ] || fail "expected a non-zero exit"
    [ "$rc" -lt 128 ] || fail "crashed (signal $((rc - 128)))"
    [ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "expected exactly one line on stderr" ;;
  *) echo "expect.sh: bad EXIT '$want_exit'"; exit 2 ;;
esac
case "$want_out" in
  -) ;;
  nonempty) [ -s "$tmp/out" ] || fail "expected output on stdout" ;;
  /*/) re=${want_out:1:-1}; grep -Eqx -- "$re" "$tmp/out" || fail "stdout does not match $want_out" ;;
  *) cmp "$want_out" "$tmp/out" || { diff <(cat "$want_out") "$tmp/out" | head -20; fail "stdout differs from $want_out"; } ;;
esac
if [ "$want_err" != "-" ]; then
  grep -Eq -- "$want_err" "$tmp/err" || fail "stderr does not match /$want_err/"
fi
echo "ok"
