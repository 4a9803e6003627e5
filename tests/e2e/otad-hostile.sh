#!/usr/bin/env bash
# otad under hostile clients (issue 12), over loopback, against the real otad:
#   1. forged reports: for a real device, for invented ids, replayed, with a
#      bad MAC -- all refused, nothing changes (rollout not paused, device not
#      blocked), also across a restart; secrets.key missing: refuse to start
#   2. strict input: NUL in a path or query value, strict report JSON,
#      bodies where none belong, chunked bodies, every answer JSON
#   3. SO_REUSEADDR: immediate restart on the same port after
#      Connection: close traffic (prints the restart time)
# The load figures (memory under unauthenticated uploads, polls under slow
# connections) are in otad-hostile-load.sh.
T_NAME=otad-hostile
. "$(dirname "$0")/lib.sh"

make_key
D="$WORK/data"
start_otad "$D" --poll-interval 60
check "otad starts" test -n "$PORT"

printf 'var n=1;\n' >"$WORK/app1.js"
printf 'var n=2;\n' >"$WORK/app2.js"
read -r S1 B1 < <(make_release demo 1 "first" "$WORK/app1.js")
read -r S2 B2 < <(make_release demo 2 "second" "$WORK/app2.js")
expect_eq "upload v1" 201 "$(upload "$S1" "$B1")"
expect_eq "upload v2" 201 "$(upload "$S2" "$B2")"
# a rollout that pauses at the first failure (min_reports 1, threshold 0)
expect_eq "rollout v2, pause on any failure" 201 \
    "$(admin POST /admin/rollouts --data-binary '{"app":"demo","seq":2,"percent":100,"error_threshold":0,"min_reports":1}')"
expect_eq "register real-1" 201 "$(admin POST /admin/devices --data-binary '{"id":"real-1","secret":false}')"
SECRET=$(body | jq_ j.secret)
check "every device gets a secret, even when asked for none" test "${#SECRET}" = 64
mkdir -p "$WORK/dev-secrets"; echo "$SECRET" >"$WORK/dev-secrets/real-1"
expect_eq "real-1 is offered v2" 200 "$(poll real-1 demo 1)"
check "the offer carries a MAC" test "$(body | jq_ 'j.mac.length')" = 64

# state that a forged report would change: what otad says about the rollout
# and the device, and what real-1 is offered
snapshot() {
    admin GET /admin/rollouts/demo >/dev/null
    body | jq_ '[j.current.state, j.current.percent, JSON.stringify(j.current.reason || "")].join(" ")'
    admin GET /admin/devices/real-1 >/dev/null
    body | jq_ '[j.report_count, JSON.stringify(j.releases)].join(" ")'
    poll real-1 demo 1
    curl -s "$BASE/metrics" | grep -c '^otad_rollouts_auto_paused_total 0$'
}
BEFORE=$(snapshot)
expect_has "before: rollout active" "active 100" "$BEFORE"
forge() {   # forge WHAT DEV BODY [curl args]: prints the status
    local d="$2" b="$3"; shift 3
    printf '%s' "$b" >"$WORK/forged.json"
    code POST "/report/$d" -H 'Content-Type: application/json' --data-binary @"$WORK/forged.json" "$@"
}
BLOCKING='{"app":"demo","seq":2,"state":"rejected","code":20,"ctr":1000,"detail":"bad signature"}'
ROLLED='{"app":"demo","seq":2,"state":"rolled_back","code":80,"ctr":1,"detail":"threw"}'
expect_eq "forged report for a real device, no MAC: 401" 401 "$(forge a real-1 "$BLOCKING")"
expect_eq "401 is JSON: bad_mac" bad_mac "$(body | jq_ j.error)"
expect_eq "forged report, MAC of zeros: 401" 401 "$(forge a real-1 "$BLOCKING" -H "X-OTA-MAC: $(printf '0%.0s' $(seq 64))")"
printf '%s' "$BLOCKING" >"$WORK/v1.json"
UP=$(report_mac "$SECRET" real-1 "$WORK/v1.json" | tr a-f A-F)
check "upper-case MAC made" test "${#UP}" = 64
expect_eq "forged report, right MAC in upper-case hex: 401" 401 "$(forge a real-1 "$BLOCKING" -H "X-OTA-MAC: $UP")"
# a MAC made without the device id (report format v1) does not verify
V1MAC=$("$OTA_BIN/otad-testsign" hmac "$SECRET" "$WORK/v1.json" OTAR)
expect_eq "v1 MAC (no device id): 401" 401 "$(forge a real-1 "$BLOCKING" -H "X-OTA-MAC: $V1MAC")"
# a MAC for another device id (the URL is bound)
expect_eq "register real-2" 201 "$(admin POST /admin/devices --data-binary '{"id":"real-2"}')"
echo "$(body | jq_ j.secret)" >"$WORK/dev-secrets/real-2"
expect_eq "real-1's MAC on real-2's URL: 401" 401 \
    "$(forge a real-2 "$BLOCKING" -H "X-OTA-MAC: $(report_mac "$SECRET" real-1 "$WORK/v1.json")")"
for i in 1 2 3 4 5; do
    expect_eq "invented id inv-$i: 401" 401 "$(forge b "inv-$i" "$ROLLED")"
done
expect_eq "401 is JSON: unknown_device" unknown_device "$(body | jq_ j.error)"
# an id otad knows only from its polls is not registered either
expect_eq "poller polls" 204 "$(poll poller-1 demo 2)"
expect_eq "a device known only from polls: 401" 401 "$(forge b poller-1 "$ROLLED")"
# replay: a genuine report, then the same bytes again, then an older counter
G='{"app":"demo","seq":2,"state":"downloading","code":0,"ctr":5,"detail":"starting"}'
printf '%s' "$G" >"$WORK/g.json"
GMAC=$(report_mac "$SECRET" real-1 "$WORK/g.json")
expect_eq "genuine report: 200" 200 "$(forge c real-1 "$G" -H "X-OTA-MAC: $GMAC")"
AFTER_GENUINE=$(snapshot)
expect_eq "replayed report: 409" 409 "$(forge c real-1 "$G" -H "X-OTA-MAC: $GMAC")"
expect_eq "409 is JSON: replay" replay "$(body | jq_ j.error)"
OLD='{"app":"demo","seq":2,"state":"rejected","code":20,"ctr":4,"detail":"bad signature"}'
printf '%s' "$OLD" >"$WORK/old.json"
expect_eq "genuine MAC, older counter: 409" 409 "$(forge c real-1 "$OLD" -H "X-OTA-MAC: $(report_mac "$SECRET" real-1 "$WORK/old.json")")"
SAME='{"app":"demo","seq":2,"state":"rejected","code":20,"ctr":5,"detail":"bad signature"}'
printf '%s' "$SAME" >"$WORK/same.json"
expect_eq "genuine MAC, same counter: 409" 409 "$(forge c real-1 "$SAME" -H "X-OTA-MAC: $(report_mac "$SECRET" real-1 "$WORK/same.json")")"
# malformed but MAC'd: 400, and the counter is not consumed
BADJ='{"app":"demo","seq":2,"state":"rejected","code":20,"ctr":9} trailing'
printf '%s' "$BADJ" >"$WORK/badj.json"
expect_eq "MAC'd but trailing garbage: 400" 400 "$(forge c real-1 "$BADJ" -H "X-OTA-MAC: $(report_mac "$SECRET" real-1 "$WORK/badj.json")")"
expect_eq "nothing changed by the refused reports" "$AFTER_GENUINE" "$(snapshot)"
expect_has "rollout still active" "active 100" "$(snapshot)"
expect_eq "real-1 still offered v2" 200 "$(poll real-1 demo 1)"
N_REPORTS=$(dbq "$D" "SELECT count(*) FROM reports")
expect_eq "one report stored (the genuine one)" 1 "$N_REPORTS"
expect_eq "real-1's counter is the genuine one's" 5 "$(dbq "$D" "SELECT report_ctr FROM devices WHERE id='real-1'")"
expect_eq "no invented device rows" 0 "$(dbq "$D" "SELECT count(*) FROM devices WHERE id LIKE 'inv-%'")"

# ---- across a restart ----------------------------------------------------------
stop_otad; check "otad stops cleanly" test $? = 0
start_otad "$D" --poll-interval 60
check "otad restarts" test -n "$PORT"
expect_eq "after restart: replay still 409" 409 "$(forge c real-1 "$G" -H "X-OTA-MAC: $GMAC")"
expect_eq "after restart: forged still 401" 401 "$(forge a real-1 "$BLOCKING")"
expect_eq "after restart: invented id still 401" 401 "$(forge b inv-1 "$ROLLED")"
expect_eq "after restart: nothing changed" "$AFTER_GENUINE" "$(snapshot)"
NEXT='{"app":"demo","seq":2,"state":"downloaded","code":0,"ctr":6}'
printf '%s' "$NEXT" >"$WORK/next.json"
expect_eq "after restart: the device's next report: 200" 200 "$(forge c real-1 "$NEXT" -H "X-OTA-MAC: $(report_mac "$SECRET" real-1 "$WORK/next.json")")"

# ---- secrets.key: never made anew while secrets exist ------------------------
stop_otad
mv "$D/secrets.key" "$WORK/secrets.key.saved"
OTAD_ADMIN_TOKEN=$TOKEN timeout 10 "$OTA_BIN/otad" --data "$D" $(store_args "$D") --listen 127.0.0.1:0 \
    --release-pub "$WORK/rel.pub" >/dev/null 2>"$WORK/nokey.err"
expect_eq "secrets.key missing, secrets in the db: refuses to start" 1 "$?"
expect_has "and says why" "secrets.key is missing" "$(cat "$WORK/nokey.err")"
check "no new secrets.key made" test ! -e "$D/secrets.key"
head -c 32 /dev/urandom >"$D/secrets.key"
OTAD_ADMIN_TOKEN=$TOKEN timeout 10 "$OTA_BIN/otad" --data "$D" $(store_args "$D") --listen 127.0.0.1:0 \
    --release-pub "$WORK/rel.pub" >/dev/null 2>"$WORK/wrongkey.err"
expect_eq "a different secrets.key: refuses to start" 1 "$?"
expect_has "and says why" "does not decrypt" "$(cat "$WORK/wrongkey.err")"
mv "$WORK/secrets.key.saved" "$D/secrets.key"
OTAD_ADMIN_TOKEN=$TOKEN timeout 10 "$OTA_BIN/otad" --data "$WORK/fresh" $(store_args "$WORK/fresh") --listen 127.0.0.1:0 \
    --release-pub "$WORK/rel.pub" --port-file "$WORK/fresh.port" >/dev/null 2>&1 &
FRESH=$!
for i in $(seq 1 100); do [ -s "$WORK/fresh.port" ] && break; sleep 0.05; done
check "a fresh data dir makes its secrets.key" test -s "$WORK/fresh/secrets.key"
check "secrets.key is 0600" test "$(stat -c %a "$WORK/fresh/secrets.key" 2>/dev/null)" = 600
kill "$FRESH" 2>/dev/null; wait "$FRESH" 2>/dev/null
start_otad "$D" --poll-interval 60
check "with its secrets.key back, otad starts" test -n "$PORT"

# ---- strict input: every client error is a JSON 4xx ---------------------------
expect_eq "NUL in the path: 400" 400 "$(code GET "/manifest/dev1%00evil?app=demo&seq=0&nonce=$NONCE")"
expect_eq "NUL answer is JSON" bad_request "$(body | jq_ j.error)"
expect_eq "NUL after a valid nonce: 400" 400 "$(code GET "/manifest/dev1?app=demo&seq=0&nonce=${NONCE}%00zz")"
expect_eq "NUL in the app: 400" 400 "$(code GET "/manifest/dev1?app=demo%00x&seq=0&nonce=$NONCE")"
expect_eq "NUL in a bundle hash: 400" 400 "$(code GET "/bundle/%00$(printf 'a%.0s' $(seq 61))")"
expect_eq "NUL in an unknown query key's value: 400" 400 "$(code GET "/healthz?x=%00")"
expect_eq "a %01 is decoded and refused by the id rule: 400" 400 "$(code GET "/manifest/dev1%01?app=demo&seq=0&nonce=$NONCE")"
expect_eq "the same poll without NUL: 204" 204 "$(poll dev1 demo 2)"
expect_eq "GET with a body: 400 JSON" 400 "$(code GET /healthz --data-binary 'hello')"
expect_eq "GET with a body: answer is JSON" bad_request "$(body | jq_ j.error)"
head -c 5000 /dev/zero | tr '\0' ' ' >"$WORK/big.json"
expect_eq "chunked report body over the limit: 411 JSON" 411 \
    "$(code POST /report/real-1 -H 'Transfer-Encoding: chunked' --data-binary @"$WORK/big.json")"
expect_eq "chunked answer is JSON" length_required "$(body | jq_ j.error)"
expect_eq "chunked admin body: 411" 411 "$(admin POST /admin/releases -H 'Transfer-Encoding: chunked' --data-binary @"$WORK/big.json")"
expect_eq "report over 768 bytes: 413 JSON" 413 "$(rep real-2 "{\"app\":\"demo\",\"seq\":2,\"state\":\"failed\",\"detail\":\"$(printf 'x%.0s' $(seq 800))\"}")"
expect_eq "POST to a GET route: 405 before its body" 405 "$(code POST /healthz --data-binary @"$WORK/big.json")"
# strict report JSON (each MAC'd, so only the parser refuses it)
strict() { expect_eq "report: $1" 400 "$(rep real-2 "$2")"; expect_eq "report: $1: JSON" bad_report "$(body | jq_ j.error)"; }
strict "trailing bytes" '{"app":"demo","seq":2,"state":"trial","code":0,"ctr":50}x'
strict "two objects" '{"app":"demo","seq":2,"state":"trial","code":0,"ctr":51}{}'
strict "unknown member" '{"app":"demo","seq":2,"state":"trial","code":0,"ctr":52,"n":1}'
strict "duplicate member" '{"app":"demo","seq":2,"seq":3,"state":"trial","code":0,"ctr":53}'
strict "missing ctr" '{"app":"demo","seq":2,"state":"trial","code":0,"ctr":0}'
strict "ctr as a string" '{"app":"demo","seq":2,"state":"trial","code":0,"ctr":"54"}'
strict "ctr above 2^53-1" '{"app":"demo","seq":2,"state":"trial","code":0,"ctr":9007199254740992}'
strict "ctr with exponent" '{"app":"demo","seq":2,"state":"trial","code":0,"ctr":1e3}'
strict "negative code" '{"app":"demo","seq":2,"state":"trial","code":-1,"ctr":55}'
strict "seq with a leading zero" '{"app":"demo","seq":02,"state":"trial","code":0,"ctr":56}'
strict "detail over 200 bytes" "{\"app\":\"demo\",\"seq\":2,\"state\":\"failed\",\"code\":0,\"ctr\":57,\"detail\":\"$(printf 'y%.0s' $(seq 201))\"}"
strict "detail with a NUL escape" '{"app":"demo","seq":2,"state":"failed","code":0,"ctr":58,"detail":"a\u0000b"}'
strict "detail with a lone surrogate" '{"app":"demo","seq":2,"state":"failed","code":0,"ctr":59,"detail":"\ud800"}'
strict "invalid UTF-8 in detail" "$(printf '{"app":"demo","seq":2,"state":"failed","code":0,"ctr":60,"detail":"\xff\xfe"}')"
strict "overlong UTF-8 in detail" "$(printf '{"app":"demo","seq":2,"state":"failed","code":0,"ctr":61,"detail":"\xc0\xaf"}')"
strict "not an object" '[1]'
expect_eq "report: 200 bytes of UTF-8 detail, escapes and all: 200" 200 \
    "$(rep real-2 "{\"app\":\"demo\",\"seq\":2,\"state\":\"failed\",\"code\":80,\"ctr\":70,\"detail\":\"$(printf '\xc3\xa9%.0s' $(seq 99))\\u00e9\"}")"
admin GET /admin/devices/real-2 >/dev/null
expect_eq "stored detail reads back as strict JSON" 200 "$(body | jq_ 'Buffer.byteLength(j.reports[0].detail)')"
expect_eq "an unauthenticated 16 MB upload gets its 401 (curl, no Expect)" 401 \
    "$(head -c 16777216 /dev/zero | code POST /admin/releases -H 'Expect:' --data-binary @-)"
# Answered on its headers, with 16 MB still coming: otad closes such a
# connection lingering (http.c), so the client reads its 401 instead of a
# reset.  Eight at a time, three rounds (before the lingering close about
# one in four of these failed with a send error, status 000).
head -c 16777216 /dev/zero >"$WORK/z16"
for r in 1 2 3; do
    pids=()
    for i in 1 2 3 4 5 6 7 8; do
        curl -s -o /dev/null -w '%{http_code}\n' --max-time 20 -X POST "$BASE/admin/releases" \
            -H 'Expect:' --data-binary @"$WORK/z16" &
        pids+=($!)
    done
    wait "${pids[@]}"   # not a bare wait: otad is a child of this shell too
done >"$WORK/z16.codes"
rm -f "$WORK/z16"
expect_eq "24 unauthenticated 16 MB uploads, 8 at a time: every one reads its 401" "24 401" \
    "$(sort "$WORK/z16.codes" | uniq -c | awk '{print $1, $2}' | paste -sd' ')"
check "those connections were closed lingering (metric)" \
    test "$(curl -s "$BASE/metrics" | awk '$1 == "otad_connections_lingered_total" {print $2}')" -ge 24

# ---- immediate restart on the same port after Connection: close traffic -----
for i in $(seq 1 200); do printf 'url = "%s/healthz"\nheader = "Connection: close"\noutput = "/dev/null"\nnext\n' "$BASE"; done | sed '$d' >"$WORK/close.cfg"
curl -s -K "$WORK/close.cfg" >/dev/null
TW=$(ss -tan state time-wait "( sport = :$PORT )" 2>/dev/null | tail -n +2 | wc -l)
echo "connections in TIME_WAIT on port $PORT before the restart: $TW"
check "the server side holds TIME_WAIT connections (the case SO_REUSEADDR is for)" test "$TW" -gt 0
OLDPORT=$PORT
T0=$(date +%s%N)
stop_otad
rm -f "$WORK/port"
OTAD_ADMIN_TOKEN=$TOKEN "$OTA_BIN/otad" --data "$D" $(store_args "$D") --listen "127.0.0.1:$OLDPORT" --port-file "$WORK/port" \
    --release-pub "$WORK/rel.pub" >>"$WORK/otad.out" 2>>"$WORK/otad.err" &
OTAD_PID=$!
for i in $(seq 1 400); do [ -s "$WORK/port" ] && break; kill -0 "$OTAD_PID" 2>/dev/null || break; sleep 0.01; done
T1=$(date +%s%N)
check "restarted on the same port at once" test "$(cat "$WORK/port" 2>/dev/null)" = "$OLDPORT"
echo "restart on the same port (SIGTERM, exit, start, listening): $(( (T1 - T0) / 1000000 )) ms"
expect_eq "and serving" 200 "$(code GET /healthz)"
expect_eq "a second otad on the same port still fails (no silent sharing)" 1 \
    "$(OTAD_ADMIN_TOKEN=$TOKEN timeout 10 "$OTA_BIN/otad" --data "$WORK/y" $(store_args "$WORK/y") --listen "127.0.0.1:$OLDPORT" --release-pub "$WORK/rel.pub" >/dev/null 2>&1; echo $?)"

# ---- connection limits: an answer, never silence ---------------------------------
stop_otad
start_otad "$D" --max-per-ip 2 --max-connections 4 --header-timeout 30 --request-timeout 31 --idle-timeout 30
check "otad with small limits" test -n "$PORT"
exec 5<>"/dev/tcp/127.0.0.1/$PORT" 6<>"/dev/tcp/127.0.0.1/$PORT"
sleep 0.2
expect_eq "third connection from one address: 503" 503 "$(code GET /healthz)"
expect_eq "the 503 is JSON" busy "$(body | jq_ j.error)"
expect_has "and says why" "from this address" "$(body)"
R=$(curl -s -D - -o /dev/null --max-time 5 "$BASE/healthz")
expect_has "with Retry-After" "Retry-After: 30" "$R"
C=$(curl -s -o "$WORK/body" -w '%{http_code}' --max-time 5 --interface 127.0.0.2 "$BASE/healthz")
expect_eq "another address still served under the per-address limit" 200 "$C"
# two held from 127.0.0.1, two more from .4 and .5: the total of 4; a fifth (.6) gets 503
node -e '
const net = require("net"), port = +process.argv[1];
const held = ["127.0.0.4", "127.0.0.5"].map(a => net.connect({ port, host: "127.0.0.1", localAddress: a }));
setTimeout(() => {
  const s = net.connect({ port, host: "127.0.0.1", localAddress: "127.0.0.6" });
  let got = "";
  s.on("data", d => { got += d; });
  s.on("close", () => { console.log(got); process.exit(0); });
  s.on("error", () => {});
  setTimeout(() => { console.log(got || "no answer"); process.exit(0); }, 5000);
}, 300);
' "$PORT" >"$WORK/total.out" 2>&1
expect_has "over the total limit: 503 JSON at once" "503 Service Unavailable" "$(cat "$WORK/total.out")"
expect_has "over the total limit: says why" "too many connections; retry later" "$(cat "$WORK/total.out")"
exec 5>&- 6>&-
sleep 0.3
expect_eq "connections released: served again" 200 "$(code GET /healthz)"
# what libmicrohttpd 0.9.75 still answers itself (HTML, documented in server/README.md)
expect_eq "a URL over the 16 KB connection pool: 414 (libmicrohttpd's own page)" 414 \
    "$(code GET "/manifest/$(head -c 20000 /dev/zero | tr '\0' a)")"

done_tests
