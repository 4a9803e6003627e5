# tests/e2e/lib.sh: shared helpers for otad's end-to-end tests (sourced).
#
# Starts the real otad on 127.0.0.1:0 with a temporary data directory, reads
# back the bound port, and kills it by PID when the test exits.  Counts checks
# and prints the summary line "NAME: N passed, N failed" at the end.

set -u
: "${OTA_BIN:=build/bin}"
: "${OTA_ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
case "$OTA_BIN" in /*) ;; *) OTA_BIN="$OTA_ROOT/$OTA_BIN" ;; esac

T_PASS=0
T_FAIL=0
T_NAME=${T_NAME:-e2e}
WORK=$(mktemp -d /tmp/otad-e2e.XXXXXX)
OTAD_PID=
PORT=
TOKEN=e2e-admin-token-0123456789
BASE=

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

ok() { T_PASS=$((T_PASS + 1)); }
bad() { T_FAIL=$((T_FAIL + 1)); echo "FAIL: $*" >&2; }
# check "what" test-expression...
check() { local what="$1"; shift; if "$@"; then ok; else bad "$what"; fi; }
# expect_eq "what" expected actual
expect_eq() { if [ "$2" = "$3" ]; then ok; else bad "$1: expected '$2', got '$3'"; fi; }
# expect_has "what" needle haystack
expect_has() { case "$3" in *"$2"*) ok ;; *) bad "$1: '$2' not in: ${3:0:400}" ;; esac; }

done_tests() {
    # Sanitizer builds (make check): otad must have reported nothing.
    if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$WORK/otad.err" 2>/dev/null; then
        bad "sanitizer report in otad's log:"; grep -A20 -E 'Sanitizer|runtime error' "$WORK/otad.err" | head -40 >&2
    else
        ok
    fi
    echo "$T_NAME: $T_PASS passed, $T_FAIL failed"
    [ "$T_FAIL" = 0 ]
}

# start_otad DATA_DIR [extra otad args...]: sets OTAD_PID, PORT, BASE.
start_otad() {
    local data="$1"; shift
    rm -f "$WORK/port"
    OTAD_ADMIN_TOKEN=$TOKEN "$OTA_BIN/otad" --data "$data" --listen 127.0.0.1:0 \
        --port-file "$WORK/port" --release-pub "$WORK/rel.pub" ${OTAD_EXTRA_ARGS:-} "$@" \
        >>"$WORK/otad.out" 2>>"$WORK/otad.err" &
    OTAD_PID=$!
    local i
    for i in $(seq 1 100); do
        [ -s "$WORK/port" ] && break
        kill -0 "$OTAD_PID" 2>/dev/null || break
        sleep 0.05
    done
    PORT=$(cat "$WORK/port" 2>/dev/null)
    BASE="http://127.0.0.1:$PORT"
    [ -n "$PORT" ]
}

stop_otad() {   # SIGTERM, wait; echo the exit status
    local rc=0
    kill -TERM "$OTAD_PID" 2>/dev/null
    wait "$OTAD_PID" 2>/dev/null || rc=$?
    OTAD_PID=
    return $rc
}

# code METHOD URL [curl args...]: prints the HTTP status
code() {
    local m="$1" u="$2"; shift 2
    curl -s -o "$WORK/body" -w '%{http_code}' --max-time 10 -X "$m" "$@" "$BASE$u"
}
body() { cat "$WORK/body"; }
admin() { local m="$1" u="$2"; shift 2; code "$m" "$u" -H "Authorization: Bearer $TOKEN" "$@"; }

# Make a release key and releases.  Uses the real CLI (otasign) when it is
# built and works, else the test helper; both write the format of FORMAT.md.
USE_CLI=0
make_key() {
    if [ -x "$OTA_BIN/otasign" ] && "$OTA_BIN/otasign" keygen --out "$WORK/rel" >/dev/null 2>&1 \
        && [ -f "$WORK/rel.pub" ]; then
        USE_CLI=1
    else
        "$OTA_BIN/otad-testsign" keygen "$WORK/rel"
    fi
}

# make_release APP SEQ LABEL SOURCE_FILE [OUT_DIR]: prints "STATEMENT_FILE BUNDLE_FILE"
make_release() {
    local app="$1" seq="$2" label="$3" src="$4" dir="${5:-$WORK/rels}"
    mkdir -p "$dir"
    if [ "$USE_CLI" = 1 ]; then
        if "$OTA_BIN/otasign" release "$src" --key "$WORK/rel.key" --app "$app" --seq "$seq" \
            --label "$label" --out "$dir" >/dev/null 2>&1 && [ -f "$dir/$app-$seq/statement.bin" ]; then
            echo "$dir/$app-$seq/statement.bin $dir/$app-$seq/bundle.js"
            return
        fi
        echo "otasign release failed; using the test helper" >&2
    fi
    mkdir -p "$dir/$app-$seq"
    cp "$src" "$dir/$app-$seq/bundle.js"
    "$OTA_BIN/otad-testsign" release "$WORK/rel.seed" "$dir/$app-$seq/bundle.js" "$app" "$seq" \
        "$dir/$app-$seq/statement.bin" "$label"
    echo "$dir/$app-$seq/statement.bin $dir/$app-$seq/bundle.js"
}

# upload STATEMENT BUNDLE: prints the status of POST /admin/releases
upload() {
    printf '{"statement":"%s","bundle":"%s"}' "$(base64 -w0 "$1")" "$(base64 -w0 "$2")" >"$WORK/upload.json"
    admin POST /admin/releases --data-binary @"$WORK/upload.json" -H 'Content-Type: application/json'
}

NONCE=00112233445566778899aabbccddeeff
poll() {  # poll DEVICE APP SEQ [NONCE]: prints the status
    code GET "/manifest/$1?app=$2&seq=$3&nonce=${4:-$NONCE}"
}
# hexof < bytes: lower-case hex, one line (od is in coreutils; xxd may be missing)
hexof() { od -An -v -tx1 | tr -d ' \n'; }

# jq_ EXPR < json: evaluate a JavaScript expression over the parsed JSON `j`.
jq_() {
    node -e "let j; try { j = JSON.parse(require('fs').readFileSync(0, 'utf8')); } catch (e) { console.log('NOT-JSON'); process.exit(0); }
const v = ($1); console.log(typeof v === 'object' ? JSON.stringify(v) : String(v));"
}
