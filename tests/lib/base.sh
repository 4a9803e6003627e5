# tests/lib/base.sh: what every end-to-end shell test shares (sourced first by
# tests/e2e/lib.sh and tests/device/lib.sh).
#
# Finds the built programs ($OTA_BIN, made absolute), makes a temporary work
# directory $WORK (removed on exit), counts checks, starts the real otad on
# 127.0.0.1:0 and reads back its port, kills it by PID on exit, and prints the
# summary line "$T_NAME: N passed, N failed[, N skipped]" (cases, see ok/bad).  Set T_NAME (and optionally
# WORK_PREFIX, TOKEN) before sourcing.
#
# OTA_STORE=pg runs the same test against PostgreSQL: a private server is
# started for the test (tests/lib/pg.sh; the suite is skipped when it cannot
# start), every otad data directory gets a database of its own (so a restart
# on the same directory finds its state, a new directory starts empty), and
# otad_launch passes --store.  store_args DIR prints those arguments for tests
# that start otad themselves; dbq DIR SQL queries the state of DIR's otad in
# either store.

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

OTA_STORE=${OTA_STORE:-sqlite}
cleanup() {
    if [ -n "$OTAD_PID" ] && kill -0 "$OTAD_PID" 2>/dev/null; then
        kill -9 "$OTAD_PID" 2>/dev/null
        wait "$OTAD_PID" 2>/dev/null
    fi
    # jobs started by the test (slow clients, report loops)
    for j in $(jobs -p); do kill "$j" 2>/dev/null; done
    [ "$OTA_STORE" = pg ] && pg_stop
    rm -rf "$WORK"
}
trap cleanup EXIT

case "$OTA_STORE" in
    sqlite) ;;
    pg)
        T_NAME="$T_NAME-pg"
        source "$(dirname "${BASH_SOURCE[0]}")/pg.sh"
        if ! pg_start; then echo "$T_NAME: 0 passed, 0 failed, 1 skipped"; exit 0; fi ;;
    *) echo "OTA_STORE: expected sqlite or pg, got '$OTA_STORE'" >&2; exit 2 ;;
esac

# store_db DIR: the PostgreSQL database of otad data directory DIR (made once)
store_db() {
    local abs; abs=$(cd "$1" 2>/dev/null && pwd || echo "$1")
    local n="ota_$(printf '%s' "$abs" | md5sum | cut -c1-16)"
    pg_db "$n" >/dev/null 2>&1 || { echo "cannot create database $n" >&2; return 1; }
    echo "$n"
}
# store_args DIR: otad arguments that select the store of the run for DIR
store_args() {
    [ "$OTA_STORE" = pg ] || return 0
    mkdir -p "$1"
    local n; n=$(store_db "$1") || return 1
    printf '%s\n' --store "$(pg_url "$n")"
}
# dbq DIR SQL: the rows of SQL (one per line, columns joined by |) in the
# store of the otad that ran on DIR
dbq() {
    if [ "$OTA_STORE" = pg ]; then pg_sql "$(store_db "$1")" "$2"
    else sqlite3 "$1/otad.db" "$2"; fi
}

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
    local st=()
    mapfile -t st < <(store_args "$data")
    rm -f "$WORK/port"
    OTAD_ADMIN_TOKEN=$TOKEN "$OTA_BIN/otad" --data "$data" "${st[@]}" --listen 127.0.0.1:0 \
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
