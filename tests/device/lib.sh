# tests/device/lib.sh: helpers for otadev's end-to-end tests (sourced).
#
# Makes a release key with the real otasign, starts the real otad on
# 127.0.0.1:0 with a temporary data directory (killed by PID on exit),
# publishes releases through the admin API, provisions simulated devices
# with otadev and runs them.  Counts checks; done_tests prints the summary
# line "NAME: N passed, N failed".
WORK_PREFIX=otadev-e2e
TOKEN=device-e2e-admin-token-0123456789
source "$(dirname "${BASH_SOURCE[0]}")/../lib/base.sh"
APP=logger

# keys: the release key pair (otasign keygen)
make_keys() {
    "$OTA_BIN/otasign" keygen --out "$WORK/rel" >/dev/null 2>&1 || { bad "otasign keygen"; return 1; }
    "$OTA_BIN/otasign" keygen --out "$WORK/other" >/dev/null 2>&1 || { bad "otasign keygen (other)"; return 1; }
}

start_otad() {
    otad_launch "$WORK/data" --quiet --poll-interval 60 "$@" ||
        { bad "otad did not start: $(cat "$WORK/otad.err")"; return 1; }
    SERVER_PUB=$(cat "$WORK/data/server.pub" 2>/dev/null | tr -d '\n')
    [ ${#SERVER_PUB} = 64 ] || SERVER_PUB=$(curl -s "$BASE/healthz" | sed -n 's/.*"server_key":"\([0-9a-f]*\)".*/\1/p')
}

# admin METHOD PATH [JSON]: prints the body; status in $WORK/status
admin() {
    local m="$1" p="$2" d="${3:-}"
    if [ -n "$d" ]; then
        curl -s -o "$WORK/abody" -w '%{http_code}' --max-time 20 -X "$m" -H "Authorization: Bearer $TOKEN" \
            -H 'Content-Type: application/json' --data-binary "$d" "$BASE$p" >"$WORK/status"
    else
        curl -s -o "$WORK/abody" -w '%{http_code}' --max-time 20 -X "$m" -H "Authorization: Bearer $TOKEN" \
            "$BASE$p" >"$WORK/status"
    fi
    cat "$WORK/abody"
}

# release SEQ BODY [KEYNAME]: write app.js with BODY, sign release SEQ into $WORK/rel-out
# (encoding identity unless $ENCODING says otherwise: the resume and tamper
# cases count transferred bytes of the program itself)
release() {
    local seq="$1" text="$2" key="${3:-rel}"
    mkdir -p "$WORK/src" "$WORK/out-$key"
    printf '%s\n' "$text" >"$WORK/src/app-$seq.js"
    "$OTA_BIN/otasign" release "$WORK/src/app-$seq.js" --key "$WORK/$key.key" --app "$APP" --seq "$seq" \
        --label "v$seq" --out "$WORK/out-$key" --no-minify --encoding "${ENCODING:-identity}" \
        >/dev/null 2>"$WORK/release.err" \
        || { bad "otasign release $seq: $(cat "$WORK/release.err")"; return 1; }
    RDIR="$WORK/out-$key/$APP-$seq"
}

# publish DIR: POST the statement and bundle to otad
publish() {
    local dir="$1"
    local st bu
    st=$(base64 -w0 <"$dir/statement.bin")
    bu=$(base64 -w0 <"$dir/bundle.js")
    admin POST /admin/releases "{\"statement\":\"$st\",\"bundle\":\"$bu\"}" >/dev/null
    local s; s=$(cat "$WORK/status")
    [ "$s" = 200 ] || [ "$s" = 201 ] || { bad "publish $dir: HTTP $s $(cat "$WORK/abody")"; return 1; }
}

# rollout JSON: create a rollout, replacing the app's current one (otad
# refuses to replace an active or paused rollout without "replace": true)
rollout() {
    local j="$1"
    case "$j" in *'"replace"'*) ;; *) j="${j%\}},\"replace\":true}" ;; esac
    admin POST /admin/rollouts "$j" >/dev/null
    local s; s=$(cat "$WORK/status")
    [ "$s" = 200 ] || [ "$s" = 201 ] || { bad "rollout $1: HTTP $s $(cat "$WORK/abody")"; return 1; }
}

# provision DEV: a flash with the golden program and v1 confirmed
provision() {
    local dev="$1"; shift
    printf '// golden: bring the network up and poll\nsetInterval(poll, 3600e3);\n' >"$WORK/golden.js"
    "$OTA_BIN/otadev" provision --flash "$WORK/$dev.flash" --golden "$WORK/golden.js" \
        --program "$WORK/out-rel/$APP-1/bundle.js" --seq 1 --force "$@" >/dev/null \
        || { bad "provision $dev"; return 1; }
}

# secret_for DEV: registers DEV with otad once (POST /admin/devices: every
# device has a secret and MACs its reports, report wire format v2) and
# prints its secret; prints nothing when DEV was registered elsewhere.
secret_for() {
    local d="$1" f="$WORK/secrets/$1"
    mkdir -p "$WORK/secrets"
    if [ ! -e "$f" ]; then
        curl -s --max-time 20 -H "Authorization: Bearer $TOKEN" --data-binary "{\"id\":\"$d\"}" \
            "$BASE/admin/devices" | sed -n 's/.*"secret":"\([0-9a-f]*\)".*/\1/p' >"$f"
    fi
    cat "$f"
}
# secret_args DEV: "--secret HEX" for DEV (nothing when unknown)
secret_args() { local s; s=$(secret_for "$1"); [ -n "$s" ] && echo "--secret $s"; }

# dev DEV [otadev run args...]: one run (boot + poll); output in $WORK/DEV.log
dev() {
    local d="$1"; shift
    # shellcheck disable=SC2046
    "$OTA_BIN/otadev" run --flash "$WORK/$d.flash" --server "$BASE" --id "$d" --app "$APP" \
        --release-pub "$WORK/rel.pub" --server-pub "$SERVER_PUB" --interval 0 $(secret_args "$d") "$@" \
        >"$WORK/$d.log" 2>&1
    local rc=$?
    cat "$WORK/$d.log" >>"$WORK/all.log"
    return $rc
}

status() { "$OTA_BIN/otadev" status --flash "$WORK/$1.flash"; }
field() { sed -n "s/.*\"$2\":\"\\{0,1\\}\\([^,\"}]*\\).*/\\1/p" <<<"$1"; }
