#!/usr/bin/env bash
# Installs what is missing, builds, and generates a story with the shipped model. Extra arguments go to
# `resa generate` (e.g. scripts/run.sh -p "Tom and Sue went to the beach" -n 128).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh >/dev/null
exec build/bin/resa generate "$@"
