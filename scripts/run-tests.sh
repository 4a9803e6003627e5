#!/usr/bin/env bash
# Run every test program and script, show their output, and total the counts.
#
#   scripts/run-tests.sh BUILD PROG... -- SCRIPT...
#
# Contract for each test: it prints, as its last such line, "N passed, N failed"
# (one word and a colon may stand before it) and exits non-zero on any failure.
# A test that exits non-zero, or prints no such line, counts as one failure more.
# Tests find the built tools through $OTA_BUILD and $OTA_BIN.
set -uo pipefail
cd "$(dirname "$0")/.."
export OTA_BUILD="$1"; shift
export OTA_BIN="$OTA_BUILD/bin"
export OTA_ROOT="$PWD"

progs=(); scripts=(); seen_sep=0
for a in "$@"; do
  if [ "$a" = -- ]; then seen_sep=1; continue; fi
  if [ $seen_sep = 0 ]; then progs+=("$a"); else scripts+=("$a"); fi
done

total_pass=0; total_fail=0; failed_suites=()
logdir="$OTA_BUILD/test-logs"; mkdir -p "$logdir"
run_one() {
  local name="$1"; shift
  local log="$logdir/$(echo "$name" | tr '/ ' '__').log"
  local start=$SECONDS
  echo "=== $name"
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local line p=0 f=0
  line=$(grep -E '^([A-Za-z0-9_.-]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1 || true)
  if [ -n "$line" ]; then
    p=$(sed -E 's/^([A-Za-z0-9_.-]+: )?([0-9]+) passed, ([0-9]+) failed.*/\2/' <<<"$line")
    f=$(sed -E 's/^([A-Za-z0-9_.-]+: )?([0-9]+) passed, ([0-9]+) failed.*/\3/' <<<"$line")
  fi
  if [ "$rc" != 0 ] || [ -z "$line" ]; then
    [ "$f" = 0 ] && f=1
    echo "--- $name: exit status $rc${line:+}${line:- (no summary line)}"
  fi
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
  [ "$f" != 0 ] && failed_suites+=("$name")
  echo "--- $name: $p passed, $f failed ($((SECONDS - start))s)"
}

for p in "${progs[@]}"; do run_one "$p" "$p"; done
for s in "${scripts[@]}"; do
  case "$s" in
    *.js|*.mjs) run_one "$s" node "$s" ;;
    *) run_one "$s" bash "$s" ;;
  esac
done

echo
if [ ${#failed_suites[@]} -gt 0 ]; then echo "failed suites: ${failed_suites[*]}"; fi
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" = 0 ]
