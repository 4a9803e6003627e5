#!/usr/bin/env bash
# minify-bench.sh: `make bench-minify` (part of `make bench`).  Output size and
# MB/s of otasign minify on the corpus, next to terser and esbuild (see
# minify-bench.mjs for what is measured).  Figures only, never pass/fail.
#   tests/bench/minify-bench.sh [BIN]     BIN: directory holding otasign (build/bin)
set -uo pipefail
cd "$(dirname "$0")/../.."
export OTA_ROOT="$PWD"
export OTA_BIN="${1:-${OTA_BIN:-build/bin}}"
if [ ! -d tests/js/node_modules ]; then
  echo "bench-minify: installing the npm packages (npm ci in tests/js)"
  (cd tests/js && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.stamp) || {
    echo "bench-minify: npm ci failed; skipped"; exit 0; }
fi
node tests/bench/minify-bench.mjs
