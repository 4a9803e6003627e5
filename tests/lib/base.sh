# tests/lib/base.sh: what every end-to-end shell test shares (sourced first by
# tests/e2e/lib.sh and tests/device/lib.sh).
#
# Finds the built programs ($OTA_BIN, made absolute), makes a temporary work
# directory $WORK (removed on exit), counts checks, starts the real otad on
# 127.0.0.1:0 and reads back its port, kills it by PID on exit, and prints the
# summary line "$T_NAME: N passed, N failed[, N skipped]" (cases, see ok/bad).  Set T_NAME (and optionally
# WORK_PREFIX, TOKEN) before sourcing.

set -u
: "${OTA_BIN:=build/bin}"
: "${OTA_ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
case "$OTA_BIN" in /*) ;; *) OTA_BIN="$OTA_ROOT/$OTA_BIN" ;; esac

T_PASS=0
T_FAIL=0
T_NAME=${T_NAME:-e2e}
WORK=$(mktemp -d "/tmp/${WORK_PREFIX:-ota-e2e}.XXXXXX")
OTAD_PID=
PORT=
BASE=
TOKEN=${TOKEN:-e2e-admin-token-0123456789}

cleanup() {
    if [ -n "$OTAD_PID" ] && kill -0 "$OTAD_PID" 2>/dev/null; then
        kill -9 "$OTAD_PID" 2>/dev/null
        wait "$OTAD_PID" 2>/dev/null
    fi
    # jobs started by the test (slow clients, report loops)
    for j in $(jobs -p); do kill "$j" 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT

# Counted are cases, not checks: each check outside a group is one named
# case; case_begin NAME ... case_end groups the checks of a loop into one
# case (it fails when any of them failed).  skip WHY counts a skipped case.
T_SKIP=0
T_GROUP=
T_GROUP_FAIL=0
case_end() {
    [ -n "$T_GROUP" ] || return 0
    if [ "$T_GROUP_FAIL" = 0 ]; then T_PASS=$((T_PASS + 1)); else T_FAIL=$((T_FAIL + 1)); echo "FAILED CASE: $T_GROUP ($T_GROUP_FAIL failed checks)" >&2; fi
    T_GROUP=
}
case_begin() { case_end; T_GROUP="$1"; T_GROUP_FAIL=0; }
ok() { [ -n "$T_GROUP" ] || T_PASS=$((T_PASS + 1)); }
bad() { if [ -n "$T_GROUP" ]; then T_GROUP_FAIL=$((T_GROUP_FAIL + 1)); else T_FAIL=$((T_FAIL + 1)); fi; echo "FAIL: $*" >&2; }
skip() { T_SKIP=$((T_SKIP + 1)); echo "skipped: $*"; }
# check "what" test-expression...
check() { local what="$1"; shift; if "$@"; then ok; else bad "$what"; fi; }
# expect_eq "what" expected actual
expect_eq() { if [ "$2" = "$3" ]; then ok; else bad "$1: expected '$2', got '$3'"; fi; }
# expect_has / expect_not "what" needle haystack
expect_has() { case "$3" in *"$2"*) ok ;; *) bad "$1: '$2' not in: ${3:0:600}" ;; esac; }
expect_not() { case "$3" in *"$2"*) bad "$1: '$2' unexpectedly in: ${3:0:600}" ;; *) ok ;; esac; }

done_tests() {
    case_end
    # Sanitizer builds (make check): otad must have reported nothing.
    if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$WORK/otad.err" 2>/dev/null; then
        bad "sanitizer report in otad's log:"; grep -A20 -E 'Sanitizer|runtime error' "$WORK/otad.err" | head -40 >&2
    else
        ok
    fi
    if [ "$T_SKIP" != 0 ]; then
        echo "$T_NAME: $T_PASS passed, $T_FAIL failed, $T_SKIP skipped"
    else
        echo "$T_NAME: $T_PASS passed, $T_FAIL failed"
    fi
    [ "$T_FAIL" = 0 ]
}

# otad_launch DATA_DIR [extra otad args...]: starts otad with the release key
# $WORK/rel.pub; sets OTAD_PID, PORT, BASE; fails when no port appears.
otad_launch() {
    local data="$1"; shift
    rm -f "$WORK/port"
    OTAD_ADMIN_TOKEN=$TOKEN "$OTA_BIN/otad" --data "$data" --listen 127.0.0.1:0 \
        --port-file "$WORK/port" --release-pub "$WORK/rel.pub" ${OTAD_EXTRA_ARGS:-} "$@" \
        >>"$WORK/otad.out" 2>>"$WORK/otad.err" &
    OTAD_PID=$!
    local i
    for i in $(seq 1 200); do
        [ -s "$WORK/port" ] && break
        kill -0 "$OTAD_PID" 2>/dev/null || break
        sleep 0.05
    done
    PORT=$(cat "$WORK/port" 2>/dev/null)
    BASE="http://127.0.0.1:$PORT"
    [ -n "$PORT" ]
}

stop_otad() {   # SIGTERM, wait; returns otad's exit status
    local rc=0
    kill -TERM "$OTAD_PID" 2>/dev/null
    wait "$OTAD_PID" 2>/dev/null || rc=$?
    OTAD_PID=
    return $rc
}
