#!/usr/bin/env bash
# Installs the Debian 12 packages resa needs to build and test, skipping those already installed.
set -euo pipefail
packages=(cmake g++ make pkg-config libfmt-dev libcli11-dev nlohmann-json3-dev libopenblas-dev libgtest-dev
  libpcre2-dev libutf8proc-dev libsentencepiece-dev libsimdjson-dev libbenchmark-dev libcpp-httplib-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "resa: installing ${missing[*]}" >&2
  sudo=()
  [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  # apt talks on stderr: stdout is for what the caller prints (scripts/run.sh: the generated text).
  "${sudo[@]}" apt-get update </dev/null >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" </dev/null >&2
fi
