#!/usr/bin/env bash
# Soak test of `resa serve` on the shipped model: CLIENTS concurrent streaming clients (default 8) for SECONDS
# (default 120) against /v1/completions, each request a random prompt and length. Checks that every response is
# complete (ends with "data: [DONE]", no error event), that nothing failed, and that the server's resident memory is
# flat after the warm-up (the last sample within 5 % + 4 MiB of the one at a quarter of the run). Prints the RSS samples
# and the request counts. Not part of the test suite: run it by hand (needs curl).
#   scripts/soak.sh [SECONDS] [CLIENTS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-120} clients=${2:-8}
command -v curl >/dev/null || { echo "soak.sh needs curl" >&2; exit 1; }
[ -x build/bin/resa ] || scripts/build.sh >/dev/null
work=$(mktemp -d)
build/bin/resa serve --port 0 --parallel 4 --queue 16 -c 512 >"$work/server.log" 2>&1 &
server=$!
cleanup() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
port=
for _ in $(seq 100); do
  port=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/server.log" | head -1 | sed 's/.*://') && [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "the server did not start"; cat "$work/server.log"; exit 1; }

words=(Once upon a time there was a little girl named Lily who loved the park and the sun and her dog)
client() {
  local id=$1 end=$2 n=0 bad=0
  while [ "$(date +%s)" -lt "$end" ]; do
    local prompt="${words[RANDOM % ${#words[@]}]} ${words[RANDOM % ${#words[@]}]} ${words[RANDOM % ${#words[@]}]}"
    local max=$((16 + RANDOM % 200))
    local out
    out=$(curl -sN --max-time 60 "http://127.0.0.1:$port/v1/completions" \
      -d "{\"prompt\": \"$prompt\", \"max_tokens\": $max, \"stream\": true, \"temperature\": 0.8}") || { bad=$((bad + 1)); continue; }
    if [[ "$out" != *"data: [DONE]"* || "$out" == *'"error"'* ]]; then bad=$((bad + 1)); fi
    n=$((n + 1))
  done
  echo "$n $bad" >"$work/client.$id"
}
end=$(( $(date +%s) + seconds ))
for i in $(seq "$clients"); do client "$i" "$end" & done
rss=()
for ((t = 0; t < seconds; t += 5)); do
  rss+=("$(awk '/VmRSS/ {print $2}' "/proc/$server/status")")
  sleep 5
done
wait $(jobs -p | grep -v "^$server$") 2>/dev/null || true
total=0 failed=0
for i in $(seq "$clients"); do
  read -r n b <"$work/client.$i"
  total=$((total + n)) failed=$((failed + b))
done
echo "requests: $total complete, $failed failed or incomplete, $clients clients, ${seconds} s"
echo "RSS (KiB, every 5 s): ${rss[*]}"
quarter=${rss[$(( ${#rss[@]} / 4 ))]} last=${rss[-1]}
echo "RSS after warm-up: $quarter KiB -> $last KiB at the end"
status=0
[ "$failed" -eq 0 ] || { echo "FAIL: $failed requests failed"; status=1; }
[ "$total" -gt 0 ] || { echo "FAIL: no request completed"; status=1; }
[ "$last" -le $(( quarter + quarter / 20 + 4096 )) ] || { echo "FAIL: RSS grew"; status=1; }
grep -q "error\|Error" "$work/server.log" && { echo "FAIL: errors in the server log"; grep -i error "$work/server.log" | head; status=1; }
[ "$status" -eq 0 ] && echo "ok"
exit $status
