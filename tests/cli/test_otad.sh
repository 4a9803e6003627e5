#!/usr/bin/env bash
# otasign against the real otad: releases made by `otasign release` are
# accepted by the server's upload check, and the manifest the server sends
# passes `otasign verify --manifest` (common/'s device decision) for the
# device and nonce that polled, and fails for any other.  Skipped (0 checks)
# when otad is not built.
set -uo pipefail
ROOT="${OTA_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}"
BIN="${OTA_BIN:-$ROOT/build/bin}"
case "$BIN" in /*) ;; *) BIN="$ROOT/$BIN" ;; esac
O="$BIN/otasign"
pass=0; fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
if [ ! -x "$BIN/otad" ] || ! command -v curl >/dev/null; then
  echo "otad or curl not available: skipped"
  echo "test_otad: 0 passed, 0 failed"
  exit 0
fi
T=$(mktemp -d); PID=
cleanup() { [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; [ "${OTA_STORE:-}" = pg ] && pg_stop; rm -rf "$T"; }
trap cleanup EXIT
# OTA_STORE=pg: the same checks with otad's state in a private PostgreSQL.
STORE_ARGS=(); NAME=test_otad
if [ "${OTA_STORE:-}" = pg ]; then
  NAME=test_otad-pg
  source "$ROOT/tests/lib/pg.sh"
  if ! pg_start; then echo "$NAME: 0 passed, 0 failed, 1 skipped"; exit 0; fi
  pg_db otad || { echo "cannot create the database"; echo "$NAME: 0 passed, 1 failed"; exit 1; }
  STORE_ARGS=(--store "$(pg_url otad)")
fi
cd "$T"
TOKEN=cli-test-admin-token-0123456789

"$O" keygen --out rel >/dev/null || bad "keygen"
printf 'var n = 0;\nsetInterval(function () { n++; digitalWrite(LED1, n & 1); }, 500);\n' > v1.js
printf 'var n = 0;\nsetInterval(function () { n++; digitalWrite(LED2, n & 1); }, 250);\n' > v2.js
"$O" release v1.js --key rel.key --app demo --board pico --label one --out rels >/dev/null || bad "release 1"
"$O" release v2.js --key rel.key --app demo --board pico --label two --out rels >/dev/null || bad "release 2"

OTAD_ADMIN_TOKEN=$TOKEN "$BIN/otad" --data data "${STORE_ARGS[@]}" --listen 127.0.0.1:0 --port-file port \
  --release-pub rel.pub --quiet --poll-interval 600 >otad.out 2>otad.err &
PID=$!
for i in $(seq 100); do [ -s port ] && break; kill -0 $PID 2>/dev/null || break; sleep 0.05; done
BASE="http://127.0.0.1:$(cat port 2>/dev/null)"
[ -s port ] && ok || { bad "otad did not start: $(cat otad.err)"; echo "$NAME: $pass passed, $fail failed"; exit 1; }

admin() { local m=$1 u=$2; shift 2; curl -s -o body -w '%{http_code}' --max-time 10 -X "$m" -H "Authorization: Bearer $TOKEN" "$@" "$BASE$u"; }
upload() {
  printf '{"statement":"%s","bundle":"%s"}' "$(base64 -w0 "$1/statement.bin")" "$(base64 -w0 "$1/bundle.js")" > up.json
  admin POST /admin/releases --data-binary @up.json -H 'Content-Type: application/json'
}
[ "$(upload rels/demo-1)" = 201 ] && ok || bad "upload demo-1: $(cat body)"
[ "$(upload rels/demo-2)" = 201 ] && ok || bad "upload demo-2: $(cat body)"
# A release signed by a key otad does not trust is refused.
"$O" keygen --out evil >/dev/null
"$O" release v2.js --key evil.key --app demo --seq 9 --out evilrels >/dev/null
c=$(upload evilrels/demo-9); [ "$c" -ge 400 ] && ok || bad "untrusted release accepted ($c)"
[ "$(admin POST /admin/rollouts --data-binary '{"app":"demo","seq":2,"percent":100}')" = 201 ] && ok || bad "rollout: $(cat body)"

SERVER_PUB=data/server.pub
NONCE=0f1e2d3c4b5a69788796a5b4c3d2e1f0
c=$(curl -s -o m.json -w '%{http_code}' "$BASE/manifest/dev-7?app=demo&seq=0&nonce=$NONCE")
[ "$c" = 200 ] && ok || bad "manifest: $c $(cat m.json)"
url=$(node -e 'console.log(JSON.parse(require("fs").readFileSync("m.json")).url)')
curl -s -o got.js "$BASE$url" && ok || bad "bundle download"
V=(--manifest m.json --pub rel.pub --server-pub "$SERVER_PUB" --app demo --board pico --running 0)
out=$("$O" verify "${V[@]}" --device dev-7 --nonce $NONCE --bundle got.js 2>&1) && ok || bad "verify server manifest: $out"
grep -q "offer accepted" <<<"$out" && ok || bad "no acceptance line: $out"
cmp -s got.js rels/demo-2/bundle.js && ok || bad "served bundle differs from the release"
out=$("$O" verify "${V[@]}" --device dev-8 --nonce $NONCE 2>&1); [ $? = 1 ] && grep -q OTA_ERR_WRONG_DEVICE <<<"$out" && ok || bad "other device: $out"
out=$("$O" verify "${V[@]}" --device dev-7 --nonce ${NONCE/0f/ff} 2>&1); [ $? = 1 ] && grep -q OTA_ERR_STALE_NONCE <<<"$out" && ok || bad "other nonce: $out"
out=$("$O" verify "${V[@]}" --device dev-7 --nonce $NONCE --running 2 2>&1); [ $? = 1 ] && grep -q OTA_ERR_NOT_NEWER <<<"$out" && ok || bad "running 2: $out"
out=$("$O" verify --manifest m.json --pub evil.pub --server-pub "$SERVER_PUB" --app demo --device dev-7 --nonce $NONCE 2>&1); [ $? = 1 ] && grep -q OTA_ERR_UNKNOWN_KEY <<<"$out" && ok || bad "untrusted release key: $out"
out=$("$O" verify "${V[@]}" --device dev-7 --nonce $NONCE --bundle rels/demo-1/bundle.js 2>&1); rc=$?
[ $rc = 1 ] && grep -qE "OTA_ERR_(HASH_MISMATCH|TRUNCATED|TOO_LONG)" <<<"$out" && ok || bad "other bundle: $out"
# A second poll with a fresh nonce gets a fresh ticket for the same statement.
N2=00112233445566778899aabbccddeeff00112233
curl -s -o m2.json "$BASE/manifest/dev-7?app=demo&seq=0&nonce=$N2"
out=$("$O" verify --manifest m2.json --pub rel.pub --server-pub "$SERVER_PUB" --device dev-7 --nonce $N2 --app demo --board pico 2>&1) && ok || bad "20-byte nonce: $out"
out=$("$O" verify --manifest m2.json --pub rel.pub --server-pub "$SERVER_PUB" --device dev-7 --nonce $NONCE --app demo --board pico 2>&1); [ $? = 1 ] && ok || bad "replayed manifest accepted with the old nonce: $out"
# Already on the target: 204.
c=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/manifest/dev-7?app=demo&seq=2&nonce=$NONCE")
[ "$c" = 204 ] && ok || bad "on target: $c"

echo "$NAME: $pass passed, $fail failed"
[ $fail = 0 ]
