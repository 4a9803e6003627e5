# tests/e2e/lib.sh: shared helpers for otad's end-to-end tests (sourced).
#
# Starts the real otad on 127.0.0.1:0 with a temporary data directory, reads
# back the bound port, and kills it by PID when the test exits.  Counts checks
# and prints the summary line "NAME: N passed, N failed" at the end.

WORK_PREFIX=otad-e2e
source "$(dirname "${BASH_SOURCE[0]}")/../lib/base.sh"

# start_otad DATA_DIR [extra otad args...]: sets OTAD_PID, PORT, BASE.
start_otad() { otad_launch "$@"; }

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

# ---- reports (wire format v2, manifests/FORMAT.md section 6a) ----------------
# dev_secret DEV: registers DEV once (POST /admin/devices) and prints its
# secret (nothing when DEV is not a valid id or was registered elsewhere).
dev_secret() {
    local f="$WORK/dev-secrets/$1"
    mkdir -p "$WORK/dev-secrets"
    if [ ! -e "$f" ]; then
        curl -s --max-time 10 -H "Authorization: Bearer $TOKEN" --data-binary "{\"id\":\"$1\"}" \
            "$BASE/admin/devices" 2>/dev/null | sed -n 's/.*"secret":"\([0-9a-f]*\)".*/\1/p' >"$f"
    fi
    cat "$f"
}
# report_mac SECRET DEV FILE: X-OTA-MAC of the body in FILE
report_mac() { "$OTA_BIN/otad-testsign" hmac "$1" "$3" "OTAR$2"$'\n'; }
# next_ctr DEV: the next report counter of DEV (kept in $WORK/dev-ctr/DEV)
next_ctr() {
    local f="$WORK/dev-ctr/$1" c=0
    mkdir -p "$WORK/dev-ctr"
    [ -s "$f" ] && c=$(cat "$f")
    c=$((c + 1)); echo "$c" >"$f"; echo "$c"
}
# rep DEV BODY [curl args]: POST BODY to /report/DEV as DEV would, prints the
# status.  A JSON object without "ctr" gets "code":0 (when absent) and the
# next counter appended; the body is MAC'd with DEV's secret (registered on
# first use), whatever it holds.
rep() {
    local d="$1" b="$2" s f="$WORK/rep-$1.json"; shift 2
    case "$b" in
        '{'*'}') case "$b" in *'"ctr"'*) ;; *)
            case "$b" in *'"code"'*) ;; *) b="${b%\}},\"code\":0}" ;; esac
            b="${b%\}},\"ctr\":$(next_ctr "$d")}" ;; esac ;;
    esac
    printf '%s' "$b" >"$f"
    s=$(dev_secret "$d")
    if [ -n "$s" ]; then
        code POST "/report/$d" -H 'Content-Type: application/json' -H "X-OTA-MAC: $(report_mac "$s" "$d" "$f")" \
            --data-binary @"$f" "$@"
    else
        code POST "/report/$d" -H 'Content-Type: application/json' --data-binary @"$f" "$@"
    fi
}
