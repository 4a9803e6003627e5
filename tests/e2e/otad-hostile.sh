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
N_REPORTS=$(sqlite3 "$D/otad.db" "SELECT count(*) FROM reports")
expect_eq "one report stored (the genuine one)" 1 "$N_REPORTS"
expect_eq "real-1's counter is the genuine one's" 5 "$(sqlite3 "$D/otad.db" "SELECT report_ctr FROM devices WHERE id='real-1'")"
expect_eq "no invented device rows" 0 "$(sqlite3 "$D/otad.db" "SELECT count(*) FROM devices WHERE id LIKE 'inv-%'")"

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
OTAD_ADMIN_TOKEN=$TOKEN timeout 10 "$OTA_BIN/otad" --data "$D" --listen 127.0.0.1:0 \
    --release-pub "$WORK/rel.pub" >/dev/null 2>"$WORK/nokey.err"
expect_eq "secrets.key missing, secrets in the db: refuses to start" 1 "$?"
expect_has "and says why" "secrets.key is missing" "$(cat "$WORK/nokey.err")"
check "no new secrets.key made" test ! -e "$D/secrets.key"
head -c 32 /dev/urandom >"$D/secrets.key"
OTAD_ADMIN_TOKEN=$TOKEN timeout 10 "$OTA_BIN/otad" --data "$D" --listen 127.0.0.1:0 \
    --release-pub "$WORK/rel.pub" >/dev/null 2>"$WORK/wrongkey.err"
expect_eq "a different secrets.key: refuses to start" 1 "$?"
expect_has "and says why" "does not decrypt" "$(cat "$WORK/wrongkey.err")"
mv "$WORK/secrets.key.saved" "$D/secrets.key"
OTAD_ADMIN_TOKEN=$TOKEN timeout 10 "$OTA_BIN/otad" --data "$WORK/fresh" --listen 127.0.0.1:0 \
    --release-pub "$WORK/rel.pub" --port-file "$WORK/fresh.port" >/dev/null 2>&1 &
FRESH=$!
for i in $(seq 1 100); do [ -s "$WORK/fresh.port" ] && break; sleep 0.05; done
check "a fresh data dir makes its secrets.key" test -s "$WORK/fresh/secrets.key"
check "secrets.key is 0600" test "$(stat -c %a "$WORK/fresh/secrets.key" 2>/dev/null)" = 600
kill "$FRESH" 2>/dev/null; wait "$FRESH" 2>/dev/null
start_otad "$D" --poll-interval 60
check "with its secrets.key back, otad starts" test -n "$PORT"

done_tests
