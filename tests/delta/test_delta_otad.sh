#!/usr/bin/env bash
# Deltas through otad (FORMAT.md 2b, 6b tag D): a compact poll naming a
# release otad has gets a `D` (base installed sha256, delta sha256, size)
# when the delta is much smaller than the bundle; GET /b/<delta sha> serves
# it (Range too) from DATA/deltas/, across a restart and after the file is
# removed; `otasign delta --apply` on the base gives the new program; no D
# for s=0, an unrelated program, --no-delta, the JSON form without d=1 (with
# d=1, the member "delta").  Real otad on
# 127.0.0.1:0, releases from the real otasign.
T_NAME=test_delta_otad
. "$(dirname "$0")/../e2e/lib.sh"

make_key
[ "$USE_CLI" = 1 ] || { skip "otasign not built"; done_tests; exit; }
D="$WORK/data"
start_otad "$D" --poll-interval 60
check "otad starts" test -n "$PORT"

# programs: v1, v2 = v1 with one line changed, v3 unrelated, v4 = v2 with a
# line changed (released as heatshrink blocks)
gen() {  # gen SALT CHANGED_LINE
    local i
    for i in $(seq 1 120); do
        if [ "$i" = "$2" ]; then echo "function f$i(a){return a*$i+\"$1 changed\";}"
        else echo "function f$i(a){return a*$i+\"$((i * 7919 % 1000))\";}"; fi
    done
    echo 'setInterval(function(){print(f1(2))},1000);'
}
gen x 0 >"$WORK/p1.js"; gen x 60 >"$WORK/p2.js"
for i in $(seq 1 80); do echo "var unrelated$i=[$i,$((i*i)),\"$RANDOM$i\"];"; done >"$WORK/p3.js"
gen y 61 >"$WORK/p4.js"
rel() {  # rel SEQ SRC ENCODING
    "$OTA_BIN/otasign" release "$2" --key "$WORK/rel.key" --app dl --seq "$1" --encoding "$3" --out "$WORK/rels" >/dev/null 2>&1
    upload "$WORK/rels/dl-$1/statement.bin" "$WORK/rels/dl-$1/bundle.js"
}
expect_eq "upload v1" 201 "$(rel 1 "$WORK/p1.js" identity)"
expect_eq "upload v2" 201 "$(rel 2 "$WORK/p2.js" identity)"
expect_eq "upload v3" 201 "$(rel 3 "$WORK/p3.js" identity)"
expect_eq "upload v4 (heatshrink)" 201 "$(rel 4 "$WORK/p4.js" heatshrink)"
P() { echo "$WORK/rels/dl-$1/program.js"; }
expect_eq "rollout v2" 201 "$(admin POST /admin/rollouts --data-binary '{"app":"dl","seq":2}')"

tlv() { node -e "const b=require('fs').readFileSync('$WORK/body');const f={},o=[];let i=0;while(i+3<=b.length){const n=b.readUInt16BE(i+1);const t=String.fromCharCode(b[i]);f[t]=b.subarray(i+3,i+3+n);o.push(t+n);i+=3+n;}
if(i!==b.length)o.push('trailing');const w=process.argv[1];if(w==='list')console.log(o.join(' '));else if(f[w])process.stdout.write(f[w].toString('hex'));" "$@"; }
NONCE=00112233445566778899aabbccddeeff

case_begin "offer to a device on v1: T S P D, D names v1's program, the delta and its size"
expect_eq "poll s=1" 200 "$(code GET "/m/dev1?a=dl&s=1&n=$NONCE")"
expect_has "tags" "T216 S336 P" "$(tlv list)"
expect_has "D tag of 68 bytes" "D68" "$(tlv list)"
DT=$(tlv D)
expect_eq "D: the base's installed sha256" "$(sha256sum <"$(P 1)" | cut -c1-64)" "${DT:0:64}"
DSHA=${DT:64:64}; DSIZE=$((16#${DT:128:8}))
check "delta file kept under DATA/deltas" test -f "$D/deltas/$DSHA"
expect_eq "delta file size = D's size" "$DSIZE" "$(wc -c <"$D/deltas/$DSHA")"
check "delta much smaller than the bundle ($DSIZE vs $(wc -c <"$WORK/rels/dl-2/bundle.js"))" test $((DSIZE * 100)) -le $(($(wc -c <"$WORK/rels/dl-2/bundle.js") * 75))
case_end

case_begin "GET /b/<delta sha>: the delta; applied to v1 it is v2; Range resumes; HEAD"
expect_eq "GET /b/delta" 200 "$(code GET "/b/$DSHA")"
expect_eq "bytes hash to the D sha" "$DSHA" "$(sha256sum <"$WORK/body" | cut -c1-64)"
cp "$WORK/body" "$WORK/delta.bin"
check "otasign delta --apply v1 delta = v2" "$OTA_BIN/otasign" delta --apply "$(P 1)" "$WORK/delta.bin" -o "$WORK/out2.js"
check "the program of v2" cmp -s "$WORK/out2.js" "$(P 2)"
expect_eq "Range bytes=10-" 206 "$(code GET "/b/$DSHA" -H 'Range: bytes=10-')"
check "the rest from byte 10" cmp -s "$WORK/body" <(tail -c +11 "$WORK/delta.bin")
H=$(curl -s -D - -o /dev/null -H 'Range: bytes=10-' "$BASE/b/$DSHA" | tr -d '\r')
expect_has "Content-Range" "Content-Range: bytes 10-$((DSIZE - 1))/$DSIZE" "$H"
check "no Date, no ETag" bash -c "! grep -qiE '^(Date|ETag):' <<<'$H'"
expect_eq "Range past the end: 416" 416 "$(code GET "/b/$DSHA" -H "Range: bytes=$DSIZE-")"
expect_eq "HEAD" 200 "$(code HEAD "/b/$DSHA")"
expect_eq "not on /bundle/ (deltas are for the compact form)" 404 "$(code GET "/bundle/$DSHA")"
expect_eq "unknown hash: 404" 404 "$(code GET "/b/$(printf '0%.0s' $(seq 64))")"
case_end

case_begin "no D: s=0, poll without a nonce (202), an unrelated program, the same offer again cached"
expect_eq "poll s=0" 200 "$(code GET "/m/dev0?a=dl&s=0&n=$NONCE")"
expect_not "no D for s=0" "D68" "$(tlv list)"
expect_eq "idle poll with an offer waiting" 202 "$(code GET "/m/dev1?a=dl&s=1")"
expect_eq "poll s=1 again" 200 "$(code GET "/m/dev1?a=dl&s=1&n=$NONCE")"
expect_eq "the same D (cached)" "$DT" "$(tlv D)"
expect_eq "rollout v3 (unrelated)" 201 "$(admin POST /admin/rollouts --data-binary '{"app":"dl","seq":3,"replace":true}')"
expect_eq "poll s=2 for v3" 200 "$(code GET "/m/dev2?a=dl&s=2&n=$NONCE")"
expect_not "no D when the delta is not much smaller" "D68" "$(tlv list)"
expect_eq "JSON form" 200 "$(code GET "/manifest/dev2?app=dl&seq=2&nonce=$NONCE")"
expect_not "JSON offer unchanged (no delta member)" "delta" "$(body)"
case_end

case_begin "the JSON form with d=1 (otadev --delta): a delta member naming the same delta as D"
expect_eq "rollout v2 again" 201 "$(admin POST /admin/rollouts --data-binary '{"app":"dl","seq":2,"replace":true}')"
expect_eq "JSON poll seq=1 d=1" 200 "$(code GET "/manifest/dev1?app=dl&seq=1&nonce=$NONCE&d=1")"
expect_eq "delta member" "${DT:0:64} $DSHA $DSIZE" "$(body | jq_ '[j.delta.base, j.delta.sha256, j.delta.size].join(" ")')"
expect_eq "JSON poll seq=1 without d" 200 "$(code GET "/manifest/dev1?app=dl&seq=1&nonce=$NONCE")"
expect_eq "no delta member" undefined "$(body | jq_ j.delta)"
case_end

case_begin "heatshrink target: the delta is made from the decoded programs"
expect_eq "rollout v4" 201 "$(admin POST /admin/rollouts --data-binary '{"app":"dl","seq":4,"replace":true}')"
expect_eq "poll s=2 for v4" 200 "$(code GET "/m/dev2?a=dl&s=2&n=$NONCE")"
expect_has "D for v4" "D68" "$(tlv list)"
D4=$(tlv D)
expect_eq "base = v2's program" "$(sha256sum <"$(P 2)" | cut -c1-64)" "${D4:0:64}"
expect_eq "GET the delta" 200 "$(code GET "/b/${D4:64:64}")"
check "applied to v2: v4's program" bash -c "'$OTA_BIN/otasign' delta --apply '$(P 2)' '$WORK/body' -o - 2>/dev/null | cmp -s - '$(P 4)'"
case_end

case_begin "a removed delta file is made again; deltas survive a restart; --no-delta"
rm -f "$D/deltas/${D4:64:64}"
expect_eq "poll again" 200 "$(code GET "/m/dev2?a=dl&s=2&n=$NONCE")"
expect_eq "the same D" "$D4" "$(tlv D)"
check "file made again" test -f "$D/deltas/${D4:64:64}"
stop_otad
start_otad "$D" --poll-interval 60
expect_eq "after a restart: GET the delta (resuming device)" 206 "$(code GET "/b/${D4:64:64}" -H 'Range: bytes=5-')"
stop_otad
start_otad "$D" --poll-interval 60 --no-delta
expect_eq "--no-delta: poll" 200 "$(code GET "/m/dev2?a=dl&s=2&n=$NONCE")"
expect_not "--no-delta: no D" "D68" "$(tlv list)"
case_end

done_tests
