#!/usr/bin/env bash
# otad end to end: every endpoint, the rollout rules, bad input, keep-alive,
# slow clients, restart.  Starts the real otad on 127.0.0.1:0.
T_NAME=otad-api
. "$(dirname "$0")/lib.sh"

make_key
D="$WORK/data"

# ---- command line -------------------------------------------------------------
rc_of() { timeout 10 "$@" >/dev/null 2>&1; echo $?; }   # 124 = it kept running
expect_eq "--help exits 0" 0 "$(rc_of "$OTA_BIN/otad" --help)"
check "--help documents --listen" bash -c "'$OTA_BIN/otad' --help | grep -q -- --listen"
expect_eq "unknown option: usage error" 2 "$(rc_of "$OTA_BIN/otad" --bogus)"
expect_eq "missing --data: usage error" 2 "$(rc_of "$OTA_BIN/otad" --listen 127.0.0.1:0 --release-pub "$WORK/rel.pub")"
expect_eq "bad --listen: usage error" 2 "$(rc_of "$OTA_BIN/otad" --data "$WORK/x" --listen localhost --release-pub "$WORK/rel.pub")"
expect_eq "bad port: usage error" 2 "$(rc_of "$OTA_BIN/otad" --data "$WORK/x" --listen 127.0.0.1:99999 --release-pub "$WORK/rel.pub")"
echo "not a key" >"$WORK/bad.pub"
expect_eq "bad release key file: failure" 1 "$(rc_of "$OTA_BIN/otad" --data "$WORK/x" --listen 127.0.0.1:0 --release-pub "$WORK/bad.pub")"
expect_eq "missing release key file: failure" 1 "$(rc_of "$OTA_BIN/otad" --data "$WORK/x" --listen 127.0.0.1:0 --release-pub "$WORK/none.pub")"
expect_eq "short admin token: failure" 1 "$(OTAD_ADMIN_TOKEN=short rc_of "$OTA_BIN/otad" --data "$WORK/x" --listen 127.0.0.1:0 --release-pub "$WORK/rel.pub")"
start_otad "$D" --idle-timeout 2 --request-timeout 3 --poll-interval 60 --max-per-ip 64
check "otad starts and reports its port" test -n "$PORT"
check "listening line on stdout" grep -q "otad: listening on 127.0.0.1:$PORT" "$WORK/otad.out"
check "server key file is 0600" test "$(stat -c %a "$D/server.key")" = 600

# ---- releases -----------------------------------------------------------------
printf 'var n=0;\nsetInterval(function(){ n++; console.log("log", n); }, 1000);\n' >"$WORK/app1.js"
printf 'var n=0;\nsetInterval(function(){ n++; console.log("log v2", n); }, 2000);\n' >"$WORK/app2.js"
printf 'var n=0;\nsetInterval(function(){ n++; console.log("log v3", n); }, 3000);\n' >"$WORK/app3.js"
read -r S1 B1 < <(make_release demo 1 "first" "$WORK/app1.js")
read -r S2 B2 < <(make_release demo 2 "second" "$WORK/app2.js")
read -r S3 B3 < <(make_release demo 3 "third" "$WORK/app3.js")
echo "releases made with $([ $USE_CLI = 1 ] && echo otasign || echo otad-testsign)"

expect_eq "healthz" 200 "$(code GET /healthz)"
expect_eq "healthz json" ok "$(body | jq_ j.status)"
SERVER_KEY=$(body | jq_ j.server_key)
expect_eq "server.pub matches healthz" "$SERVER_KEY" "$(cat "$D/server.pub")"

# admin auth
expect_eq "admin without token" 401 "$(code GET /admin/releases)"
expect_eq "admin 401 is JSON" unauthorized "$(body | jq_ j.error)"
expect_eq "admin wrong token" 401 "$(code GET /admin/releases -H 'Authorization: Bearer nope-nope-nope-nope')"
expect_eq "admin token prefix" 401 "$(code GET /admin/releases -H "Authorization: Bearer ${TOKEN}x")"
expect_eq "admin basic auth" 401 "$(code GET /admin/releases -H "Authorization: Basic $TOKEN")"

expect_eq "upload v1" 201 "$(upload "$S1" "$B1")"
expect_eq "upload v1 seq" 1 "$(body | jq_ j.seq)"
expect_eq "upload v1 again is idempotent" 200 "$(upload "$S1" "$B1")"
expect_eq "upload v2" 201 "$(upload "$S2" "$B2")"
expect_eq "upload v3" 201 "$(upload "$S3" "$B3")"
check "bundle stored by hash" test -f "$D/bundles/$(sha256sum "$B1" | cut -c1-64)"

# refused uploads
cp "$B1" "$WORK/tampered.js"; printf 'x' >>"$WORK/tampered.js"
expect_eq "bundle not matching statement" 422 "$(upload "$S1" "$WORK/tampered.js")"
expect_has "bundle refusal names the reason" bad_bundle "$(body)"
cp "$S2" "$WORK/flipped.bin"
b=$(od -An -tu1 -j300 -N1 "$WORK/flipped.bin" | tr -d ' ')   # invert: always a change
printf "\\x$(printf %02x $((b ^ 0xff)))" | dd of="$WORK/flipped.bin" bs=1 seek=300 conv=notrunc 2>/dev/null
expect_eq "statement with a flipped signature byte" 422 "$(upload "$WORK/flipped.bin" "$B2")"
expect_has "signature refusal" "signature" "$(body)"
"$OTA_BIN/otad-testsign" keygen "$WORK/other"
"$OTA_BIN/otad-testsign" release "$WORK/other.seed" "$B1" demo 7 "$WORK/otherkey.bin" evil
expect_eq "statement by an untrusted key" 422 "$(upload "$WORK/otherkey.bin" "$B1")"
expect_has "untrusted key refusal" "unknown key" "$(body)"
head -c 200 "$S1" >"$WORK/short.bin"
expect_eq "truncated statement" 422 "$(upload "$WORK/short.bin" "$B1")"
read -r SC BC < <(make_release demo 1 "other" "$WORK/app3.js" "$WORK/rels-conflict")
expect_eq "same app+seq, other statement" 409 "$(upload "$SC" "$BC")"
expect_eq "upload bad json" 400 "$(admin POST /admin/releases --data-binary '{"statement":')"
expect_eq "upload bad json is JSON error" bad_json "$(body | jq_ j.error)"
expect_eq "upload not base64" 400 "$(admin POST /admin/releases --data-binary '{"statement":"@@@@","bundle":"AAAA"}')"
expect_eq "upload array" 400 "$(admin POST /admin/releases --data-binary '[1,2]')"
expect_eq "list releases" 200 "$(admin GET /admin/releases)"
expect_eq "three releases" 3 "$(body | jq_ j.releases.length)"
expect_eq "list releases of an app" 200 "$(admin GET '/admin/releases?app=nope')"
expect_eq "none for another app" 0 "$(body | jq_ j.releases.length)"

# ---- manifest before any rollout -------------------------------------------
expect_eq "no rollout: 204" 204 "$(poll dev1 demo 0)"
expect_eq "unknown app: 204" 204 "$(poll dev1 other 0)"

# ---- rollouts ---------------------------------------------------------------
expect_eq "rollout of an unknown release" 404 "$(admin POST /admin/rollouts --data-binary '{"app":"demo","seq":9}')"
expect_eq "rollout bad percent" 400 "$(admin POST /admin/rollouts --data-binary '{"app":"demo","seq":1,"percent":101}')"
expect_eq "rollout bad allow" 400 "$(admin POST /admin/rollouts --data-binary '{"app":"demo","seq":1,"allow":["a b"]}')"
expect_eq "rollout bad threshold" 400 "$(admin POST /admin/rollouts --data-binary '{"app":"demo","seq":1,"error_threshold":2}')"
expect_eq "rollout missing seq" 400 "$(admin POST /admin/rollouts --data-binary '{"app":"demo"}')"
expect_eq "rollout v1 100%" 201 "$(admin POST /admin/rollouts --data-binary '{"app":"demo","seq":1,"percent":100}')"

# offer
expect_eq "offer to a device on nothing" 200 "$(poll dev1 demo 0)"
M=$(body)
expect_eq "offer app" demo "$(jq_ j.app <<<"$M")"
expect_eq "offer seq" 1 "$(jq_ j.seq <<<"$M")"
expect_eq "offer size" "$(stat -c %s "$B1")" "$(jq_ j.size <<<"$M")"
expect_eq "offer sha256" "$(sha256sum "$B1" | cut -c1-64)" "$(jq_ j.sha256 <<<"$M")"
expect_eq "offer url" "/bundle/$(sha256sum "$B1" | cut -c1-64)" "$(jq_ j.url <<<"$M")"
expect_eq "offer statement is the uploaded one" "$(base64 -w0 "$S1")" "$(jq_ j.statement <<<"$M")"
expect_eq "offer has no mac for a device without secret" undefined "$(jq_ j.mac <<<"$M")"
P=$(jq_ j.poll <<<"$M")
check "poll interval jittered around 60" test "$P" -ge 54 -a "$P" -le 66
jq_ j.ticket <<<"$M" | base64 -d >"$WORK/ticket.bin"
expect_eq "ticket is 216 bytes" 216 "$(stat -c %s "$WORK/ticket.bin")"
expect_eq "ticket magic" OTAT "$(head -c 4 "$WORK/ticket.bin")"
expect_eq "ticket names the device" dev1 "$(dd if="$WORK/ticket.bin" bs=1 skip=16 count=4 2>/dev/null)"
expect_eq "ticket carries the nonce" "$NONCE" "$(dd if="$WORK/ticket.bin" bs=1 skip=48 count=16 2>/dev/null | hexof)"
expect_eq "ticket binds the statement" "$(sha256sum "$S1" | cut -c1-64)" \
    "$(dd if="$WORK/ticket.bin" bs=1 skip=80 count=32 2>/dev/null | hexof)"
# The whole offer through the device's decision (common/, the code devices run).
jq_ j.statement <<<"$M" | base64 -d >"$WORK/stmt.bin"
printf '%s\n' "$(curl -s "$BASE/healthz" | jq_ j.server_key)" >"$WORK/server.pub"
expect_eq "device accepts the offer" accept \
    "$("$OTA_BIN/otad-testsign" decide "$WORK/rel.pub" "$WORK/server.pub" dev1 $NONCE demo 0 "$WORK/stmt.bin" "$WORK/ticket.bin")"
expect_eq "another device rejects it" "wrong device" \
    "$("$OTA_BIN/otad-testsign" decide "$WORK/rel.pub" "$WORK/server.pub" dev2 $NONCE demo 0 "$WORK/stmt.bin" "$WORK/ticket.bin")"
expect_eq "a replay (other nonce) is rejected" "stale nonce" \
    "$("$OTA_BIN/otad-testsign" decide "$WORK/rel.pub" "$WORK/server.pub" dev1 ${NONCE/00/01} demo 0 "$WORK/stmt.bin" "$WORK/ticket.bin")"
expect_eq "offer Content-Length, not chunked" 1 \
    "$(curl -s -D - -o /dev/null "$BASE/manifest/dev1?app=demo&seq=0&nonce=$NONCE" | grep -c '^Content-Length: ')"
check "no chunked responses" test "$(curl -s -D - -o /dev/null "$BASE/manifest/dev1?app=demo&seq=0&nonce=$NONCE" | grep -ci 'transfer-encoding')" = 0
expect_eq "device already on v1: 204" 204 "$(poll dev1 demo 1)"
expect_eq "device ahead: 204" 204 "$(poll dev1 demo 5)"
N2=ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100
expect_eq "32-byte nonce accepted" 200 "$(poll dev1 demo 0 $N2)"
expect_eq "nonce echoed" "$N2" "$(body | jq_ j.nonce)"

# ---- bundle -----------------------------------------------------------------
H1=$(sha256sum "$B1" | cut -c1-64)
SZ1=$(stat -c %s "$B1")
expect_eq "bundle GET" 200 "$(code GET /bundle/$H1)"
check "bundle bytes" cmp -s "$WORK/body" "$B1"
HDR=$(curl -s -I "$BASE/bundle/$H1")
expect_has "HEAD Content-Length" "Content-Length: $SZ1" "$HDR"
expect_has "HEAD ETag" "ETag: \"$H1\"" "$HDR"
expect_eq "If-None-Match -> 304" 304 "$(code GET /bundle/$H1 -H "If-None-Match: \"$H1\"")"
expect_eq "If-None-Match other -> 200" 200 "$(code GET /bundle/$H1 -H 'If-None-Match: "abc"')"
expect_eq "Range first 10" 206 "$(code GET /bundle/$H1 -H 'Range: bytes=0-9')"
expect_eq "Range first 10 bytes" "$(head -c 10 "$B1" | hexof)" "$(hexof <"$WORK/body")"
expect_has "Content-Range" "Content-Range: bytes 0-9/$SZ1" "$(curl -s -D - -o /dev/null -H 'Range: bytes=0-9' "$BASE/bundle/$H1")"
expect_eq "Range open-ended" 206 "$(code GET /bundle/$H1 -H 'Range: bytes=5-')"
expect_eq "Range open-ended bytes" "$(tail -c +6 "$B1" | hexof)" "$(hexof <"$WORK/body")"
expect_eq "Range suffix" 206 "$(code GET /bundle/$H1 -H 'Range: bytes=-7')"
expect_eq "Range suffix bytes" "$(tail -c 7 "$B1" | hexof)" "$(hexof <"$WORK/body")"
expect_eq "Range past the end" 416 "$(code GET /bundle/$H1 -H "Range: bytes=$SZ1-")"
expect_has "416 Content-Range" "Content-Range: bytes */$SZ1" "$(curl -s -D - -o /dev/null -H "Range: bytes=$SZ1-" "$BASE/bundle/$H1")"
expect_eq "If-Range mismatch -> full" 200 "$(code GET /bundle/$H1 -H 'Range: bytes=0-9' -H 'If-Range: "zz"')"
expect_eq "multi-range -> full" 200 "$(code GET /bundle/$H1 -H 'Range: bytes=0-1,3-4')"
expect_eq "bundle unknown hash" 404 "$(code GET /bundle/$(printf '%064d' 0))"
expect_eq "bundle bad hash" 400 "$(code GET /bundle/xyz)"
expect_eq "bundle upper-case hash" 400 "$(code GET /bundle/$(tr a-f A-F <<<"$H1"))"
expect_eq "bundle POST" 405 "$(code POST /bundle/$H1 --data x)"

# ---- bad input on device endpoints ------------------------------------------
expect_eq "device id 33 chars" 400 "$(poll $(printf 'a%.0s' $(seq 33)) demo 0)"
expect_eq "device id 32 chars ok" 200 "$(poll $(printf 'a%.0s' $(seq 32)) demo 0)"
expect_eq "device id with !" 400 "$(poll 'dev!' demo 0)"
expect_eq "device id with space" 400 "$(poll 'dev%20x' demo 0)"
expect_eq "device id with slash" 400 "$(poll 'dev/x' demo 0)"
expect_eq "device id starting with -" 400 "$(poll '-dev' demo 0)"
expect_eq "device id with colon ok" 200 "$(poll 'aa:bb:cc' demo 0)"
expect_eq "empty device id" 400 "$(code GET "/manifest/?app=demo&seq=0&nonce=$NONCE")"
expect_eq "bad device is a JSON error" bad_device "$(body | jq_ j.error)"
expect_eq "missing app" 400 "$(code GET "/manifest/dev1?seq=0&nonce=$NONCE")"
expect_eq "bad app" 400 "$(code GET "/manifest/dev1?app=de%2Fmo&seq=0&nonce=$NONCE")"
expect_eq "missing seq" 400 "$(code GET "/manifest/dev1?app=demo&nonce=$NONCE")"
expect_eq "negative seq" 400 "$(poll dev1 demo -1)"
expect_eq "seq with letters" 400 "$(poll dev1 demo 1a)"
expect_eq "seq overflow" 400 "$(poll dev1 demo 99999999999999999999)"
expect_eq "missing nonce" 400 "$(code GET "/manifest/dev1?app=demo&seq=0")"
expect_eq "short nonce" 400 "$(poll dev1 demo 0 0011)"
expect_eq "odd nonce" 400 "$(poll dev1 demo 0 ${NONCE}a)"
expect_eq "long nonce" 400 "$(poll dev1 demo 0 ${N2}00)"
expect_eq "non-hex nonce" 400 "$(poll dev1 demo 0 zz112233445566778899aabbccddeeff)"
expect_eq "garbage query" 400 "$(code GET "/manifest/dev1?%%%&&&==")"
expect_eq "unknown path" 404 "$(code GET /nope)"
expect_eq "unknown path JSON" not_found "$(body | jq_ j.error)"
expect_eq "POST manifest" 405 "$(code POST /manifest/dev1 --data x)"
expect_eq "GET report" 405 "$(code GET /report/dev1)"
expect_eq "very long URL" 414 "$(code GET "/manifest/$(head -c 40000 /dev/zero | tr '\0' a)")"

# ---- reports ----------------------------------------------------------------
# rep (lib.sh): reports as the device would send them (v2: registered, MAC'd, counted)
expect_eq "report downloading" 200 "$(rep dev1 '{"app":"demo","seq":1,"state":"downloading"}')"
expect_eq "report confirmed" 200 "$(rep dev1 '{"app":"demo","seq":1,"state":"confirmed","detail":"ok"}')"
expect_eq "report bad json" 400 "$(rep dev1 '{"app":"demo",')"
expect_eq "report bad json error" bad_report "$(body | jq_ j.error)"
expect_eq "report not an object" 400 "$(rep dev1 '"x"')"
expect_eq "report empty body" 400 "$(rep dev1 '')"
expect_eq "report unknown state" 400 "$(rep dev1 '{"app":"demo","seq":1,"state":"exploded"}')"
expect_eq "report bad seq" 400 "$(rep dev1 '{"app":"demo","seq":-1,"state":"trial"}')"
expect_eq "report fractional seq" 400 "$(rep dev1 '{"app":"demo","seq":1.5,"state":"trial"}')"
expect_eq "report seq as string" 400 "$(rep dev1 '{"app":"demo","seq":"1","state":"trial"}')"
expect_eq "report bad app" 400 "$(rep dev1 '{"app":"a/b","seq":1,"state":"trial"}')"
expect_eq "report detail too long" 400 "$(rep dev1 "{\"app\":\"demo\",\"seq\":1,\"state\":\"failed\",\"detail\":\"$(printf 'x%.0s' $(seq 300))\"}")"
expect_eq "report bad device" 400 "$(rep 'd!' '{"app":"demo","seq":1,"state":"trial"}')"
head -c 5000 /dev/zero | tr '\0' ' ' >"$WORK/big.json"
expect_eq "report body over the limit: 413" 413 "$(code POST /report/dev1 --data-binary @"$WORK/big.json")"
expect_eq "413 is a JSON error" too_large "$(body | jq_ j.error)"
# Every body must state its length (a chunked one is refused before it is read).
expect_eq "chunked body: 411" 411 "$(code POST /report/dev1 -H 'Transfer-Encoding: chunked' --data-binary @"$WORK/big.json")"
expect_eq "411 is a JSON error" length_required "$(body | jq_ j.error)"
expect_eq "still serving after that" 200 "$(code GET /healthz)"
expect_eq "device record" 200 "$(admin GET /admin/devices/dev1)"
expect_eq "device reports stored" 2 "$(body | jq_ j.report_count)"
expect_eq "device running seq from its polls" 1 "$(body | jq_ 'j.apps.find(a => a.app === "demo").seq')"
expect_eq "unknown device" 404 "$(admin GET /admin/devices/nobody)"
expect_eq "bad device id (admin)" 400 "$(admin GET '/admin/devices/a!b')"

# ---- rollout rules ----------------------------------------------------------
# never re-offer what a device rolled back from
expect_eq "re-POST over an active rollout: 409" 409 "$(admin POST /admin/rollouts --data-binary '{"app":"demo","seq":2}')"
expect_has "409 says how to replace" '\"replace\": true' "$(body)"
expect_eq "rollout unknown member: 400" 400 "$(admin POST /admin/rollouts --data-binary '{"app":"demo","seq":2,"wavez":[1],"replace":true}')"
expect_has "unknown member named" wavez "$(body | jq_ j.message)"
expect_eq "rollout v2 (replace)" 201 "$(admin POST /admin/rollouts --data-binary '{"app":"demo","seq":2,"replace":true}')"
RO2=$(body | jq_ j.id)
expect_eq "v2 offered to devA" 200 "$(poll devA demo 1)"
expect_eq "offer is v2" 2 "$(body | jq_ j.seq)"
expect_eq "devA rolls back" 200 "$(rep devA '{"app":"demo","seq":2,"state":"rolled_back","code":80,"detail":"threw at start"}')"
expect_eq "devA not offered v2 again" 204 "$(poll devA demo 1)"
expect_eq "devB still offered v2" 200 "$(poll devB demo 1)"
expect_eq "devR rejects: too big (53)" 200 "$(rep devR '{"app":"demo","seq":2,"state":"rejected","code":53,"detail":"bundle too big"}')"
expect_eq "devR not offered v2 again" 204 "$(poll devR demo 1)"
expect_eq "devU rejects with text only, no code" 200 "$(rep devU '{"app":"demo","seq":2,"state":"rejected","detail":"bundle too big"}')"
expect_eq "no decision reads the detail: devU offered again" 200 "$(poll devU demo 1)"
expect_eq "devK rejects: unknown key (43)" 200 "$(rep devK '{"app":"demo","seq":2,"state":"rejected","code":43}')"
expect_eq "unknown key can change: devK offered again" 200 "$(poll devK demo 1)"
expect_eq "report code not a number" 400 "$(rep devK '{"app":"demo","seq":2,"state":"rejected","code":"43"}')"
# damage or replay in transit says nothing about the release: offered again
for why in 48 51 22 50 47; do
    expect_eq "devT reports rejected: code $why" 200 "$(rep devT "{\"app\":\"demo\",\"seq\":2,\"state\":\"rejected\",\"code\":$why}")"
    expect_eq "devT offered v2 again after code $why" 200 "$(poll devT demo 1)"
done
expect_eq "devW rejects: wrong board (45)" 200 "$(rep devW '{"app":"demo","seq":2,"state":"rejected","code":45,"detail":"wrong board"}')"
expect_eq "a wrong board never blocks: devW offered again" 200 "$(poll devW demo 1)"
expect_eq "a release signed for any board is offered to any board" 200 "$(code GET "/manifest/devW?app=demo&seq=1&nonce=$NONCE&board=puck")"
expect_eq "bad board name" 400 "$(code GET "/manifest/devW?app=demo&seq=1&nonce=$NONCE&board=a%20b")"
# blocks: seen and cleared by the operator
expect_eq "devR blocks listed" 200 "$(admin GET /admin/devices/devR/blocks)"
expect_eq "devR blocked from seq 2" 2 "$(body | jq_ 'j.blocks[0].seq')"
expect_has "block reason from the code" "bundle too big (53)" "$(body | jq_ 'j.blocks[0].reason')"
expect_eq "clear a block that is not there" 404 "$(admin DELETE /admin/devices/devR/blocks/demo/9)"
expect_eq "clear devR's block" 200 "$(admin DELETE /admin/devices/devR/blocks/demo/2)"
expect_eq "devR offered v2 again after the clear" 200 "$(poll devR demo 1)"
expect_eq "devR block list empty" 0 "$(admin GET /admin/devices/devR/blocks >/dev/null; body | jq_ 'j.blocks.length')"
expect_eq "devR rejects again (53)" 200 "$(rep devR '{"app":"demo","seq":2,"state":"rejected","code":53}')"
expect_eq "devR blocked again" 204 "$(poll devR demo 1)"

# percentage: deterministic buckets, roughly the right share
expect_eq "rollout v3 at 30%" 201 "$(admin POST /admin/rollouts --data-binary '{"app":"demo","seq":3,"percent":30,"replace":true}')"
count_offers() {
    local n=0 i
    : >"$WORK/offered.$1"
    for i in $(seq 1 200); do
        if [ "$(code GET "/manifest/pct-$i?app=demo&seq=2&nonce=$NONCE")" = 200 ]; then
            n=$((n + 1)); echo "pct-$i" >>"$WORK/offered.$1"
        fi
    done
    echo $n
}
C1=$(count_offers a)
check "30% of 200 devices offered (got $C1)" test "$C1" -ge 35 -a "$C1" -le 85
C2=$(count_offers b)
check "buckets deterministic" cmp -s "$WORK/offered.a" "$WORK/offered.b"
expect_eq "widen to 100%" 200 "$(admin PATCH /admin/rollouts/demo --data-binary '{"percent":100}')"
C3=$(count_offers c)
expect_eq "100%: everybody" 200 "$C3"
check "widening keeps the earlier devices" bash -c "comm -23 <(sort '$WORK/offered.a') <(sort '$WORK/offered.c') | wc -l | grep -qx 0"

# allow-list, pins, pause/resume/abort
expect_eq "allow-list" 200 "$(admin PATCH /admin/rollouts/demo --data-binary '{"allow":["canary1"]}')"
expect_eq "listed device offered" 200 "$(poll canary1 demo 2)"
expect_eq "unlisted device not offered" 204 "$(poll other1 demo 2)"
expect_eq "pins" 200 "$(admin PATCH /admin/rollouts/demo --data-binary '{"allow":[],"pins":{"pinned1":2,"held1":0}}')"
expect_eq "pinned device gets its pin" 2 "$(poll pinned1 demo 1 >/dev/null; body | jq_ j.seq)"
expect_eq "held device gets nothing" 204 "$(poll held1 demo 1)"
expect_eq "pin to unknown release refused" 400 "$(admin PATCH /admin/rollouts/demo --data-binary '{"pins":{"x":42}}')"
expect_eq "pause" 200 "$(admin PATCH /admin/rollouts/demo --data-binary '{"action":"pause","reason":"looking at logs"}')"
expect_eq "paused state" paused "$(body | jq_ j.state)"
expect_eq "pause a paused rollout: 409" 409 "$(admin PATCH /admin/rollouts/demo --data-binary '{"action":"pause"}')"
expect_eq "re-POST over a paused rollout: 409" 409 "$(admin POST /admin/rollouts --data-binary '{"app":"demo","seq":3}')"
expect_eq "paused rollout kept" paused "$(admin GET /admin/rollouts/demo >/dev/null; body | jq_ j.current.state)"
expect_eq "patch unknown member: 400" 400 "$(admin PATCH /admin/rollouts/demo --data-binary '{"percnt":5}')"
expect_eq "paused: nothing offered" 204 "$(poll fresh1 demo 2)"
expect_eq "paused: pins still apply" 200 "$(poll pinned1 demo 1)"
expect_eq "resume" 200 "$(admin PATCH /admin/rollouts --data-binary '{"app":"demo","action":"resume"}')"
expect_eq "resumed: offered" 200 "$(poll fresh1 demo 2)"
expect_eq "resume an active rollout: 409" 409 "$(admin PATCH /admin/rollouts/demo --data-binary '{"action":"resume"}')"
H=$(admin GET /admin/rollouts/demo >/dev/null; body)
expect_has "history keeps the pause reason after resume" "looking at logs" "$(jq_ 'j.current.history.filter(e => e.event === "paused").map(e => e.detail).join()' <<<"$H")"
expect_eq "history says who" 1 "$(jq_ 'j.current.history.filter(e => e.event === "resumed" && /^token:[0-9a-f]{8}$/.test(e.by)).length' <<<"$H")"
expect_eq "timestamps are ISO 8601 UTC" true "$(jq_ '/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(j.current.created) && /Z$/.test(j.current.history[0].at)' <<<"$H")"
expect_eq "bad action" 400 "$(admin PATCH /admin/rollouts/demo --data-binary '{"action":"explode"}')"
expect_eq "patch unknown app" 404 "$(admin PATCH /admin/rollouts/nope --data-binary '{"percent":5}')"

# error threshold pauses and says why
expect_eq "rollout v3 with threshold" 201 "$(admin POST /admin/rollouts --data-binary '{"app":"demo","seq":3,"error_threshold":0.5,"min_reports":3,"replace":true}')"
rep t1 '{"app":"demo","seq":3,"state":"confirmed"}' >/dev/null
rep t2 '{"app":"demo","seq":3,"state":"rolled_back","code":80,"detail":"threw"}' >/dev/null
expect_eq "below min_reports: still active" active "$(admin GET /admin/rollouts/demo >/dev/null; body | jq_ j.current.state)"
rep t3 '{"app":"demo","seq":3,"state":"failed","code":22,"detail":"hash mismatch"}' >/dev/null
expect_eq "threshold crossed: paused" paused "$(admin GET /admin/rollouts/demo >/dev/null; body | jq_ j.current.state)"
expect_has "pause reason recorded" "error threshold" "$(body | jq_ j.current.reason)"
expect_eq "paused by threshold: nothing offered" 204 "$(poll fresh2 demo 2)"
R=$(body)
admin GET /admin/rollouts/demo >/dev/null
R=$(body)
expect_eq "rollout status: confirmed" 1 "$(jq_ 'j.releases.find(r => r.seq === 3).counts.confirmed' <<<"$R")"
expect_eq "rollout status: rolled back" 1 "$(jq_ 'j.releases.find(r => r.seq === 3).counts.rolled_back' <<<"$R")"
expect_has "rollout status: reasons by code" "rolled_back: program threw at start (80)" "$(jq_ 'j.releases.find(r => r.seq === 3).reasons' <<<"$R")"
expect_eq "rollout status: rejected v2 (devR, devT, devW, devU, devK)" 5 "$(jq_ 'j.releases.find(r => r.seq === 2).counts.rejected' <<<"$R")"
check "rollout status: offered is a denominator" test "$(jq_ 'j.releases.find(r => r.seq === 2).counts.offered' <<<"$R")" -ge 8
expect_has "threshold recorded in history" threshold "$(jq_ 'j.current.history.map(e => e.event).join()' <<<"$R")"
check "rollout status: bytes served counted" test "$(jq_ 'j.releases.find(r => r.seq === 1).bytes_served' <<<"$R")" -gt 0
check "rollout history kept" test "$(jq_ j.rollouts.length <<<"$R")" -ge 3
expect_eq "rollout of unknown app" 404 "$(admin GET /admin/rollouts/nope)"
# waves: the absolute wave_confirmed is refused and says what to use
expect_eq "wave_confirmed refused" 400 "$(admin POST /admin/rollouts --data-binary '{"app":"demo","seq":3,"waves":[10,50,100],"wave_confirmed":2,"replace":true}')"
expect_eq "wave_confirmed: removed_field" removed_field "$(body | jq_ j.error)"
expect_has "wave_confirmed: says wave_fraction" wave_fraction "$(body | jq_ j.message)"
expect_eq "bad wave_fraction" 400 "$(admin POST /admin/rollouts --data-binary '{"app":"demo","seq":3,"waves":[10,100],"wave_fraction":0,"replace":true}')"
# waves advance on devices running the release, as a share of the devices in
# the wave (app wapp: only the wv-* devices know it)
read -r SW BW < <(make_release wapp 2 "wave" "$WORK/app2.js")
expect_eq "upload wapp 2" 201 "$(upload "$SW" "$BW")"
expect_eq "waves rollout" 201 "$(admin POST /admin/rollouts --data-binary '{"app":"wapp","seq":2,"waves":[10,50,100],"wave_fraction":1}')"
expect_eq "starts at the first wave" 10 "$(body | jq_ j.percent)"
RID=$(body | jq_ j.id)
WIN=()
for i in $(seq 1 60); do [ "$(poll "wv-$i" wapp 1)" = 200 ] && WIN+=("wv-$i"); done
check "some devices in the 10% wave (${#WIN[@]})" test "${#WIN[@]}" -ge 1
sleep 1.2   # the polls are flushed and the wave evaluated
W=$(admin GET /admin/rollouts/wapp >/dev/null; body)
expect_eq "wave 1 says what it waits for" "wave 1 of 3 (10%): 0 of ${#WIN[@]} confirmed, needs ${#WIN[@]}" "$(jq_ j.current.waiting <<<"$W")"
expect_eq "targeted = devices in the wave" "${#WIN[@]}" "$(jq_ 'j.releases.find(r => r.seq === 2).targeted' <<<"$W")"
expect_eq "offered = devices offered" "${#WIN[@]}" "$(jq_ 'j.releases.find(r => r.seq === 2).counts.offered' <<<"$W")"
for d in "${WIN[@]}"; do rep "$d" '{"app":"wapp","seq":2,"state":"downloaded"}' >/dev/null; done
sleep 1.2
expect_eq "downloads do not advance a wave" 10 "$(admin GET /admin/rollouts/wapp >/dev/null; body | jq_ j.current.percent)"
for d in "${WIN[@]}"; do rep "$d" '{"app":"wapp","seq":2,"state":"confirmed"}' >/dev/null; done
for i in 1 2 3 4 5 6; do sleep 0.5; [ "$(admin GET /admin/rollouts/wapp >/dev/null; body | jq_ j.current.percent)" = 50 ] && break; done
expect_eq "every device of the wave confirmed: 50%" 50 "$(body | jq_ j.current.percent)"
expect_has "wave advance in the history" "wave 1 -> 50%" "$(body | jq_ 'j.current.history.map(e => e.detail).join()')"
check "wave advance logged" grep -q "otad: rollout $RID (wapp seq 2): wave 1 -> 50%" "$WORK/otad.err"
expect_eq "abort" 200 "$(admin PATCH /admin/rollouts/demo --data-binary '{"action":"abort","reason":"test"}')"
expect_eq "aborted: nothing offered" 204 "$(poll fresh3 demo 2)"
expect_eq "aborted: no current rollout" null "$(admin GET /admin/rollouts/demo >/dev/null; body | jq_ j.current)"

# ---- MAC tier ---------------------------------------------------------------
expect_eq "add device with secret" 201 "$(admin POST /admin/devices --data-binary '{"id":"pico-1"}')"
SECRET=$(body | jq_ j.secret)
check "secret is 64 hex" test "${#SECRET}" = 64
expect_eq "device exists" 409 "$(admin POST /admin/devices --data-binary '{"id":"pico-1"}')"
expect_eq "add device bad id" 400 "$(admin POST /admin/devices --data-binary '{"id":"p/1"}')"
if [ "$OTA_STORE" = pg ]; then
    expect_eq "secret not stored in clear" 0 "$(dbq "$D" "SELECT count(*) FROM devices WHERE position(decode('$SECRET','hex') in secret_enc) > 0 OR encode(secret_enc,'hex') LIKE '%$SECRET%'")"
else
    check "secret not stored in clear" bash -c "! grep -q '$SECRET' '$D/otad.db' '$D/otad.db-wal' 2>/dev/null"
fi
expect_eq "rollout v2 for mac device" 201 "$(admin POST /admin/rollouts --data-binary '{"app":"demo","seq":2,"replace":true}')"
expect_eq "offer to mac device" 200 "$(poll pico-1 demo 1)"
jq_ j.ticket <"$WORK/body" | base64 -d >"$WORK/ticket2.bin"
expect_eq "offer mac = HMAC(secret, ticket)" "$("$OTA_BIN/otad-testsign" hmac "$SECRET" "$WORK/ticket2.bin")" "$(body | jq_ j.mac)"
jq_ j.statement <"$WORK/body" | base64 -d >"$WORK/stmt2.bin"
expect_eq "MAC-tier device accepts the offer" accept \
    "$("$OTA_BIN/otad-testsign" decide "$WORK/rel.pub" "$WORK/server.pub" pico-1 $NONCE demo 1 "$WORK/stmt2.bin" "$WORK/ticket2.bin" "$SECRET" "$(body | jq_ j.mac)")"
printf '{"app":"demo","seq":2,"state":"confirmed","code":0,"ctr":1}' >"$WORK/rep.json"
expect_eq "mac device report without MAC" 401 "$(code POST /report/pico-1 --data-binary @"$WORK/rep.json")"
expect_eq "mac device report with wrong MAC" 401 "$(code POST /report/pico-1 --data-binary @"$WORK/rep.json" -H "X-OTA-MAC: $(printf '0%.0s' $(seq 64))")"
RMAC=$(report_mac "$SECRET" pico-1 "$WORK/rep.json")
expect_eq "mac device report with MAC" 200 "$(code POST /report/pico-1 --data-binary @"$WORK/rep.json" -H "X-OTA-MAC: $RMAC")"
expect_eq "the same report again: replay, 409" 409 "$(code POST /report/pico-1 --data-binary @"$WORK/rep.json" -H "X-OTA-MAC: $RMAC")"

# ---- the compact device form (FORMAT.md 6b) ------------------------------------
# GET /m/<id>: no nonce when idle (204, or 202 when an offer waits), the offer
# as tagged binary fields for a poll with n=; POST /r/<id>: MAC || text; /b/.
hdrs() { curl -s -D - -o "$WORK/body" --max-time 10 "$BASE$1"; }
expect_eq "compact idle poll, on the target: 204" 204 "$(code GET "/m/pico-1?a=demo&s=2")"
H=$(hdrs "/m/pico-1?a=demo&s=2" | tr -d '\r')
check "compact 204: no Date" bash -c "! grep -qi '^Date:' <<<'$H'"
check "compact 204: no X-Poll-Interval" bash -c "! grep -qi '^X-Poll-Interval:' <<<'$H'"
expect_has "compact 204: Cache-Control: no-store" "Cache-Control: no-store" "$H"
check "JSON answers keep a Date" bash -c "curl -s -D - -o /dev/null '$BASE/healthz' | grep -qi '^Date: '"
expect_eq "compact poll without a nonce, an offer waits: 202" 202 "$(code GET "/m/pico-1?a=demo&s=1")"
expect_eq "202 has no body" 0 "$(wc -c <"$WORK/body")"
expect_eq "compact poll with a nonce: 200" 200 "$(code GET "/m/pico-1?a=demo&s=1&n=$NONCE")"
tlv() { node -e "const b=require('fs').readFileSync('$WORK/body');const f={},o=[];let i=0;while(i+3<=b.length){const n=b.readUInt16BE(i+1);const t=String.fromCharCode(b[i]);f[t]=b.subarray(i+3,i+3+n);o.push(t+n);i+=3+n;}
if(i!==b.length)o.push('trailing');const w=process.argv[1];if(w==='list')console.log(o.join(' '));else require('fs').writeFileSync(process.argv[2],f[w]);" "$@"; }
expect_eq "compact offer: ticket, statement, mac, poll" "T216 S336 M32 P2" "$(tlv list)"
tlv T "$WORK/cticket.bin"; tlv S "$WORK/cstmt.bin"; tlv M "$WORK/cmac.bin"
check "compact offer: the statement of v2" cmp -s "$WORK/cstmt.bin" "$WORK/stmt2.bin"
expect_eq "compact offer: mac = HMAC(secret, ticket)" "$("$OTA_BIN/otad-testsign" hmac "$SECRET" "$WORK/cticket.bin")" "$(hexof <"$WORK/cmac.bin")"
expect_eq "MAC-tier device accepts the compact offer" accept \
    "$("$OTA_BIN/otad-testsign" decide "$WORK/rel.pub" "$WORK/server.pub" pico-1 $NONCE demo 1 "$WORK/cstmt.bin" "$WORK/cticket.bin" "$SECRET" "$(hexof <"$WORK/cmac.bin")")"
H=$(hdrs "/m/pico-1?a=demo&s=1&n=$NONCE" | tr -d '\r')
check "compact offer: no Date, no Content-Type" bash -c "! grep -qiE '^(Date|Content-Type):' <<<'$H'"
check "compact offer: at most 700 bytes with headers" test $(( ${#H} + 2 + $(wc -c <"$WORK/body") )) -le 700
expect_eq "compact poll: bad nonce" 400 "$(code GET "/m/pico-1?a=demo&s=1&n=zz")"
expect_eq "compact poll: short nonce" 400 "$(code GET "/m/pico-1?a=demo&s=1&n=0011")"
expect_eq "compact poll: missing app" 400 "$(code GET "/m/pico-1?s=1")"
expect_eq "compact poll: missing seq" 400 "$(code GET "/m/pico-1?a=demo")"
expect_eq "compact poll: bad device" 400 "$(code GET "/m/p%21?a=demo&s=1")"
expect_eq "compact poll: bad board" 400 "$(code GET "/m/pico-1?a=demo&s=1&b=a%20b")"
expect_eq "compact poll: POST" 405 "$(code POST "/m/pico-1?a=demo&s=1" --data x)"
# crep DEV TEXT [SECRET]: POST MAC(secret, "OTAR" DEV "\n" TEXT) || TEXT to /r/DEV
crep() {
    local s="${3:-$SECRET}"
    printf '%s' "$2" >"$WORK/crep.txt"
    "$OTA_BIN/otad-testsign" hmac "$s" "$WORK/crep.txt" "OTAR$1"$'\n' | node -e "process.stdout.write(Buffer.concat([Buffer.from(require('fs').readFileSync(0,'utf8').trim(),'hex'),require('fs').readFileSync('$WORK/crep.txt')]))" >"$WORK/crep.bin"
    code POST "/r/$1" --data-binary @"$WORK/crep.bin"
}
RC0=$(admin GET /admin/devices/pico-1 >/dev/null; body | jq_ j.report_count)
expect_eq "compact report: stored, 204" 204 "$(crep pico-1 '2 demo 2 c 0')"
expect_eq "compact report: 204 has no body" 0 "$(wc -c <"$WORK/body")"
expect_eq "compact report with a detail: 204" 204 "$(crep pico-1 '3 demo 2 r 46 not newer: a b c')"
expect_eq "compact reports counted with the JSON ones" $((RC0 + 2)) "$(admin GET /admin/devices/pico-1 >/dev/null; body | jq_ j.report_count)"
expect_eq "compact report: the same again is a replay, 409" 409 "$(crep pico-1 '3 demo 2 r 46 not newer: a b c')"
expect_eq "compact report: a JSON counter below is a replay too" 409 "$(code POST /report/pico-1 --data-binary @"$WORK/rep.json" -H "X-OTA-MAC: $RMAC")"
expect_eq "compact report: wrong secret, 401" 401 "$(crep pico-1 '9 demo 2 c 0' "$(printf '0%.0s' $(seq 64))")"
expect_eq "compact report: bad_mac" bad_mac "$(body | jq_ j.error)"
expect_eq "compact report: shorter than a MAC, 401" 401 "$(code POST /r/pico-1 --data-binary 'short')"
expect_eq "compact report: unknown device, 401" 401 "$(crep nobody-9 '9 demo 2 c 0')"
for bad in '' '0 demo 2 c 0' '9 demo 2 x 0' '9 demo 2 c' '9 demo 2 cc 0' '9 de/mo 2 c 0' '9  demo 2 c 0' '09 demo 2 c 0' \
           '9 demo 2 c 0 ' '9 demo 2 c 70000' '9 demo -2 c 0' "9 demo 2 c 0 $(printf 'x%.0s' $(seq 201))" \
           $'9 demo 2 c 0 tab\there' '9 demo 2 c 0 caf'$'\xc3\xa9'; do
    expect_eq "compact report '${bad:0:24}': 400" 400 "$(crep pico-1 "$bad")"
done
expect_eq "compact report: bad_report" bad_report "$(body | jq_ j.error)"
expect_eq "compact report: GET" 405 "$(code GET /r/pico-1)"
expect_eq "compact report body over the limit: 413" 413 "$(code POST /r/pico-1 --data-binary @"$WORK/big.json")"
expect_eq "compact report chunked: 411" 411 "$(code POST /r/pico-1 -H 'Transfer-Encoding: chunked' --data-binary @"$WORK/big.json")"
expect_eq "a body on a compact poll: 400" 400 "$(code GET "/m/pico-1?a=demo&s=2" --data-binary x -X GET)"
B2H=$(sha256sum "$B2" | cut -c1-64)
H=$(hdrs "/b/$B2H" | tr -d '\r')
check "compact bundle: the bytes" cmp -s "$WORK/body" "$B2"
check "compact bundle: no ETag, Cache-Control, Content-Type, Date" bash -c "! grep -qiE '^(ETag|Cache-Control|Content-Type|Date|Accept-Ranges):' <<<'$H'"
H=$(curl -s -D - -o "$WORK/body" --max-time 10 -H 'Range: bytes=5-' "$BASE/b/$B2H" | tr -d '\r')
expect_has "compact bundle range: 206" " 206 " "$H"
expect_has "compact bundle range: Content-Range" "Content-Range: bytes 5-" "$H"
check "compact bundle range: the bytes" bash -c "tail -c +6 '$B2' | cmp -s - '$WORK/body'"
check "/bundle/ keeps its caching headers" bash -c "curl -s -D - -o /dev/null '$BASE/bundle/$B2H' | grep -qi '^ETag: '"
expect_eq "compact bundle: unknown" 404 "$(code GET "/b/$(printf '0%.0s' $(seq 64))")"

# ---- pretokenised releases and the device's firmware (FORMAT.md 2c, 6, 6b) -----
# A pretokenised release runs on its target firmware only: otad offers it
# only to a device that said it runs that firmware (fw= on the JSON form, f=
# on the compact nonce poll, remembered in memory), never to one that said
# nothing; other releases are offered whatever the device says.
printf 'var k=0;\nsetInterval(function(){ k++; console.log("pt", k); }, 1000);\n' >"$WORK/pt2.js"
read -r PS1 PB1 < <(make_release ptk 1 "plain" "$WORK/app1.js")
if [ "$USE_CLI" = 1 ] && "$OTA_BIN/otasign" release "$WORK/pt2.js" --key "$WORK/rel.key" --app ptk --seq 2 \
        --label pt --pretokenise --out "$WORK/rels" >/dev/null 2>&1; then
    PS2="$WORK/rels/ptk-2/statement.bin"; PB2="$WORK/rels/ptk-2/bundle.js"
    [ -f "$PB2" ] || PB2=$(ls "$WORK"/rels/ptk-2/bundle.* | head -1)
    expect_eq "pretokenised release: flag set" 1 "$(od -An -tu1 -j6 -N1 "$PS2" | tr -d ' ')"
    expect_eq "pretokenised release: target 2v29" 229 "$(od -An -tu2 --endian=little -j264 -N2 "$PS2" | tr -d ' ')"
    expect_eq "upload ptk 1 (plain)" 201 "$(upload "$PS1" "$PB1")"
    expect_eq "upload ptk 2 (pretokenised)" 201 "$(upload "$PS2" "$PB2")"
    expect_eq "rollout ptk 2 100%" 201 "$(admin POST /admin/rollouts --data-binary '{"app":"ptk","seq":2,"percent":100}')"
    # JSON form: fw=, fail closed without it
    expect_eq "JSON poll without fw: pretokenised release not offered (204)" 204 "$(poll fw-j1 ptk 1)"
    expect_eq "JSON poll, fw=2v29: offered" 200 "$(code GET "/manifest/fw-j1?app=ptk&seq=1&nonce=$NONCE&fw=2v29")"
    expect_eq "JSON offer: the pretokenised statement" "$(base64 -w0 "$PS2")" "$(body | jq_ j.statement)"
    expect_eq "JSON poll, fw=2v29.277 (a build after 2v29): offered" 200 "$(code GET "/manifest/fw-j2?app=ptk&seq=1&nonce=$NONCE&fw=2v29.277")"
    expect_eq "JSON poll, fw=2v28: not offered (204)" 204 "$(code GET "/manifest/fw-j3?app=ptk&seq=1&nonce=$NONCE&fw=2v28")"
    expect_eq "JSON poll, empty fw: as not sent (204)" 204 "$(code GET "/manifest/fw-j3?app=ptk&seq=1&nonce=$NONCE&fw=")"
    expect_eq "JSON poll, fw=2v28, a release that is not pretokenised: offered" 200 \
        "$(code GET "/manifest/fw-j3?app=demo&seq=1&nonce=$NONCE&fw=2v28")"
    expect_eq "JSON poll, no fw, a release that is not pretokenised: offered" 200 "$(poll fw-j4 demo 1)"
    for bad in 2v2 v29 2v 2v29x 2v29. 123v29 0v00 2v29.1234567 2V29 '2v29%20' '%202v29' 2v29.1.2 -2v29 2v-9; do
        expect_eq "JSON poll, fw=$bad: 400" 400 "$(code GET "/manifest/fw-j5?app=ptk&seq=1&nonce=$NONCE&fw=$bad")"
    done
    expect_eq "JSON poll, bad fw: bad_fw" bad_fw "$(body | jq_ j.error)"
    # compact form: an idle poll of a device not heard from may get 202; its
    # nonce poll (with f=) settles it, and otad remembers the answer
    expect_eq "compact idle poll, firmware not known yet: 202" 202 "$(code GET "/m/fw-c1?a=ptk&s=1")"
    expect_eq "compact nonce poll, f=2v28: 204" 204 "$(code GET "/m/fw-c1?a=ptk&s=1&n=$NONCE&f=2v28")"
    expect_eq "compact idle poll after f=2v28: 204 (remembered)" 204 "$(code GET "/m/fw-c1?a=ptk&s=1")"
    expect_eq "compact idle poll after f=2v28 again: 204" 204 "$(code GET "/m/fw-c1?a=ptk&s=1&b=pico")"
    expect_eq "compact, f=2v28, a release that is not pretokenised: still 202" 202 "$(code GET "/m/fw-c1?a=demo&s=1")"
    expect_eq "compact nonce poll, f=2v28, not pretokenised: offered" 200 "$(code GET "/m/fw-c1?a=demo&s=1&n=$NONCE&f=2v28")"
    expect_eq "compact idle poll, firmware not known yet: 202 (2)" 202 "$(code GET "/m/fw-c2?a=ptk&s=1")"
    expect_eq "compact nonce poll, f=2v29: offered" 200 "$(code GET "/m/fw-c2?a=ptk&s=1&n=$NONCE&f=2v29")"
    expect_eq "compact offer to 2v29: ticket, statement, poll" "T216 S336 P2" "$(tlv list)"
    tlv S "$WORK/ptstmt.bin"
    check "compact offer to 2v29: the pretokenised statement" cmp -s "$WORK/ptstmt.bin" "$PS2"
    expect_eq "compact idle poll after f=2v29: 202 (unchanged)" 202 "$(code GET "/m/fw-c2?a=ptk&s=1")"
    expect_eq "compact nonce poll, f=2v29.277: offered" 200 "$(code GET "/m/fw-c2?a=ptk&s=1&n=$NONCE&f=2v29.277")"
    expect_eq "compact nonce poll without f, firmware not known: 204 (fail closed)" 204 "$(code GET "/m/fw-c3?a=ptk&s=1&n=$NONCE")"
    expect_eq "compact idle poll after a nonce poll without f: 204" 204 "$(code GET "/m/fw-c3?a=ptk&s=1")"
    expect_eq "compact nonce poll without f, 2v29 remembered: offered" 200 "$(code GET "/m/fw-c2?a=ptk&s=1&n=$NONCE")"
    expect_eq "compact idle poll with f=2v29: 202" 202 "$(code GET "/m/fw-c4?a=ptk&s=1&f=2v29")"
    expect_eq "compact idle poll with f=2v28: 204" 204 "$(code GET "/m/fw-c4?a=ptk&s=1&f=2v28")"
    expect_eq "a device that says 2v29 later (reflashed) is offered again" 200 "$(code GET "/m/fw-c1?a=ptk&s=1&n=$NONCE&f=2v29")"
    expect_eq "... and its idle polls get 202 again" 202 "$(code GET "/m/fw-c1?a=ptk&s=1")"
    expect_eq "compact, a device on the release: 204 whatever its firmware" 204 "$(code GET "/m/fw-c2?a=ptk&s=2&n=$NONCE&f=2v29")"
    for bad in 2v2 v29 2v29x 2v29. 0v00 2v29.1234567 '2v29%00' 2v29,2v28; do
        expect_eq "compact poll, f=$bad: 400" 400 "$(code GET "/m/fw-c5?a=ptk&s=1&n=$NONCE&f=$bad")"
    done
    expect_eq "compact poll, bad f: bad_fw" bad_fw "$(body | jq_ j.error)"
    expect_eq "compact idle poll, bad f: 400" 400 "$(code GET "/m/fw-c5?a=ptk&s=1&f=29")"
    # not offered for its firmware is not a failure: no report, nothing counted
    admin GET /admin/rollouts/ptk >/dev/null
    expect_eq "rollout ptk: still active (firmware mismatches count for nothing)" active "$(body | jq_ j.current.state)"
    # nor are such devices in its waves: fw-j1, fw-j2, fw-c1, fw-c2 said 2v29;
    # fw-j3, fw-c4 (2v28) and fw-c3 (nothing) are left out, as for another board
    sleep 2   # the batched polls reach the fleet within a second
    admin GET /admin/rollouts/ptk >/dev/null
    expect_eq "rollout ptk: the devices known to run 2v29 are the wave's known devices" 4 "$(body | jq_ j.current.wave.known)"
    # for the restart below: a mismatch otad learnt, then forgets with its memory
    expect_eq "compact idle poll (fw-r1): 202" 202 "$(code GET "/m/fw-r1?a=ptk&s=1")"
    expect_eq "compact nonce poll (fw-r1), f=2v28: 204" 204 "$(code GET "/m/fw-r1?a=ptk&s=1&n=$NONCE&f=2v28")"
    expect_eq "compact idle poll (fw-r1): 204" 204 "$(code GET "/m/fw-r1?a=ptk&s=1")"
    PT_OK=1
else
    skip "pretokenised releases: otasign release --pretokenise did not run"
    PT_OK=0
fi

# ---- devices: list, filters, pagination, retire, re-key -----------------------
expect_eq "device list" 200 "$(admin GET '/admin/devices?limit=5')"
expect_eq "a page of 5" 5 "$(body | jq_ j.devices.length)"
C1=$(body | jq_ j.next_cursor)
check "next_cursor given" test "$C1" != null
expect_eq "next page" 200 "$(admin GET "/admin/devices?limit=5&cursor=$C1")"
check "pages follow in id order" test "$(body | jq_ 'j.devices[0].id')" \> "$C1"
ALL=$(admin GET '/admin/devices?limit=1000' >/dev/null; body | jq_ 'j.devices.length')
N=0; CUR=; PAGES=0
while :; do
    admin GET "/admin/devices?limit=37${CUR:+&cursor=$CUR}" >/dev/null
    N=$((N + $(body | jq_ j.devices.length))); PAGES=$((PAGES + 1))
    CUR=$(body | jq_ j.next_cursor); [ "$CUR" = null ] && break
    [ $PAGES -gt 50 ] && break
done
expect_eq "paging through every device finds them all once" "$ALL" "$N"
expect_eq "filter app" 200 "$(admin GET '/admin/devices?app=wapp&limit=1000')"
expect_eq "wapp devices: the wv-* that polled it" 60 "$(body | jq_ j.devices.length)"
expect_eq "filter app+state" "${#WIN[@]}" "$(admin GET '/admin/devices?app=wapp&state=confirmed&limit=1000' >/dev/null; body | jq_ j.devices.length)"
expect_eq "filter app+seq (running 1)" "$((60 - ${#WIN[@]}))" "$(admin GET '/admin/devices?app=wapp&seq=1&limit=1000' >/dev/null; body | jq_ j.devices.length)"
expect_eq "device list item has ISO last_seen" true "$(body | jq_ '/Z$/.test(j.devices[0].last_seen) && /Z$/.test(j.devices[0].apps[0].last_seen)')"
expect_eq "seen_before the epoch: nobody" 0 "$(admin GET '/admin/devices?seen_before=1970-01-02T00:00:00Z' >/dev/null; body | jq_ j.devices.length)"
expect_eq "seen_since an hour ago (ISO)" "$ALL" "$(admin GET "/admin/devices?limit=1000&seen_since=$(date -u -d '1 hour ago' +%Y-%m-%dT%H:%M:%SZ)" >/dev/null; body | jq_ j.devices.length)"
expect_eq "bad time" 400 "$(admin GET '/admin/devices?seen_since=yesterday')"
expect_eq "state without app" 400 "$(admin GET '/admin/devices?state=confirmed')"
expect_eq "unknown parameter" 400 "$(admin GET '/admin/devices?ap=wapp')"
expect_eq "bad limit" 400 "$(admin GET '/admin/devices?limit=0')"
expect_eq "retire unknown device" 404 "$(admin DELETE /admin/devices/nobody)"
expect_eq "re-key unknown device" 404 "$(admin POST /admin/devices/nobody/rekey)"
expect_eq "add rk-1" 201 "$(admin POST /admin/devices --data-binary '{"id":"rk-1"}')"
S_OLD=$(body | jq_ j.secret)
expect_eq "add device unknown member" 400 "$(admin POST /admin/devices --data-binary '{"id":"rk-2","secrett":true}')"
expect_eq "re-key rk-1" 200 "$(admin POST /admin/devices/rk-1/rekey)"
S_NEW=$(body | jq_ j.secret)
check "new secret differs, 64 hex" test "${#S_NEW}" = 64 -a "$S_NEW" != "$S_OLD"
printf '{"app":"demo","seq":2,"state":"downloading","code":0,"ctr":1}' >"$WORK/rk.json"
expect_eq "report with the old secret: 401" 401 "$(code POST /report/rk-1 --data-binary @"$WORK/rk.json" -H "X-OTA-MAC: $(report_mac "$S_OLD" rk-1 "$WORK/rk.json")")"
expect_eq "report with the new secret: 200" 200 "$(code POST /report/rk-1 --data-binary @"$WORK/rk.json" -H "X-OTA-MAC: $(report_mac "$S_NEW" rk-1 "$WORK/rk.json")")"
expect_eq "retire rk-1" 200 "$(admin DELETE /admin/devices/rk-1)"
expect_eq "retired: gone" 404 "$(admin GET /admin/devices/rk-1)"
expect_eq "retired id can be added again" 201 "$(admin POST /admin/devices --data-binary '{"id":"rk-1"}')"
# ---- audit and reload -------------------------------------------------------------
expect_eq "audit log" 200 "$(admin GET '/admin/audit?limit=3')"
expect_eq "audit page of 3" 3 "$(body | jq_ j.entries.length)"
expect_eq "newest entry: the re-add" "POST /admin/devices 201" "$(body | jq_ '[j.entries[0].method, j.entries[0].path, j.entries[0].status].join(" ")')"
expect_eq "audit names the token by fingerprint" true "$(body | jq_ '/^token:[0-9a-f]{8}$/.test(j.entries[0].by) && /Z$/.test(j.entries[0].at)')"
check "the token itself is nowhere in the audit" bash -c "! grep -q '$TOKEN' '$WORK/body'"
AC=$(body | jq_ j.next_cursor)
expect_eq "audit next page" 200 "$(admin GET "/admin/audit?limit=3&cursor=$AC")"
check "audit keeps refused changes too" bash -c "curl -s -H 'Authorization: Bearer $TOKEN' '$BASE/admin/audit?limit=1000' | grep -q '\"status\":409'"
cp "$WORK/rel.pub" "$WORK/rel-reload.pub"
printf 'new-admin-token-0123456789abcdef\n' >"$WORK/token2"
echo "not a key" >"$WORK/bad.pub"
stop_otad
OTAD_ADMIN_TOKEN= start_otad "$D" --idle-timeout 2 --request-timeout 3 --poll-interval 60 --admin-token-file "$WORK/token2" --release-pub "$WORK/rel-reload.pub"
T2=new-admin-token-0123456789abcdef
expect_eq "token from file" 200 "$(code GET /admin/releases -H "Authorization: Bearer $T2")"
printf 'rotated-admin-token-0123456789abcdef\n' >"$WORK/token2"
expect_eq "old token still works before a reload" 200 "$(code GET /admin/releases -H "Authorization: Bearer $T2")"
expect_eq "POST /admin/reload" 200 "$(code POST /admin/reload -H "Authorization: Bearer $T2")"
expect_eq "reload counts the release keys" 2 "$(body | jq_ j.release_keys)"
expect_eq "old token refused after reload" 401 "$(code GET /admin/releases -H "Authorization: Bearer $T2")"
T2=rotated-admin-token-0123456789abcdef
expect_eq "new token accepted after reload" 200 "$(code GET /admin/releases -H "Authorization: Bearer $T2")"
cp "$WORK/bad.pub" "$WORK/rel-reload.pub"
expect_eq "reload with a bad key file: 422" 422 "$(code POST /admin/reload -H "Authorization: Bearer $T2")"
expect_has "422 names the file" rel-reload.pub "$(body | jq_ j.message)"
expect_eq "nothing changed: token still works" 200 "$(code GET /admin/releases -H "Authorization: Bearer $T2")"
printf 'hup-admin-token-0123456789abcdef\n' >"$WORK/token2"
cp "$WORK/rel.pub" "$WORK/rel-reload.pub"
kill -HUP "$OTAD_PID"
for i in 1 2 3 4 5 6 7 8 9 10; do sleep 0.3; [ "$(code GET /healthz -H x:y)" = 200 ] && [ "$(code GET /admin/releases -H 'Authorization: Bearer hup-admin-token-0123456789abcdef')" = 200 ] && break; done
expect_eq "SIGHUP reloads the token" 200 "$(code GET /admin/releases -H 'Authorization: Bearer hup-admin-token-0123456789abcdef')"
check "SIGHUP reload logged" grep -q "otad: SIGHUP: reloaded the admin token" "$WORK/otad.err"
stop_otad
start_otad "$D" --idle-timeout 2 --request-timeout 3 --poll-interval 60

# ---- HTTP behaviour ---------------------------------------------------------
# keep-alive kept: three requests on one connection
A0=$(curl -s "$BASE/metrics" | sed -n 's/^otad_connections_accepted_total //p')
V=$(curl -sv "$BASE/healthz" "$BASE/manifest/ka?app=demo&seq=9&nonce=$NONCE" "$BASE/healthz" -o /dev/null -o /dev/null -o /dev/null 2>&1)
expect_has "curl re-uses the connection" "Re-using existing connection" "$V"
A1=$(curl -s "$BASE/metrics" | sed -n 's/^otad_connections_accepted_total //p')
expect_eq "three requests, one connection (+1 for metrics)" 2 "$((A1 - A0))"
V=$(curl -sv -H 'Connection: close' "$BASE/healthz" -o /dev/null 2>&1)
expect_has "Connection: close honoured" "Connection: close" "$V"
M=$(curl -s "$BASE/metrics")
expect_has "metrics: Prometheus text" "# TYPE otad_polls_total counter" "$M"
expect_has "metrics: offers counted" "otad_offers_total" "$M"

# slow client: one byte a second; others keep being served; it gets cut off
(
    trap '' PIPE
    exec 3<>/dev/tcp/127.0.0.1/$PORT
    for c in G E T ' ' / h e a l t h z; do printf '%s' "$c" >&3 2>/dev/null || break; sleep 1; done
    timeout 2 cat <&3 >"$WORK/slow.out" 2>/dev/null
) &
SLOW=$!
sleep 1
FAST_OK=0
for i in $(seq 1 10); do [ "$(code GET /healthz)" = 200 ] && FAST_OK=$((FAST_OK + 1)); sleep 0.2; done
expect_eq "others served while a slow client trickles" 10 "$FAST_OK"
S0=$SECONDS
wait $SLOW
check "slow client bounded in time" test $((SECONDS - S0)) -le 12
check "slow client got 408 or a closed connection" bash -c "[ ! -s '$WORK/slow.out' ] || grep -q '408' '$WORK/slow.out'"
expect_has "slow client reply is JSON" "timeout" "$(cat "$WORK/slow.out")"
# slow body: headers quickly, body a byte a second
(
    trap '' PIPE
    exec 3<>/dev/tcp/127.0.0.1/$PORT
    printf 'POST /report/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n' >&3
    for c in '{' '"' a '"' ':' 1 2 3; do printf '%s' "$c" >&3 2>/dev/null || break; sleep 1; done
    timeout 2 cat <&3 >"$WORK/slowbody.out" 2>/dev/null
) &
wait $!
check "slow body bounded: 4xx or closed" bash -c "[ ! -s '$WORK/slowbody.out' ] || grep -q 'HTTP/1.1 4' '$WORK/slowbody.out'"
expect_eq "still healthy" 200 "$(code GET /healthz)"

expect_eq "port in use: failure" 1 "$(rc_of "$OTA_BIN/otad" --data "$WORK/y" --listen 127.0.0.1:$PORT --release-pub "$WORK/rel.pub")"

# ---- restart keeps all state ---------------------------------------------------
curl -s "$BASE/healthz" >/dev/null
stop_otad
expect_eq "SIGTERM: clean exit" 0 "$?"
check "log has one line per request" grep -q ' GET /healthz 200 ' "$WORK/otad.err"
start_otad "$D" --idle-timeout 2 --request-timeout 3 --poll-interval 60
expect_eq "restart: same server key" "$SERVER_KEY" "$(curl -s "$BASE/healthz" | jq_ j.server_key)"
expect_eq "restart: releases kept" $((4 + 2 * PT_OK)) "$(admin GET /admin/releases >/dev/null; body | jq_ j.releases.length)"
expect_eq "restart: rollout kept" 2 "$(admin GET /admin/rollouts/demo >/dev/null; body | jq_ j.current.seq)"
expect_eq "restart: reports kept" 2 "$(admin GET /admin/devices/dev1 >/dev/null; body | jq_ j.report_count)"
expect_eq "restart: rolled-back device still not re-offered" 204 "$(poll devA demo 1)"
expect_eq "restart: rejected as too big still not re-offered" 204 "$(poll devR demo 1)"
expect_eq "restart: a wrong board still not blocking" 200 "$(poll devW demo 1)"
expect_eq "restart: rejected in transit is offered like any device" "$(poll devB demo 1)" "$(poll devT demo 1)"
expect_eq "restart: device secret kept" 200 "$(poll pico-1 demo 1)"
jq_ j.ticket <"$WORK/body" | base64 -d >"$WORK/ticket3.bin"
expect_eq "restart: mac still right" "$("$OTA_BIN/otad-testsign" hmac "$SECRET" "$WORK/ticket3.bin")" "$(body | jq_ j.mac)"
expect_eq "restart: bundle served" 200 "$(code GET /bundle/$H1)"
expect_eq "restart: last seen kept" 1 "$(admin GET /admin/devices/devB >/dev/null; body | jq_ 'j.apps[0].seq')"
if [ "$PT_OK" = 1 ]; then
    # the firmware devices said is in memory only: one 202 and nonce poll relearn it
    expect_eq "restart: firmware forgotten, idle poll of a 2v28 device: 202 once" 202 "$(code GET "/m/fw-r1?a=ptk&s=1")"
    expect_eq "restart: its nonce poll, f=2v28: 204" 204 "$(code GET "/m/fw-r1?a=ptk&s=1&n=$NONCE&f=2v28")"
    expect_eq "restart: relearnt, idle poll: 204" 204 "$(code GET "/m/fw-r1?a=ptk&s=1")"
    expect_eq "restart: JSON poll without fw: still not offered" 204 "$(poll fw-j1 ptk 1)"
    expect_eq "restart: JSON poll, fw=2v29: offered" 200 "$(code GET "/manifest/fw-j1?app=ptk&seq=1&nonce=$NONCE&fw=2v29")"
fi

stop_otad
done_tests
