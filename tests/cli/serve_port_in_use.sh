#!/usr/bin/env bash
# resa serve on a port another resa serve listens on: one error line naming the port, a non-zero exit.
#   serve_port_in_use.sh RESA
set -u
resa=$1
work=$(mktemp -d)
"$resa" serve --port 0 >"$work/first.log" 2>&1 &
first=$!
trap 'kill $first 2>/dev/null; wait $first 2>/dev/null; rm -rf "$work"' EXIT
port=
for _ in $(seq 100); do
  port=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/first.log" | sed 's/.*://') && [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "FAIL: the first server did not start"; cat "$work/first.log"; exit 1; }
timeout 20 "$resa" serve --port "$port" >"$work/out" 2>"$work/err" </dev/null
rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -lt 124 ] || { echo "FAIL: exit code $rc"; cat "$work/err"; exit 1; }
[ "$(wc -l <"$work/err")" -eq 1 ] && grep -q "^resa: error: cannot listen on 127.0.0.1:$port" "$work/err" ||
  { echo "FAIL: expected one error line"; cat "$work/err"; exit 1; }
echo ok
