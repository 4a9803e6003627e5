#!/usr/bin/env bash
# Run every test program and script, show their output, and total the counts.
#
#   scripts/run-tests.sh BUILD PROG... -- SCRIPT...
#
# Contract for each test: it prints, as its last such line, "N passed, N failed"
# or "N passed, N failed, N skipped" (one word and a colon may stand before
# it) and exits non-zero on any failure.  N counts test cases, not checks
# (tests/harness.h, tests/lib/base.sh).  A test that exits non-zero, or prints
# no such line, counts as one failure more.  The last line of this script is
# "N passed, N failed, N skipped" over every suite.  Random tests print their
# seed; OTA_SEED=N reruns them with it.
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

total_pass=0; total_fail=0; total_skip=0; failed_suites=()
logdir="$OTA_BUILD/test-logs"; mkdir -p "$logdir"
run_one() {
  local name="$1"; shift
  local log="$logdir/$(echo "$name" | tr '/ ' '__').log"
  local start=$SECONDS
  echo "=== $name"
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local line p=0 f=0 k=0
  line=$(grep -E '^([A-Za-z0-9_.-]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1 || true)
  if [ -n "$line" ]; then
    p=$(sed -E 's/^([A-Za-z0-9_.-]+: )?([0-9]+) passed, ([0-9]+) failed.*/\2/' <<<"$line")
    f=$(sed -E 's/^([A-Za-z0-9_.-]+: )?([0-9]+) passed, ([0-9]+) failed.*/\3/' <<<"$line")
    if [[ "$line" =~ [0-9]+\ failed,\ ([0-9]+)\ skipped ]]; then k=${BASH_REMATCH[1]}; fi
  elif [ "$rc" = 0 ] && grep -qiE '(^|[ :])skipped' "$log"; then
    k=1   # a suite that only says it was skipped (a tool missing)
  fi
  if [ "$rc" != 0 ] || { [ -z "$line" ] && [ "$k" = 0 ]; }; then
    [ "$f" = 0 ] && f=1
    echo "--- $name: exit status $rc${line:+}${line:- (no summary line)}"
  fi
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f)); total_skip=$((total_skip + k))
  [ "$f" != 0 ] && failed_suites+=("$name")
  echo "--- $name: $p passed, $f failed, $k skipped ($((SECONDS - start))s)"
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
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" = 0 ]
