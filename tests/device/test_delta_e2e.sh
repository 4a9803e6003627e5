#!/usr/bin/env bash
# tests/device/test_delta_e2e.sh: otadev --delta against the real otad with
# releases from the real otasign: the JSON offer (poll with d=1) carries a
# delta (FORMAT.md 2b) from the confirmed program; otadev applies it from
# its running slot into the candidate slot (common/ota_delta.c over the
# emulated flash) and the state machine checks the installed hash; fewer
# bytes than the bundle; a power cut at EVERY flash operation of that
# update resumes the apply at the durable byte; a delta damaged on otad's
# disk falls back to the bundle; without --delta nothing changes.
T_NAME=test_delta_e2e
source "$(dirname "$0")/lib.sh"

make_keys || { done_tests; exit 1; }
start_otad || { done_tests; exit 1; }
prog() {   # prog V CHANGED: 150 functions, the CHANGED-th says V
    local i
    for i in $(seq 1 150); do
        if [ "$i" = "$2" ]; then echo "function f$i(a){return a*$i+\"v$1\";}"
        else echo "function f$i(a){return a*$i+\"$((i * 7919 % 1000))\";}"; fi
    done
}
release 1 "$(prog 1 0)" && R1=$RDIR
release 2 "$(prog 2 75)" && R2=$RDIR
publish "$R1"; publish "$R2"
provision base
rollout "{\"app\":\"$APP\",\"seq\":2,\"percent\":100}"
fresh() { cp "$WORK/$2.flash" "$WORK/$1.flash"; cp "$WORK/$2.flash.geom" "$WORK/$1.flash.geom"; }
served() { curl -s "$BASE/metrics" | sed -n 's/^otad_bundle_bytes_total \([0-9]*\)$/\1/p'; }
BUNDLE=$(wc -c <"$R2/bundle.js")

case_begin "--delta: the delta applied into the candidate slot, verified, confirmed; bytes"
fresh d1 base
b0=$(served)
dev d1 --delta; rc=$?
log=$(cat "$WORK/d1.log")
expect_eq "exit" 0 "$rc"
expect_has "delta fetched" "delta: " "$log"
expect_has "applied and verified" "delta applied and verified" "$log"
st=$(status d1)
expect_eq "confirmed" confirmed "$(field "$st" state)"
expect_eq "runs v2" 2 "$(field "$st" running_seq)"
DBYTES=$(( $(served) - b0 ))
check "fewer bytes than the bundle ($DBYTES vs $BUNDLE)" test "$DBYTES" -gt 0 -a $((DBYTES * 10)) -lt "$BUNDLE"
echo "otadev v1->v2 (one line of 150 changed): delta $DBYTES bytes served, bundle $BUNDLE bytes"
case_end

case_begin "without --delta: the bundle, as before"
fresh d0 base
b0=$(served)
dev d0; rc=$?
expect_eq "exit" 0 "$rc"
expect_not "no delta" "delta" "$(cat "$WORK/d0.log")"
expect_eq "runs v2" 2 "$(field "$(status d0)" running_seq)"
expect_eq "the whole bundle served" "$BUNDLE" "$(( $(served) - b0 ))"
case_end

# flash operations of an uninterrupted delta update
fresh count base
dev count --delta
total=$(sed -n 's/^otadev: \([0-9]*\) flash operations$/\1/p' "$WORK/count.log" | tail -1)
[ -n "$total" ] && [ "$total" -gt 5 ] || { bad "flash operations of a delta update: '$total'"; total=0; }
points=0; resumed=0
case_begin "a power cut at every flash operation of a delta update: after power returns, v2 confirmed"
for n in $(seq 1 "$total"); do
    d=c$n
    fresh "$d" base
    dev "$d" --delta --cut-power-at "$n" --quiet; rc=$?
    [ "$rc" = 3 ] || { bad "cut $n: exit $rc"; continue; }
    dev "$d" --delta; rc=$?
    grep -q "applying again from the start" "$WORK/$d.log" && resumed=$((resumed + 1))
    st=$(status "$d")
    if [ "$rc" = 0 ] && [ "$(field "$st" state)" = confirmed ] && [ "$(field "$st" running_seq)" = 2 ]; then
        points=$((points + 1))
    else
        bad "cut $n: after power returned: rc $rc, $st"
    fi
done
check "some cuts fell inside the apply and it resumed at the durable byte ($resumed)" test "$resumed" -gt 0
case_end
echo "delta update v1->v2: $points power-cut points (of $total flash operations) survived, $resumed resumed mid-apply"

case_begin "a delta damaged on otad's disk: refused by its hash, the bundle instead"
for f in "$WORK"/data/deltas/*; do printf 'X' | dd of="$f" bs=1 seek=50 conv=notrunc 2>/dev/null; done
fresh d2 base
dev d2 --delta; rc=$?
log=$(cat "$WORK/d2.log")
expect_eq "exit" 0 "$rc"
expect_has "delta refused" "delta refused: hash mismatch" "$log"
expect_eq "runs v2 from the bundle" 2 "$(field "$(status d2)" running_seq)"
expect_not "nothing rejected" "report rejected" "$log"
case_end

done_tests
